//! Signature Version 4 signing, the client side of `ferry_wire::sigv4` (reference §1.6): the
//! canonical request is built by the very function the server verifies with, so what this
//! signs is what Ferry checks. The signature goes in the `Authorization` header, with
//! `x-amz-date`, `x-amz-security-token` for temporary credentials and `x-amz-content-sha256`
//! for S3 (or whenever the payload is unsigned).
//!
//! Signed headers: `host`, `content-type`, `content-md5` and every `x-amz-*` header, as botocore
//! does for these services; anything else (user agent, content length) is left out.

use crate::credentials::Credentials;
use ferry_wire::sigv4::{self, Credential};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The payload-hash marker of a body that is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Who signs, and for which scope.
#[derive(Debug, Clone, Copy)]
pub struct SigningParams<'a> {
    pub credentials: &'a Credentials,
    pub region: &'a str,
    /// The SigV4 service name (`codedeploy`, `codedeploy-commands`, `sts`, `s3`).
    pub service: &'a str,
    /// The signing time, epoch seconds.
    pub now: i64,
}

/// What the payload-hash line of the canonical request holds.
#[derive(Debug, Clone, Copy)]
pub enum PayloadHash<'a> {
    /// The SHA-256 of this body.
    Body(&'a [u8]),
    /// `UNSIGNED-PAYLOAD` (S3 only).
    Unsigned,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("a request to sign needs a Host header")]
    MissingHost,
    #[error("cannot build the canonical request: {0}")]
    Canonical(String),
}

/// Sign a request: adds `x-amz-date`, the token and payload-hash headers as needed, then
/// `authorization`. `path` is the path exactly as it goes on the wire (already
/// percent-encoded), `query` the raw query string without `?`; `headers` are lower-case
/// names with their values and must hold `host`.
pub fn sign(
    params: &SigningParams<'_>,
    method: &str,
    path: &str,
    query: &str,
    headers: &mut Vec<(String, String)>,
    payload: PayloadHash<'_>,
) -> Result<(), SignError> {
    if !headers.iter().any(|(name, _)| name == "host") {
        return Err(SignError::MissingHost);
    }
    headers.retain(|(name, _)| name != "authorization");
    let amz_date = sigv4::format_amz_date(params.now);
    set_header(headers, "x-amz-date", &amz_date);
    if let Some(token) = &params.credentials.session_token {
        set_header(headers, "x-amz-security-token", token);
    }
    let payload_hash = match payload {
        PayloadHash::Body(body) => hex::encode(Sha256::digest(body)),
        PayloadHash::Unsigned => UNSIGNED_PAYLOAD.to_owned(),
    };
    let is_s3 = params.service == "s3";
    if is_s3 || matches!(payload, PayloadHash::Unsigned) {
        set_header(headers, "x-amz-content-sha256", &payload_hash);
    }
    let mut signed_headers: Vec<String> = headers
        .iter()
        .map(|(name, _)| name.clone())
        .filter(|name| is_signed(name))
        .collect();
    signed_headers.sort();
    signed_headers.dedup();
    let date = amz_date.get(..8).unwrap_or_default().to_owned();
    let mut cred = Credential {
        access_key_id: params.credentials.access_key_id.clone(),
        date: date.clone(),
        region: params.region.to_owned(),
        service: params.service.to_owned(),
        signed_headers,
        signature: String::new(),
        amz_date: amz_date.clone(),
        session_token: params.credentials.session_token.clone(),
        presigned_expires: None,
    };
    let header_refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let request = sigv4::Request {
        method,
        path,
        query,
        headers: &header_refs,
    };
    let canonical = sigv4::canonical_request(&request, &cred, &payload_hash, !is_s3)
        .map_err(|e| SignError::Canonical(e.to_string()))?;
    let scope = format!("{date}/{}/{}/aws4_request", params.region, params.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = sigv4::signing_key(
        &params.credentials.secret_access_key,
        &date,
        params.region,
        params.service,
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(string_to_sign.as_bytes());
    cred.signature = hex::encode(mac.finalize().into_bytes());
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={}, Signature={}",
        cred.access_key_id,
        cred.signed_headers.join(";"),
        cred.signature
    );
    headers.push(("authorization".to_owned(), authorization));
    Ok(())
}

fn is_signed(name: &str) -> bool {
    matches!(name, "host" | "content-type" | "content-md5") || name.starts_with("x-amz-")
}

fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    headers.retain(|(n, _)| n != name);
    headers.push((name.to_owned(), value.to_owned()));
}

/// A path segment (an S3 bucket or key part) encoded for the wire: everything but the
/// unreserved characters is `%XX`.
pub fn encode_segment(segment: &str) -> String {
    sigv4::uri_encode(segment, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_wire::sigv4::{AuthError, Options, Payload, parse, verify};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn creds(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: SECRET.into(),
            session_token: token.map(str::to_owned),
        }
    }

    fn refs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
        headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    /// The reference's first SigV4 vector (§1.9), produced by the AWS CLI.
    #[test]
    fn reproduces_the_cli_vector() {
        let c = creds(None);
        let now = sigv4::parse_amz_date("20261126T071004Z").unwrap();
        let params = SigningParams {
            credentials: &c,
            region: "us-east-1",
            service: "codecommit",
            now,
        };
        let mut headers = vec![
            ("host".to_owned(), "127.0.0.1:8765".to_owned()),
            (
                "content-type".to_owned(),
                "application/x-amz-json-1.1".to_owned(),
            ),
            (
                "x-amz-target".to_owned(),
                "CodeCommit_20150413.ListRepositories".to_owned(),
            ),
            ("user-agent".to_owned(), "ferry-agent".to_owned()),
        ];
        sign(
            &params,
            "POST",
            "/",
            "",
            &mut headers,
            PayloadHash::Body(b"{}"),
        )
        .unwrap();
        let auth = &headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .unwrap()
            .1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/codecommit/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=693e0a9aa49743df58e74128d54cd1c6372772fc8b8b7828f66748d6afc31296"
        );
    }

    /// What the client signs, the server's verifier accepts (and nothing else).
    #[test]
    fn round_trips_through_the_verifier() {
        let c = creds(Some("session-token"));
        let now = 1_790_000_000;
        let params = SigningParams {
            credentials: &c,
            region: "eu-west-1",
            service: "codedeploy-commands",
            now,
        };
        let body = br#"{"HostIdentifier":"arn:aws:iam::123456789012:user/host"}"#;
        let mut headers = vec![
            ("host".to_owned(), "ferry.example:8443".to_owned()),
            (
                "content-type".to_owned(),
                "application/x-amz-json-1.1".to_owned(),
            ),
            (
                "x-amz-target".to_owned(),
                "CodeDeployCommandService_v20141006.PollHostCommand".to_owned(),
            ),
        ];
        sign(
            &params,
            "POST",
            "/",
            "",
            &mut headers,
            PayloadHash::Body(body),
        )
        .unwrap();
        let pairs = refs(&headers);
        let req = sigv4::Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &pairs,
        };
        let cred = parse(&req).unwrap();
        assert_eq!(cred.session_token.as_deref(), Some("session-token"));
        assert!(
            cred.signed_headers
                .contains(&"x-amz-security-token".to_owned())
        );
        let opts = Options {
            services: &["codedeploy-commands"],
            double_encode_path: true,
            now: now + 30,
        };
        verify(&req, &cred, SECRET, Payload::Bytes(body), &opts).unwrap();
        assert_eq!(
            verify(&req, &cred, SECRET, Payload::Bytes(b"{}"), &opts),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify(&req, &cred, "wrong", Payload::Bytes(body), &opts),
            Err(AuthError::BadSignature)
        );
    }

    /// An S3 GET of a key that needs encoding, with a query, the way the server's S3 edge
    /// verifies it (path not re-encoded, payload hash as declared).
    #[test]
    fn s3_requests_verify_with_the_s3_rules() {
        let c = creds(None);
        let now = 1_790_000_000;
        let params = SigningParams {
            credentials: &c,
            region: "us-east-1",
            service: "s3",
            now,
        };
        let path = format!(
            "/bundles/{}/{}",
            encode_segment("my app"),
            encode_segment("v1+rc.zip")
        );
        assert_eq!(path, "/bundles/my%20app/v1%2Brc.zip");
        let query = "versionId=3%2Fabc";
        for payload in [PayloadHash::Unsigned, PayloadHash::Body(b"")] {
            let mut headers = vec![("host".to_owned(), "127.0.0.1:4590".to_owned())];
            sign(&params, "GET", &path, query, &mut headers, payload).unwrap();
            let declared = &headers
                .iter()
                .find(|(n, _)| n == "x-amz-content-sha256")
                .unwrap()
                .1;
            match payload {
                PayloadHash::Unsigned => assert_eq!(declared, UNSIGNED_PAYLOAD),
                PayloadHash::Body(_) => assert_eq!(declared, sigv4::EMPTY_SHA256),
            }
            let pairs = refs(&headers);
            let req = sigv4::Request {
                method: "GET",
                path: &path,
                query,
                headers: &pairs,
            };
            let cred = parse(&req).unwrap();
            let opts = Options {
                services: &["s3"],
                double_encode_path: false,
                now,
            };
            verify(&req, &cred, SECRET, Payload::Declared, &opts).unwrap();
            let other = sigv4::Request {
                path: "/bundles/my%20app/v2.zip",
                ..req.clone()
            };
            assert_eq!(
                verify(&other, &cred, SECRET, Payload::Declared, &opts),
                Err(AuthError::BadSignature)
            );
        }
    }

    #[test]
    fn needs_a_host() {
        let c = creds(None);
        let params = SigningParams {
            credentials: &c,
            region: "us-east-1",
            service: "sts",
            now: 0,
        };
        let mut headers = Vec::new();
        assert_eq!(
            sign(
                &params,
                "POST",
                "/",
                "",
                &mut headers,
                PayloadHash::Body(b"")
            ),
            Err(SignError::MissingHost)
        );
    }
}
