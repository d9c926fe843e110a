//! The S3 edge: recognises S3 requests (signed for `s3`, or addressed to a bucket by virtual
//! host) ahead of every other route, verifies SigV4 with S3's rules (path not re-encoded,
//! payload hash as declared: hex, `UNSIGNED-PAYLOAD` or one of the `STREAMING-*` forms) and
//! hands the request to `ferry-s3`.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ferry_s3::{Caller, PayloadMode, Req, S3Error};
use ferry_wire::chunked::ChunkSigner;
use ferry_wire::sigv4::{self, AuthError, Payload};

use crate::state::SharedState;

/// Sends S3 requests to S3 and everything else on.
pub async fn gate(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if !ferry_s3::is_s3_request(&parts, &st.s3.base_hosts) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    handle(&st, parts, body).await
}

async fn handle(st: &SharedState, parts: axum::http::request::Parts, body: Body) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .to_ascii_uppercase();
    let head = parts.method == axum::http::Method::HEAD;
    let operation = parts.method.as_str().to_owned();
    let host = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    let prepared = async {
        let (bucket, key) = ferry_s3::names::address(host, parts.uri.path(), &st.s3.base_hosts)?;
        let (caller, payload) = authenticate(st, &parts).await?;
        Ok::<_, S3Error>((bucket, key, caller, payload))
    }
    .await;
    let response = match prepared {
        Ok((bucket, key, caller, payload)) => {
            let req = Req {
                method: parts.method.clone(),
                bucket,
                key,
                query: sigv4::query_pairs(parts.uri.query().unwrap_or("")),
                headers: parts.headers,
                request_id: request_id.clone(),
                caller,
                payload,
            };
            st.s3.handle(req, body).await
        }
        Err(e) => {
            let mut body = body;
            let mut r = e.response(&request_id, head);
            // Refused before reading: read a bounded rest so the client sees the answer.
            if !ferry_s3::body::drain(
                &mut body,
                8 * 1024 * 1024,
                std::time::Duration::from_secs(5),
            )
            .await
            {
                r.headers_mut().insert(
                    axum::http::header::CONNECTION,
                    axum::http::HeaderValue::from_static("close"),
                );
            }
            r
        }
    };
    let status = response.status();
    st.metrics.record(
        "s3",
        &operation,
        started.elapsed(),
        status.is_server_error() || status.is_client_error(),
    );
    tracing::info!(request_id, service = "s3", method = %operation, path = %parts.uri.path(), status = status.as_u16(), micros = started.elapsed().as_micros() as u64, "api");
    response
}

async fn authenticate(
    st: &SharedState,
    parts: &axum::http::request::Parts,
) -> Result<(Caller, PayloadMode), S3Error> {
    let pairs: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
        .collect();
    let req = sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &pairs,
    };
    if !parts
        .headers
        .contains_key(axum::http::header::AUTHORIZATION)
        && ferry_wire::sigv2::is_v2_query(req.query)
    {
        return authenticate_v2(st, &req).await;
    }
    let cred = sigv4::parse(&req)?;
    let key = st
        .keys
        .get(&st.store, &cred.access_key_id)
        .await
        .map_err(|e| S3Error::internal(e.message))?
        .filter(|k| k.active)
        .ok_or(AuthError::UnknownKey)?;
    let opts = sigv4::Options {
        services: &["s3"],
        double_encode_path: false,
        now: ferry_types::Timestamp::now().seconds(),
    };
    sigv4::verify(
        &req,
        &cred,
        &key.secret_access_key,
        Payload::Declared,
        &opts,
    )?;
    crate::auth::check_session(&key, cred.session_token.as_deref())?;
    let declared = parts
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("UNSIGNED-PAYLOAD");
    let signer = || ChunkSigner {
        key: sigv4::signing_key(
            &key.secret_access_key,
            &cred.date,
            &cred.region,
            &cred.service,
        ),
        amz_date: cred.amz_date.clone(),
        scope: format!(
            "{}/{}/{}/aws4_request",
            cred.date, cred.region, cred.service
        ),
        prev: cred.signature.clone(),
    };
    let payload = match declared {
        "UNSIGNED-PAYLOAD" => PayloadMode::Unsigned,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" => PayloadMode::Chunked {
            signer: Some(signer()),
            trailer: false,
        },
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" => PayloadMode::Chunked {
            signer: Some(signer()),
            trailer: true,
        },
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER" => PayloadMode::Chunked {
            signer: None,
            trailer: true,
        },
        h if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            PayloadMode::Sha256(h.to_ascii_lowercase())
        }
        _ => {
            return Err(S3Error::invalid_argument(
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
            ));
        }
    };
    Ok((
        Caller {
            principal_arn: key.principal.arn.clone(),
            account_id: st.account_id.clone(),
            region: cred.region.clone(),
        },
        payload,
    ))
}

/// The legacy presigned form (`AWSAccessKeyId`/`Expires`/`Signature`); its body is unsigned.
async fn authenticate_v2(
    st: &SharedState,
    req: &sigv4::Request<'_>,
) -> Result<(Caller, PayloadMode), S3Error> {
    let q = ferry_wire::sigv2::parse_query(req.query)?;
    let key = st
        .keys
        .get(&st.store, &q.access_key_id)
        .await
        .map_err(|e| S3Error::internal(e.message))?
        .filter(|k| k.active)
        .ok_or(AuthError::UnknownKey)?;
    ferry_wire::sigv2::verify_query(
        req.method,
        req.path,
        req.query,
        req.headers,
        &q,
        &key.secret_access_key,
        ferry_types::Timestamp::now().seconds(),
    )?;
    let token = sigv4::query_pairs(req.query)
        .into_iter()
        .find(|(k, _)| k == "x-amz-security-token")
        .map(|(_, v)| v);
    crate::auth::check_session(&key, token.as_deref())?;
    Ok((
        Caller {
            principal_arn: key.principal.arn.clone(),
            account_id: st.account_id.clone(),
            region: st.region.clone(),
        },
        PayloadMode::Unsigned,
    ))
}
