//! Ferry's S3: the subset of the S3 REST-XML API that the developer tools lean on (artifact
//! stores, deployment bundles, build caches, `aws s3` and `aws deploy push`), path-style and
//! virtual-hosted addressing, streamed uploads with every payload-signing form, versioning and
//! multipart uploads, on the store's metadata tables and blob store.
//!
//! The server authenticates the request (SigV4, with S3's path rules) and hands over the
//! caller and the payload mode; this crate routes by method, bucket, key and subresource.

pub mod body;
pub mod error;
pub mod names;
pub mod time;
pub mod xml;

mod buckets;
mod listing;
pub mod local;
mod multipart;
mod objects;
mod reply;
mod request;

use axum::body::Body;
use axum::http::request::Parts;
use axum::response::Response;
use ferry_store::Store;
use ferry_store::blob::LocalBlobStore;

pub use body::PayloadMode;
pub use error::S3Error;
pub use request::{Caller, Req};

/// The S3 operations Ferry routes (read by `tools/compat.py`); every other request answers
/// `NotImplemented` or `MethodNotAllowed`.
pub const OPERATIONS: &[&str] = &[
    "ListBuckets",
    "CreateBucket",
    "HeadBucket",
    "DeleteBucket",
    "GetBucketLocation",
    "GetBucketVersioning",
    "PutBucketVersioning",
    "ListObjects",
    "ListObjectsV2",
    "ListObjectVersions",
    "PutObject",
    "GetObject",
    "HeadObject",
    "DeleteObject",
    "DeleteObjects",
    "CopyObject",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "ListParts",
    "ListMultipartUploads",
];

/// The largest single PUT (object or part), as on S3.
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// How much of an unread request body is read and dropped after an error.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// The S3 service of one server.
#[derive(Clone)]
pub struct S3 {
    pub store: Store,
    pub blobs: LocalBlobStore,
    /// Host names (no port) whose subdomains name buckets (virtual-hosted addressing).
    pub base_hosts: Vec<String>,
}

/// Whether a request is signed for S3 (header or presigned form), or addresses a bucket by
/// virtual host.
pub fn is_s3_request(parts: &Parts, base_hosts: &[String]) -> bool {
    let scoped = |s: &str| s.contains("/s3/aws4_request") || s.contains("%2Fs3%2Faws4_request");
    if let Some(a) = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return a.starts_with("AWS4-HMAC-SHA256") && scoped(a);
    }
    if parts.uri.query().is_some_and(|q| {
        (q.contains("X-Amz-Credential=") && scoped(q)) || ferry_wire::sigv2::is_v2_query(q)
    }) {
        return true;
    }
    let host = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    matches!(
        names::address(Some(host), "/", base_hosts),
        Ok((Some(_), _))
    )
}

impl S3 {
    /// Answers one authenticated S3 request.
    pub async fn handle(&self, req: Req, mut body: Body) -> Response {
        let head = req.method == axum::http::Method::HEAD;
        let request_id = req.request_id.clone();
        match self.route(&req, &mut body).await {
            Ok(mut r) => {
                if let Ok(v) = axum::http::HeaderValue::from_str(&request_id) {
                    r.headers_mut().insert("x-amz-request-id", v);
                }
                r
            }
            Err(e) => {
                let mut r = e.response(&request_id, head);
                // An error may come before the body was read: read the rest so the client
                // sees the answer and the connection stays in step, or close it.
                if !body::drain(&mut body, DRAIN_LIMIT, std::time::Duration::from_secs(10)).await {
                    r.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                }
                r
            }
        }
    }

    async fn route(&self, req: &Req, body: &mut Body) -> Result<Response, S3Error> {
        use axum::http::Method;
        if let Some(sub) = req.unsupported_subresource() {
            return Err(S3Error::not_implemented(&format!("the ?{sub} subresource")));
        }
        let m = &req.method;
        match (&req.bucket, &req.key) {
            (None, _) if *m == Method::GET => buckets::list(self, req).await,
            (None, _) => Err(method_not_allowed()),
            (Some(_), None) => {
                if *m == Method::GET {
                    if req.has("versioning") {
                        buckets::get_versioning(self, req).await
                    } else if req.has("location") {
                        buckets::location(self, req).await
                    } else if req.has("versions") {
                        listing::versions(self, req).await
                    } else if req.has("uploads") {
                        multipart::list_uploads(self, req).await
                    } else if req.q("list-type") == Some("2") {
                        listing::objects_v2(self, req).await
                    } else {
                        listing::objects_v1(self, req).await
                    }
                } else if *m == Method::PUT {
                    if req.has("versioning") {
                        buckets::put_versioning(self, req, body).await
                    } else {
                        buckets::create(self, req, body).await
                    }
                } else if *m == Method::HEAD {
                    buckets::head(self, req).await
                } else if *m == Method::DELETE {
                    buckets::delete(self, req).await
                } else if *m == Method::POST && req.has("delete") {
                    objects::delete_many(self, req, body).await
                } else {
                    Err(method_not_allowed())
                }
            }
            (Some(_), Some(_)) => {
                if *m == Method::PUT {
                    if req.has("uploadId") || req.has("partNumber") {
                        multipart::upload_part(self, req, body).await
                    } else if req.header("x-amz-copy-source").is_some() {
                        objects::copy(self, req).await
                    } else {
                        objects::put(self, req, body).await
                    }
                } else if *m == Method::GET || *m == Method::HEAD {
                    if req.has("uploadId") && *m == Method::GET {
                        multipart::list_parts(self, req).await
                    } else {
                        objects::get(self, req).await
                    }
                } else if *m == Method::DELETE {
                    if req.has("uploadId") {
                        multipart::abort(self, req).await
                    } else {
                        objects::delete(self, req).await
                    }
                } else if *m == Method::POST {
                    if req.has("uploads") {
                        multipart::create(self, req).await
                    } else if req.has("uploadId") {
                        multipart::complete(self, req, body).await
                    } else {
                        Err(method_not_allowed())
                    }
                } else {
                    Err(method_not_allowed())
                }
            }
        }
    }

    /// The bucket a request names, or `NoSuchBucket`.
    pub(crate) async fn bucket(&self, name: &str) -> Result<ferry_store::s3::Bucket, S3Error> {
        self.store
            .bucket(name)
            .await?
            .ok_or_else(|| S3Error::no_such_bucket(name))
    }

    /// Removes blobs a committed change no longer references.
    pub(crate) async fn drop_blobs(&self, keys: &[String]) {
        use ferry_store::blob::BlobStore;
        for k in keys {
            if let Err(e) = self.blobs.delete(k).await {
                tracing::warn!(blob = %k, error = %e, "could not remove an unreferenced object blob");
            }
        }
    }
}

fn method_not_allowed() -> S3Error {
    S3Error::new(
        "MethodNotAllowed",
        405,
        "The specified method is not allowed against this resource.",
    )
}
