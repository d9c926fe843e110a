//! Object operations: PutObject, GetObject / HeadObject (ranges, conditions with RFC 7232
//! precedence and bodiless 304s, response overrides), DeleteObject, DeleteObjects, CopyObject
//! (with `x-amz-copy-source-if-*` conditions). Writes honour `If-None-Match: *` and
//! `If-Match`, checked atomically with the write.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::Response;
use ferry_store::StoreError;
use ferry_store::s3::{NewObject, ObjectVersion, WriteCondition, WriteRefused};
use tokio_util::io::ReaderStream;

use crate::body::{self, Ingested};
use crate::error::S3Error;
use crate::reply::{empty, set, xml};
use crate::xml::XmlOut;
use crate::{MAX_PUT_SIZE, Req, S3, time};

/// Request headers kept with an object and returned when it is read.
const STORED_HEADERS: [&str; 6] = [
    "content-type",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
    "x-amz-website-redirect-location",
];

/// The headers an upload stores with the object: content headers, user metadata
/// (`x-amz-meta-*`), and the verified checksums.
pub(crate) fn stored_headers(headers: &HeaderMap, checksums: &[(String, String)]) -> String {
    let mut map = BTreeMap::new();
    for (k, v) in headers {
        let name = k.as_str();
        let Ok(v) = v.to_str() else { continue };
        if STORED_HEADERS.contains(&name) || name.starts_with("x-amz-meta-") {
            map.insert(name.to_owned(), v.to_owned());
        }
    }
    if let Some(enc) = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
    {
        let kept: Vec<&str> = enc
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
            .collect();
        if !kept.is_empty() {
            map.insert("content-encoding".into(), kept.join(", "));
        }
    }
    map.entry("content-type".into())
        .or_insert_with(|| "binary/octet-stream".into());
    for (k, v) in checksums {
        map.insert(k.clone(), v.clone());
    }
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".into())
}

fn header_map(json: &str) -> BTreeMap<String, String> {
    serde_json::from_str(json).unwrap_or_default()
}

pub(crate) fn version_header(r: &mut Response, versioning: &str, version_id: &str) {
    if !versioning.is_empty() {
        set(r, "x-amz-version-id", version_id);
    }
}

pub async fn put(s3: &S3, req: &Req, body: &mut Body) -> Result<Response, S3Error> {
    let bucket = s3.bucket(req.bucket_name()).await?;
    write_condition(req)?;
    let got = body::ingest(
        &s3.blobs,
        &req.headers,
        body,
        &req.payload,
        MAX_PUT_SIZE,
        None,
    )
    .await?;
    let mut sums = got.checksums.clone();
    if !sums.is_empty() {
        sums.push(("x-amz-checksum-type".into(), "FULL_OBJECT".into()));
    }
    let headers = stored_headers(&req.headers, &sums);
    let version = store_object(s3, req, &got, headers, got.etag()).await?;
    let mut r = empty(200);
    set(&mut r, "etag", &format!("\"{}\"", got.etag()));
    version_header(&mut r, &bucket.versioning, &version);
    for (k, v) in &sums {
        set(&mut r, k, v);
    }
    Ok(r)
}

/// The condition a write's `If-None-Match: *` or `If-Match: <etag>` sets on the key's
/// current object (PutObject, CopyObject, CompleteMultipartUpload).
pub(crate) fn write_condition(req: &Req) -> Result<WriteCondition, S3Error> {
    match (req.header("if-none-match"), req.header("if-match")) {
        (None, None) => Ok(WriteCondition::Any),
        (Some(v), None) if v.trim() == "*" => Ok(WriteCondition::Absent),
        (Some(_), None) => Err(S3Error::new(
            "NotImplemented",
            501,
            "A header you provided implies functionality that is not implemented",
        )
        .with("Header", "If-None-Match")),
        (None, Some(v)) => Ok(WriteCondition::ETag(
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_owned(),
        )),
        (Some(_), Some(_)) => Err(S3Error::not_implemented(
            "If-Match together with If-None-Match on a write",
        )),
    }
}

/// The error for a conditional write that did not happen.
pub(crate) fn refused(r: WriteRefused, key: &str) -> S3Error {
    let failed = |condition: &str| {
        S3Error::new(
            "PreconditionFailed",
            412,
            "At least one of the pre-conditions you specified did not hold",
        )
        .with("Condition", condition)
    };
    match r {
        WriteRefused::Exists => failed("If-None-Match"),
        WriteRefused::Mismatch => failed("If-Match"),
        WriteRefused::Missing => S3Error::no_such_key(key),
    }
}

/// Records written bytes as the key's newest version if the request's write condition holds;
/// on failure the bytes are removed.
async fn store_object(
    s3: &S3,
    req: &Req,
    got: &Ingested,
    headers: String,
    etag: String,
) -> Result<String, S3Error> {
    let object = NewObject {
        bucket: req.bucket_name().to_owned(),
        key: req.key_name().to_owned(),
        blob_key: Some(got.blob_key.clone()),
        size: got.size as i64,
        etag,
        headers,
        modified_ms: time::now_ms(),
    };
    let result = match write_condition(req) {
        Ok(cond) => match s3.store.put_object_version_if(&object, &cond).await {
            Ok(Ok(w)) => Ok(w),
            Ok(Err(r)) => Err(refused(r, req.key_name())),
            Err(StoreError::NotFound) => Err(S3Error::no_such_bucket(req.bucket_name())),
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(w) => {
            s3.drop_blobs(&w.orphaned).await;
            Ok(w.version_id)
        }
        Err(e) => {
            s3.drop_blobs(std::slice::from_ref(&got.blob_key)).await;
            Err(e)
        }
    }
}

/// A version id from the query: `null` or a Ferry version id; anything else is invalid.
fn version_param(req: &Req) -> Result<Option<&str>, S3Error> {
    match req.q("versionId") {
        None => Ok(None),
        Some(v)
            if v == "null" || (v.len() == 32 && v.bytes().all(|b| b.is_ascii_alphanumeric())) =>
        {
            Ok(Some(v))
        }
        Some(_) => Err(S3Error::invalid_argument("Invalid version id specified")),
    }
}

/// Looks up what a GET/HEAD/COPY reads: the latest or the given version, never a marker.
/// Answers about a delete marker carry `x-amz-delete-marker` and `x-amz-version-id` headers
/// (all a HEAD caller sees); naming a marker by version is `405` with `Last-Modified`.
async fn readable(
    s3: &S3,
    req: &Req,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Result<ObjectVersion, S3Error> {
    s3.bucket(bucket).await?;
    let found = s3.store.object_version(bucket, key, version).await?;
    match (found, version) {
        (None, None) => Err(S3Error::no_such_key(key)),
        (None, Some(v)) => Err(S3Error::new(
            "NoSuchVersion",
            404,
            "The specified version does not exist.",
        )
        .with("Key", key)
        .with("VersionId", v)),
        (Some(o), None) if o.is_delete_marker => Err(S3Error::no_such_key(key)
            .with_header("x-amz-delete-marker", "true")
            .with_header("x-amz-version-id", o.version_id)),
        (Some(o), Some(_)) if o.is_delete_marker => Err(S3Error::new(
            "MethodNotAllowed",
            405,
            "The specified method is not allowed against this resource.",
        )
        .with("Method", req.method.as_str())
        .with("ResourceType", "DeleteMarker")
        .with_header("x-amz-delete-marker", "true")
        .with_header("x-amz-version-id", o.version_id)
        .with_header("last-modified", time::http_date(o.modified_ms))
        .with_header("allow", "DELETE")),
        (Some(o), _) => Ok(o),
    }
}

/// The byte range a `Range` header asks for, within `size`: `Ok(None)` for the whole object.
fn byte_range(spec: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, S3Error> {
    let Some(spec) = spec else { return Ok(None) };
    let unsatisfiable = || {
        S3Error::new(
            "InvalidRange",
            416,
            "The requested range is not satisfiable",
        )
        .with("RangeRequested", spec)
        .with("ActualObjectSize", size.to_string())
    };
    // Anything that is not one `bytes=` range is ignored, as S3 does.
    let Some(r) = spec.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if r.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = r.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = match (a.is_empty(), b.is_empty()) {
        (true, false) => {
            let n: u64 = b.parse().map_err(|_| unsatisfiable())?;
            if n == 0 {
                return Err(unsatisfiable());
            }
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (false, _) => {
            let s: u64 = a.parse().map_err(|_| unsatisfiable())?;
            let e: u64 = if b.is_empty() {
                size.saturating_sub(1)
            } else {
                b.parse::<u64>()
                    .map_err(|_| unsatisfiable())?
                    .min(size.saturating_sub(1))
            };
            if !b.is_empty() && b.parse::<u64>().is_ok_and(|bv| bv < s) {
                return Ok(None);
            }
            (s, e)
        }
        (true, true) => return Ok(None),
    };
    if size == 0 || start >= size {
        return Err(unsatisfiable());
    }
    Ok(Some((start, end)))
}

/// Evaluates the conditional headers named `<prefix>if-match`, `<prefix>if-none-match`,
/// `<prefix>if-unmodified-since` and `<prefix>if-modified-since` in RFC 7232's order, as S3
/// does: a present `If-Match` overrides `If-Unmodified-Since`, a present `If-None-Match`
/// overrides `If-Modified-Since`. `Ok(true)` to go on, `Ok(false)` for "not modified", or
/// `PreconditionFailed` naming the condition that failed.
fn conditions(req: &Req, prefix: &str, o: &ObjectVersion) -> Result<bool, S3Error> {
    let header = |name: &str| req.header(&format!("{prefix}{name}"));
    let etag_matches = |list: &str| {
        list.split(',')
            .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
            .any(|t| t == "*" || t == o.etag)
    };
    let modified_s = o.modified_ms / 1000;
    let failed = |condition: &str| {
        S3Error::new(
            "PreconditionFailed",
            412,
            "At least one of the pre-conditions you specified did not hold",
        )
        .with("Condition", condition)
    };
    if let Some(m) = header("if-match") {
        if !etag_matches(m) {
            return Err(failed("If-Match"));
        }
    } else if let Some(t) = header("if-unmodified-since").and_then(time::parse_http_date)
        && modified_s > t / 1000
    {
        return Err(failed("If-Unmodified-Since"));
    }
    if let Some(m) = header("if-none-match") {
        if etag_matches(m) {
            return Ok(false);
        }
    } else if let Some(t) = header("if-modified-since").and_then(time::parse_http_date)
        && modified_s <= t / 1000
    {
        return Ok(false);
    }
    Ok(true)
}

pub async fn get(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    let head = req.method == axum::http::Method::HEAD;
    let bucket = s3.bucket(req.bucket_name()).await?;
    if req.has("partNumber") {
        return Err(S3Error::not_implemented("reading an object by partNumber"));
    }
    let o = readable(
        s3,
        req,
        req.bucket_name(),
        req.key_name(),
        version_param(req)?,
    )
    .await?;
    if !conditions(req, "", &o)? {
        // 304 carries the validators and no body.
        let mut r = empty(304);
        set(&mut r, "etag", &format!("\"{}\"", o.etag));
        set(&mut r, "last-modified", &time::http_date(o.modified_ms));
        version_header(&mut r, &bucket.versioning, &o.version_id);
        return Ok(r);
    }
    let size = o.size as u64;
    let range = byte_range(req.header("range"), size)?;
    let (status, start, len) = match range {
        Some((s, e)) => (206, s, e - s + 1),
        None => (200, 0, size),
    };
    let body = if head || len == 0 {
        Body::empty()
    } else {
        let blob = o.blob_key.as_deref().unwrap_or_default();
        let reader = s3
            .blobs
            .open_range(blob, start, len)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => S3Error::internal(format!("object bytes missing: {blob}")),
                e => e.into(),
            })?;
        Body::from_stream(ReaderStream::with_capacity(reader, 256 * 1024))
    };
    let mut r = Response::new(body);
    *r.status_mut() = axum::http::StatusCode::from_u16(status).unwrap_or_default();
    set(&mut r, "content-length", &len.to_string());
    set(&mut r, "etag", &format!("\"{}\"", o.etag));
    set(&mut r, "last-modified", &time::http_date(o.modified_ms));
    set(&mut r, "accept-ranges", "bytes");
    if let Some((s, e)) = range {
        set(&mut r, "content-range", &format!("bytes {s}-{e}/{size}"));
    }
    version_header(&mut r, &bucket.versioning, &o.version_id);
    let want_checksums = range.is_none() && req.header("x-amz-checksum-mode") == Some("ENABLED");
    for (k, v) in header_map(&o.headers) {
        if k.starts_with("x-amz-checksum-") && !want_checksums {
            continue;
        }
        set(&mut r, &k, &v);
    }
    for (param, header) in [
        ("response-content-type", "content-type"),
        ("response-content-language", "content-language"),
        ("response-expires", "expires"),
        ("response-cache-control", "cache-control"),
        ("response-content-disposition", "content-disposition"),
        ("response-content-encoding", "content-encoding"),
    ] {
        if let Some(v) = req.q(param) {
            set(&mut r, header, v);
        }
    }
    Ok(r)
}

pub async fn delete(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    let version = version_param(req)?;
    let d = match s3
        .store
        .delete_object_version(req.bucket_name(), req.key_name(), version, time::now_ms())
        .await
    {
        Ok(d) => d,
        Err(StoreError::NotFound) => return Err(S3Error::no_such_bucket(req.bucket_name())),
        Err(e) => return Err(e.into()),
    };
    s3.drop_blobs(&d.orphaned).await;
    let mut r = empty(204);
    if d.delete_marker {
        set(&mut r, "x-amz-delete-marker", "true");
    }
    if let Some(v) = &d.version_id {
        set(&mut r, "x-amz-version-id", v);
    }
    Ok(r)
}

pub async fn delete_many(s3: &S3, req: &Req, body: &mut Body) -> Result<Response, S3Error> {
    s3.bucket(req.bucket_name()).await?;
    let raw = body::small(&req.headers, body, &req.payload).await?;
    let doc = crate::xml::parse(&raw)?;
    if doc.name != "Delete" {
        return Err(S3Error::malformed_xml());
    }
    let quiet = doc
        .text_of("Quiet")
        .is_some_and(|q| q.eq_ignore_ascii_case("true"));
    let objects: Vec<_> = doc.all("Object").collect();
    if objects.is_empty() || objects.len() > 1000 {
        return Err(S3Error::malformed_xml());
    }
    let mut x = XmlOut::new("DeleteResult");
    for o in objects {
        let key = o.text_of("Key").ok_or_else(S3Error::malformed_xml)?;
        let version = o.text_of("VersionId").filter(|v| !v.is_empty());
        let bad_version = version.is_some_and(|v| {
            v != "null" && !(v.len() == 32 && v.bytes().all(|b| b.is_ascii_alphanumeric()))
        });
        let result = if key.is_empty() || key.len() > crate::names::MAX_KEY_BYTES {
            Err(("InvalidArgument", "Invalid key"))
        } else if bad_version {
            Err(("NoSuchVersion", "The specified version does not exist."))
        } else {
            s3.store
                .delete_object_version(req.bucket_name(), key, version, time::now_ms())
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "DeleteObjects");
                    (
                        "InternalError",
                        "We encountered an internal error. Please try again.",
                    )
                })
        };
        match result {
            Ok(d) => {
                s3.drop_blobs(&d.orphaned).await;
                if quiet {
                    continue;
                }
                x.open("Deleted").leaf("Key", key);
                if let Some(v) = version {
                    x.leaf("VersionId", v);
                }
                if d.delete_marker {
                    x.leaf("DeleteMarker", "true");
                    if let Some(v) = &d.version_id {
                        x.leaf("DeleteMarkerVersionId", v);
                    }
                }
                x.close("Deleted");
            }
            Err((code, message)) => {
                x.open("Error").leaf("Key", key);
                if let Some(v) = version {
                    x.leaf("VersionId", v);
                }
                x.leaf("Code", code).leaf("Message", message).close("Error");
            }
        }
    }
    Ok(xml(x.finish("DeleteResult")))
}

/// Parses `x-amz-copy-source`: `[/]bucket/key[?versionId=v]`, URL-encoded.
pub(crate) fn copy_source(value: &str) -> Result<(String, String, Option<String>), S3Error> {
    let invalid = || {
        S3Error::invalid_argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        )
    };
    let (path, query) = value.split_once('?').unwrap_or((value, ""));
    let path = crate::names::decode(path.trim_start_matches('/'))?;
    let (b, k) = path.split_once('/').ok_or_else(invalid)?;
    if b.is_empty() || k.is_empty() {
        return Err(invalid());
    }
    let version = ferry_wire::sigv4::query_pairs(query)
        .into_iter()
        .find(|(n, _)| n == "versionId")
        .map(|(_, v)| v);
    Ok((b.to_owned(), k.to_owned(), version))
}

pub async fn copy(s3: &S3, req: &Req) -> Result<Response, S3Error> {
    let dest_bucket = s3.bucket(req.bucket_name()).await?;
    let (src_bucket, src_key, src_version) =
        copy_source(req.header("x-amz-copy-source").unwrap_or(""))?;
    let src = readable(s3, req, &src_bucket, &src_key, src_version.as_deref())
        .await
        .map_err(|e| match e.status {
            405 => S3Error::new(
                "InvalidRequest",
                400,
                "The source of a copy request may not specifically refer to a delete marker by version id.",
            ),
            _ => S3Error { headers: vec![], ..e },
        })?;
    // `x-amz-copy-source-if-*`: any condition that does not hold fails the copy.
    if !conditions(req, "x-amz-copy-source-", &src)? {
        return Err(S3Error::new(
            "PreconditionFailed",
            412,
            "At least one of the pre-conditions you specified did not hold",
        ));
    }
    let replace = match req.header("x-amz-metadata-directive") {
        None | Some("COPY") => false,
        Some("REPLACE") => true,
        Some(_) => return Err(S3Error::invalid_argument("Unknown metadata directive.")),
    };
    if !replace
        && src_bucket == req.bucket_name()
        && src_key == req.key_name()
        && src_version.is_none()
        && req.header("x-amz-storage-class").is_none()
        && req.header("x-amz-website-redirect-location").is_none()
    {
        return Err(S3Error::new(
            "InvalidRequest",
            400,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    let blob = src.blob_key.as_deref().unwrap_or_default();
    let reader = s3.blobs.open_range(blob, 0, src.size as u64).await?;
    let got = body::assemble(&s3.blobs, vec![reader], None).await?;
    let headers = if replace {
        stored_headers(&req.headers, &[])
    } else {
        src.headers.clone()
    };
    // A copy of a multipart object is stored whole: its ETag is the MD5 of the bytes.
    let etag = got.etag();
    let version = store_object(s3, req, &got, headers, etag.clone()).await?;
    let mut x = XmlOut::new("CopyObjectResult");
    x.leaf("ETag", &format!("\"{etag}\""))
        .leaf("LastModified", &time::iso(time::now_ms()));
    let mut r = xml(x.finish("CopyObjectResult"));
    version_header(&mut r, &dest_bucket.versioning, &version);
    if src_version.is_some() || src.version_id != ferry_store::s3::NULL_VERSION {
        set(&mut r, "x-amz-copy-source-version-id", &src.version_id);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(byte_range(None, 10).unwrap(), None);
        assert_eq!(byte_range(Some("bytes=0-4"), 10).unwrap(), Some((0, 4)));
        assert_eq!(byte_range(Some("bytes=5-"), 10).unwrap(), Some((5, 9)));
        assert_eq!(byte_range(Some("bytes=-3"), 10).unwrap(), Some((7, 9)));
        assert_eq!(byte_range(Some("bytes=-30"), 10).unwrap(), Some((0, 9)));
        assert_eq!(byte_range(Some("bytes=8-100"), 10).unwrap(), Some((8, 9)));
        assert_eq!(
            byte_range(Some("bytes=10-"), 10).unwrap_err().code,
            "InvalidRange"
        );
        assert_eq!(
            byte_range(Some("bytes=0-1"), 0).unwrap_err().code,
            "InvalidRange"
        );
        assert_eq!(byte_range(Some("bytes=5-2"), 10).unwrap(), None);
        assert_eq!(byte_range(Some("items=0-1"), 10).unwrap(), None);
    }

    #[test]
    fn copy_sources() {
        assert_eq!(
            copy_source("/b/a%20b/c?versionId=v1").unwrap(),
            ("b".into(), "a b/c".into(), Some("v1".into()))
        );
        assert_eq!(copy_source("b/k").unwrap(), ("b".into(), "k".into(), None));
        assert!(copy_source("b").is_err());
        assert!(copy_source("/b/").is_err());
    }
}
