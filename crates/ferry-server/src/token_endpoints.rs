//! The unsigned endpoints, each proven by a token of its own: `POST /ferry/agent/register`, the
//! one call a `ferry agent` makes without a key, trading a registration token for an
//! on-premises registration and an access key (see `ferry_deploy::enrolment`); and
//! `POST /webhooks/trigger?t=<token>`, a CodePipeline webhook's URL (see
//! `ferry_pipeline::webhooks`). Errors use the JSON 1.1 error envelope.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ferry_deploy::enrolment::TokenRegistration;
use ferry_wire::AwsError;

use crate::api::error_response;
use crate::state::SharedState;

/// The largest registration body read.
const MAX_BODY: usize = 8 * 1024;

pub async fn agent_register(State(st): State<SharedState>, body: Bytes) -> Response {
    let request: TokenRegistration =
        match (body.len() <= MAX_BODY).then(|| serde_json::from_slice(&body)) {
            Some(Ok(r)) => r,
            _ => {
                return error_response(&AwsError::new(
                    "SerializationException",
                    "The body must be JSON {\"token\": \"…\", \"instanceName\": \"…\"}.",
                ));
            }
        };
    match st.deploys.register_with_token(request).await {
        Ok(enrolled) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&enrolled).unwrap_or_default(),
        )
            .into_response(),
        Err(e) => {
            tracing::info!(code = %e.code, "agent registration refused");
            error_response(&e)
        }
    }
}

/// The largest webhook event read.
const MAX_EVENT: usize = 1024 * 1024;

pub async fn webhook(
    State(st): State<SharedState>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    if body.len() > MAX_EVENT {
        return error_response(&AwsError::new(
            "ValidationException",
            "The event is over 1 MB",
        ));
    }
    let token = query.get("t").map(String::as_str).unwrap_or("");
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    match st.pipelines.0.webhook_event(token, signature, &body).await {
        Ok(started) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "pipelineExecutionId": started }).to_string(),
        )
            .into_response(),
        Err(e) => error_response(&e),
    }
}
