//! The AWS API endpoint: finds the service and operation (JSON 1.1 by `X-Amz-Target`,
//! REST-JSON by method and path), verifies the SigV4 signature, dispatches to the service's
//! generated dispatcher, and writes the answer or the AWS error envelope with the request id.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_model::{
    codeartifact, codebuild, codecommit, codedeploy, codepipeline, logs, secretsmanager, ssm,
};
use ferry_wire::shape::Service;
use ferry_wire::sigv4::Payload;
use ferry_wire::{AwsError, RequestContext};

use crate::auth::verify_api;
use crate::state::SharedState;

/// The largest API request body read (PutFile's 6 MB of content as base64, with room).
pub const MAX_API_BODY: usize = 16 * 1024 * 1024;

const JSON_SERVICES: [&Service; 7] = [
    &codecommit::SERVICE,
    &codebuild::SERVICE,
    &codedeploy::SERVICE,
    &codepipeline::SERVICE,
    &logs::SERVICE,
    &ssm::SERVICE,
    &secretsmanager::SERVICE,
];

enum Route {
    Json(&'static Service, String),
    /// The CodeDeploy agents' command plane.
    Commands(String),
    Rest(&'static ferry_wire::shape::Operation),
}

/// Answers one AWS API request.
pub async fn handle(State(st): State<SharedState>, req: Request) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let method = parts.method.as_str().to_owned();

    if crate::query::is_query(&method, &path, &parts.headers) {
        return query_call(&st, &request_id, started, parts, body).await;
    }
    let route = match parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        Some(target) => match ferry_wire::target::split(target).and_then(|(prefix, op)| {
            JSON_SERVICES
                .iter()
                .find(|s| s.target_prefix == prefix)
                .map(|s| (Some(*s), op))
                .or_else(|| {
                    ferry_deploy::commands::TARGET_PREFIXES
                        .contains(&prefix)
                        .then_some((None, op))
                })
        }) {
            Some((Some(svc), op)) => Route::Json(svc, op.to_owned()),
            Some((None, op)) => Route::Commands(op.to_owned()),
            None => {
                let e = AwsError::new(
                    "UnknownOperationException",
                    format!("Unknown operation target {target}"),
                );
                return finish(&st, &request_id, "unknown", "unknown", started, Err(e));
            }
        },
        None => match ferry_wire::rest::route(&codeartifact::SERVICE, &method, &path) {
            Some(op) => Route::Rest(op),
            None => {
                let e = AwsError::new(
                    "UnknownOperationException",
                    format!("No operation at {method} {path}"),
                )
                .with_status(404);
                return finish(&st, &request_id, "unknown", "unknown", started, Err(e));
            }
        },
    };
    let (service_name, signing_names, operation): (&'static str, &[&str], String) = match &route {
        Route::Json(s, op) => (s.name, std::slice::from_ref(&s.signing_name), op.clone()),
        Route::Commands(op) => (
            "codedeploy-commands",
            ferry_deploy::commands::SIGNING_NAMES,
            op.clone(),
        ),
        Route::Rest(op) => (
            codeartifact::SERVICE.name,
            std::slice::from_ref(&codeartifact::SERVICE.signing_name),
            op.name.to_owned(),
        ),
    };

    let body = match axum::body::to_bytes(body, MAX_API_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let e = AwsError::new(
                "RequestEntityTooLargeException",
                "Request body is too large",
            )
            .with_status(413);
            return finish(&st, &request_id, service_name, &operation, started, Err(e));
        }
    };
    // An operation whose input carries the body's declared SHA-256 is signed over that hash
    // and checks the body itself (answering ValidationException, as AWS does).
    let payload = match &route {
        Route::Rest(op) if ferry_wire::rest::declares_payload_hash(&codeartifact::SERVICE, op) => {
            Payload::Declared
        }
        _ => Payload::Bytes(&body),
    };
    let caller = match verify_api(&st.store, &st.keys, &parts, payload, signing_names).await {
        Ok(c) => c,
        Err(e) => return finish(&st, &request_id, service_name, &operation, started, Err(e)),
    };
    let ctx = RequestContext {
        request_id: request_id.clone(),
        account_id: st.account_id.clone(),
        region: caller.region,
        principal_arn: caller.key.principal.arn.clone(),
        user_name: caller.key.principal.user_name.clone(),
        access_key_id: Some(caller.key.access_key_id.clone()),
    };
    let result = match route {
        Route::Json(svc, op) => {
            let out = match svc.name {
                "codecommit" => codecommit::dispatch(&*st.commit, &ctx, &op, &body).await,
                "codebuild" => codebuild::dispatch(&st.builds, &ctx, &op, &body).await,
                "codedeploy" => codedeploy::dispatch(&st.deploys, &ctx, &op, &body).await,
                "logs" => logs::dispatch(&*st.companion, &ctx, &op, &body).await,
                "ssm" => ssm::dispatch(&*st.companion, &ctx, &op, &body).await,
                "secretsmanager" => {
                    secretsmanager::dispatch(&*st.companion, &ctx, &op, &body).await
                }
                _ => codepipeline::dispatch(&st.pipelines, &ctx, &op, &body).await,
            };
            out.map(|bytes| {
                let mut r = Response::new(Body::from(bytes));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-amz-json-1.1"),
                );
                r
            })
        }
        Route::Commands(op) => ferry_deploy::commands::dispatch(&st.deploys.0, &ctx, &op, &body)
            .await
            .map(|bytes| {
                let mut r = Response::new(Body::from(bytes));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-amz-json-1.1"),
                );
                r
            }),
        Route::Rest(op) => {
            let headers: Vec<(String, String)> = parts
                .headers
                .iter()
                .filter_map(|(k, v)| {
                    v.to_str()
                        .ok()
                        .map(|v| (k.as_str().to_owned(), v.to_owned()))
                })
                .collect();
            codeartifact::dispatch(&st.artifacts, &ctx, op, &query, &headers, &body)
                .await
                .map(|rest| {
                    let mut r = Response::new(Body::from(rest.body));
                    *r.status_mut() = StatusCode::from_u16(rest.status).unwrap_or(StatusCode::OK);
                    if let Some(ct) = rest.content_type {
                        r.headers_mut()
                            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
                    }
                    for (k, v) in rest.headers {
                        if let (Ok(k), Ok(v)) = (
                            header::HeaderName::from_bytes(k.as_bytes()),
                            HeaderValue::from_str(&v),
                        ) {
                            r.headers_mut().insert(k, v);
                        }
                    }
                    r
                })
        }
    };
    finish(&st, &request_id, service_name, &operation, started, result)
}

fn finish(
    st: &SharedState,
    request_id: &str,
    service: &str,
    operation: &str,
    started: Instant,
    result: Result<Response, AwsError>,
) -> Response {
    let elapsed = started.elapsed();
    let mut response = match result {
        Ok(r) => {
            tracing::info!(
                request_id,
                service,
                operation,
                status = 200,
                micros = elapsed.as_micros() as u64,
                "api"
            );
            r
        }
        Err(e) => {
            if e.is_server_fault() {
                tracing::error!(request_id, service, operation, code = %e.code, detail = e.detail.as_deref().unwrap_or(""), "api fault");
            } else {
                tracing::info!(request_id, service, operation, status = e.status, code = %e.code, micros = elapsed.as_micros() as u64, "api error");
            }
            error_response(&e)
        }
    };
    st.metrics.record(
        service,
        operation,
        elapsed,
        response.status() != StatusCode::OK,
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    response
}

/// The AWS error envelope as an HTTP response.
pub fn error_response(e: &AwsError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = (status, e.to_json()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(&e.code) {
        h.insert("x-amzn-errortype", v);
    }
    r
}

/// A Query-protocol call (IAM or STS, by the credential scope): form body, SigV4, XML answer.
async fn query_call(
    st: &SharedState,
    request_id: &str,
    started: Instant,
    parts: axum::http::request::Parts,
    body: Body,
) -> Response {
    let fail = |e: AwsError, service: &str, op: &str| {
        if e.is_server_fault() {
            tracing::error!(request_id, service, operation = op, code = %e.code, detail = e.detail.as_deref().unwrap_or(""), "api fault");
        } else {
            tracing::info!(request_id, service, operation = op, status = e.status, code = %e.code, "api error");
        }
        st.metrics.record(service, op, started.elapsed(), true);
        crate::query::error_response(&e, request_id)
    };
    let Ok(body) = axum::body::to_bytes(body, MAX_API_BODY).await else {
        return fail(
            AwsError::new(
                "RequestEntityTooLargeException",
                "Request body is too large",
            )
            .with_status(413),
            "query",
            "unknown",
        );
    };
    let Some(action) = crate::query::action(&body) else {
        return fail(
            AwsError::new(
                "MissingAction",
                "The request must contain the parameter Action.",
            ),
            "query",
            "unknown",
        );
    };
    let caller = match verify_api(
        &st.store,
        &st.keys,
        &parts,
        Payload::Bytes(&body),
        &["sts", "iam"],
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return fail(e, "query", &action),
    };
    let service = if caller.service == "iam" {
        "iam"
    } else {
        "sts"
    };
    let ctx = RequestContext {
        request_id: request_id.to_owned(),
        account_id: st.account_id.clone(),
        region: caller.region.clone(),
        principal_arn: caller.key.principal.arn.clone(),
        user_name: caller.key.principal.user_name.clone(),
        access_key_id: Some(caller.key.access_key_id.clone()),
    };
    let params = ferry_companion::query::Params::parse(&body);
    let result = if service == "iam" {
        st.companion.iam(&ctx, &action, &params).await
    } else {
        st.companion.sts(&ctx, &action, &params).await
    };
    match result {
        Ok(doc) => {
            // Keys changed through IAM take effect now, not after the key cache's lifetime.
            if matches!(action.as_str(), "UpdateAccessKey" | "DeleteAccessKey")
                && let Some(akid) = params.get("AccessKeyId")
            {
                st.keys.forget(akid);
            }
            st.metrics
                .record(service, &action, started.elapsed(), false);
            tracing::info!(request_id, service, operation = %action, status = 200, micros = started.elapsed().as_micros() as u64, "api");
            crate::query::xml(StatusCode::OK, doc, request_id)
        }
        Err(e) => fail(e, service, &action),
    }
}
