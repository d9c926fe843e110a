//! S3's error document (`<Error><Code>…`) and the codes Ferry answers with, with their
//! HTTP statuses and any headers S3 sends with them (`x-amz-delete-marker` and
//! `x-amz-version-id` on answers about delete markers). HEAD answers carry no body, as S3's
//! do, so what a HEAD caller can learn is in the headers.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use ferry_wire::sigv4::AuthError;

use crate::xml::escape;

/// An S3 error: code, message, status, extra elements (`BucketName`, `Key`, ...) and
/// response headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
    pub extra: Vec<(&'static str, String)>,
    pub headers: Vec<(&'static str, String)>,
}

impl S3Error {
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            status,
            extra: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Adds an element to the error document.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn no_such_bucket(bucket: &str) -> Self {
        Self::new("NoSuchBucket", 404, "The specified bucket does not exist")
            .with("BucketName", bucket)
    }

    pub fn no_such_key(key: &str) -> Self {
        Self::new("NoSuchKey", 404, "The specified key does not exist.").with("Key", key)
    }

    pub fn no_such_upload(id: &str) -> Self {
        Self::new(
            "NoSuchUpload",
            404,
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        )
        .with("UploadId", id)
    }

    pub fn malformed_xml() -> Self {
        Self::new(
            "MalformedXML",
            400,
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new("InvalidArgument", 400, message)
    }

    pub fn not_implemented(what: &str) -> Self {
        Self::new(
            "NotImplemented",
            501,
            format!("Ferry does not implement {what} yet."),
        )
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "s3 internal error");
        Self::new(
            "InternalError",
            500,
            "We encountered an internal error. Please try again.",
        )
    }

    /// The response, with a body unless the request was a HEAD.
    pub fn response(&self, request_id: &str, head: bool) -> Response {
        let body = if head {
            String::new()
        } else {
            let mut s = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>",
                self.code,
                escape(&self.message)
            );
            for (n, v) in &self.extra {
                s.push_str(&format!("<{n}>{}</{n}>", escape(v)));
            }
            s.push_str(&format!("<RequestId>{request_id}</RequestId></Error>"));
            s
        };
        let mut r = Response::new(Body::from(body));
        *r.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        if !head {
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
        }
        for (n, v) in &self.headers {
            crate::reply::set(&mut r, n, v);
        }
        if let Ok(v) = HeaderValue::from_str(request_id) {
            r.headers_mut().insert("x-amz-request-id", v);
        }
        r
    }
}

impl From<ferry_store::StoreError> for S3Error {
    fn from(e: ferry_store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<AuthError> for S3Error {
    fn from(e: AuthError) -> Self {
        let msg = e.to_string();
        match e {
            AuthError::Missing => Self::new("AccessDenied", 403, "Access Denied"),
            AuthError::UnknownKey => Self::new(
                "InvalidAccessKeyId",
                403,
                "The AWS Access Key Id you provided does not exist in our records.",
            ),
            AuthError::BadSignature => Self::new("SignatureDoesNotMatch", 403, msg),
            AuthError::ExpiredToken => Self::new("ExpiredToken", 400, msg),
            AuthError::Expired(m) if m.contains("expired") && !m.contains("Signature") => {
                Self::new("AccessDenied", 403, m)
            }
            AuthError::Expired(m) => Self::new("RequestTimeTooSkewed", 403, m),
            AuthError::Incomplete(m) | AuthError::WrongScope(m) => {
                Self::new("AuthorizationHeaderMalformed", 400, m)
            }
        }
    }
}
