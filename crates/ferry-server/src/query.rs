//! The AWS Query protocol edge (form-encoded `Action=...` POSTs answered in XML) for IAM and
//! STS, which `ferry-companion` implements: recognising the calls, the XML envelope of answers
//! and errors (with the Query spelling of the authentication error codes).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use ferry_wire::AwsError;

/// Whether a request is a Query-protocol call: a form-encoded POST to `/`.
pub fn is_query(method: &str, path: &str, headers: &axum::http::HeaderMap) -> bool {
    method == "POST"
        && path == "/"
        && !headers.contains_key("x-amz-target")
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// The `Action` of a form body.
pub fn action(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    ferry_wire::sigv4::query_pairs(&text.replace('+', "%20"))
        .into_iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An XML answer.
pub fn xml(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        r.headers_mut().insert("x-amzn-requestid", v);
    }
    r
}

/// The Query-protocol error document.
pub fn error_response(e: &AwsError, request_id: &str) -> Response {
    let kind = if e.is_server_fault() {
        "Receiver"
    } else {
        "Sender"
    };
    // The JSON services' authentication codes, as the Query services spell them.
    let (code, status) = match e.code.as_ref() {
        "UnrecognizedClientException" => ("InvalidClientTokenId", 403),
        "InvalidSignatureException" => ("SignatureDoesNotMatch", 403),
        "MissingAuthenticationTokenException" => ("MissingAuthenticationToken", 403),
        "IncompleteSignatureException" => ("IncompleteSignature", 400),
        "ExpiredTokenException" => ("ExpiredToken", 400),
        "NotImplementedException" => ("NotImplemented", 501),
        c => (c, e.status),
    };
    let body = format!(
        "<ErrorResponse><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        xml_escape(code),
        xml_escape(&e.message)
    );
    xml(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        body,
        request_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_escaping() {
        assert_eq!(
            action(b"Action=GetCallerIdentity&Version=2011-06-15").as_deref(),
            Some("GetCallerIdentity")
        );
        assert_eq!(action(b"Version=1"), None);
        assert_eq!(xml_escape("<a&b>"), "&lt;a&amp;b&gt;");
    }
}
