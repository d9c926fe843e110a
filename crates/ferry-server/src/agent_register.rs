//! `POST /ferry/agent/register`: the one unsigned call a `ferry agent` makes, trading a
//! registration token for an on-premises registration and an access key of its own (see
//! `ferry_deploy::enrolment`). Errors use the JSON 1.1 error envelope.

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

pub async fn handle(State(st): State<SharedState>, body: Bytes) -> Response {
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
