//! The AWS Query protocol (form-encoded `Action=...` POSTs answered in XML), for the companion
//! APIs that use it. Today: STS `GetCallerIdentity`, which real buildspecs and scripts call to
//! find out who they are. Other actions answer an explicit not-implemented error.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use ferry_wire::AwsError;
use sha2::{Digest, Sha256};

use crate::auth::ApiCaller;

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

fn xml(status: StatusCode, body: String, request_id: &str) -> Response {
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
    let body = format!(
        "<ErrorResponse><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        xml_escape(&e.code),
        xml_escape(&e.message)
    );
    xml(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        body,
        request_id,
    )
}

/// Answers one STS action for an authenticated caller.
pub fn sts(
    action: &str,
    caller: &ApiCaller,
    account: &str,
    request_id: &str,
) -> Result<Response, AwsError> {
    match action {
        "GetCallerIdentity" => {
            let p = &caller.key.principal;
            // Root's user id is the account; a user's is a stable id derived from its ARN.
            let user_id = if p.user_name == "root" {
                account.to_owned()
            } else {
                let digest = hex::encode(Sha256::digest(p.arn.as_bytes())).to_ascii_uppercase();
                format!("AIDA{}", &digest[..17])
            };
            let body = format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
                 <Arn>{}</Arn><UserId>{user_id}</UserId><Account>{account}</Account></GetCallerIdentityResult>\
                 <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
                xml_escape(&p.arn)
            );
            Ok(xml(StatusCode::OK, body, request_id))
        }
        other => Err(AwsError::not_implemented("sts", other)),
    }
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
