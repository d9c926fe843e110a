//! The AWS error every API answer can carry: an exception code that equals the modeled shape
//! name (so boto3 raises the typed exception), a message, the HTTP status, and any extra
//! members the exception shape models. Rendering follows the JSON envelope botocore parses:
//! `{"__type": code, "message": text, ...}` plus `x-amzn-ErrorType`.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// An error answered to an AWS client.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsError {
    /// The exception name, exactly as the service model spells it.
    pub code: Cow<'static, str>,
    /// Human-readable text; botocore shows it after the code.
    pub message: String,
    /// HTTP status. 400 for every modeled client error of the JSON 1.1 services.
    pub status: u16,
    /// Extra members of the exception shape (`resourceId`, `reason`, ...).
    pub fields: Map<String, Value>,
    /// What went wrong inside Ferry, for the log only; never rendered to the client.
    pub detail: Option<String>,
}

impl AwsError {
    /// A client error with status 400.
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status: 400,
            fields: Map::new(),
            detail: None,
        }
    }

    /// The same error with another HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The same error with one more modeled member.
    pub fn with_field(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(name.to_owned(), value.into());
        self
    }

    /// The answer for an operation Ferry has not implemented yet. It is a deterministic
    /// client-visible failure, so it is not a 5xx (the CLI would retry it five times).
    pub fn not_implemented(service: &str, operation: &str) -> Self {
        Self::new(
            "NotImplementedException",
            format!("Ferry does not implement {service} {operation} yet"),
        )
    }

    /// A request body that is not the JSON the protocol requires.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", message)
    }

    /// A failure inside Ferry. The detail goes to the log, not to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let mut e =
            Self::new("InternalFailure", "An internal error occurred in Ferry").with_status(500);
        e.detail = Some(detail.to_string());
        e
    }

    /// Whether this error is a server fault (5xx).
    pub fn is_server_fault(&self) -> bool {
        self.status >= 500
    }

    /// The JSON body of the error envelope.
    pub fn to_json(&self) -> Vec<u8> {
        let mut body = Map::with_capacity(self.fields.len() + 2);
        body.insert("__type".into(), Value::String(self.code.to_string()));
        body.insert("message".into(), Value::String(self.message.clone()));
        for (k, v) in &self.fields {
            body.insert(k.clone(), v.clone());
        }
        serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_type_and_message() {
        let e =
            AwsError::new("RepositoryDoesNotExistException", "nope").with_field("resourceId", "r");
        let v: Value = serde_json::from_slice(&e.to_json()).unwrap();
        assert_eq!(v["__type"], "RepositoryDoesNotExistException");
        assert_eq!(v["message"], "nope");
        assert_eq!(v["resourceId"], "r");
        assert_eq!(e.status, 400);
    }

    #[test]
    fn internal_is_a_fault_without_detail() {
        let e = AwsError::internal("disk on fire");
        assert!(e.is_server_fault());
        assert!(!e.message.contains("disk"));
    }
}
