//! One S3 request as the handlers see it: who calls, what bucket and key, the decoded query,
//! the headers, and how the payload was signed.

use axum::http::{HeaderMap, Method};

use crate::body::PayloadMode;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal_arn: String,
    pub account_id: String,
    pub region: String,
}

/// A routed S3 request.
#[derive(Debug)]
pub struct Req {
    pub method: Method,
    pub bucket: Option<String>,
    pub key: Option<String>,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub request_id: String,
    pub caller: Caller,
    pub payload: PayloadMode,
}

/// Subresources Ferry does not implement yet; a request naming one gets `NotImplemented`
/// rather than being mistaken for a plain object or bucket operation.
const UNSUPPORTED: &[&str] = &[
    "acl",
    "policy",
    "policyStatus",
    "cors",
    "lifecycle",
    "tagging",
    "website",
    "logging",
    "notification",
    "replication",
    "encryption",
    "ownershipControls",
    "publicAccessBlock",
    "object-lock",
    "accelerate",
    "requestPayment",
    "analytics",
    "inventory",
    "metrics",
    "intelligent-tiering",
    "retention",
    "legal-hold",
    "torrent",
    "restore",
    "select",
    "attributes",
    "renameObject",
];

impl Req {
    /// A query parameter's value.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether a query parameter is present (with or without a value).
    pub fn has(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first unsupported subresource the query names.
    pub fn unsupported_subresource(&self) -> Option<&str> {
        self.query
            .iter()
            .map(|(k, _)| k.as_str())
            .find(|k| UNSUPPORTED.contains(k))
    }

    pub(crate) fn bucket_name(&self) -> &str {
        self.bucket.as_deref().unwrap_or_default()
    }

    pub(crate) fn key_name(&self) -> &str {
        self.key.as_deref().unwrap_or_default()
    }

    /// The owner id shown in listings (the account).
    pub(crate) fn owner_xml(&self, x: &mut crate::xml::XmlOut, element: &str) {
        x.open(element)
            .leaf("ID", &self.caller.account_id)
            .leaf("DisplayName", &self.caller.account_id)
            .close(element);
    }
}
