//! The native package-manager endpoints under each repository's endpoint
//! (`<public>/codeartifact/<domain>-<owner>/<format>/<repository>/…`): authentication with a
//! CodeArtifact token (Bearer, Basic `aws:<token>`, or the raw value), the repository lookup,
//! the search order through upstreams, and the dispatch to a format's protocol (`npm.rs`,
//! `pypi.rs`, `maven.rs`, `cargo.rs`).
//! Requests and answers are plain values so that the HTTP server stays a thin adapter.

use ferry_model::codeartifact::PackageFormat;
use ferry_store::artifacts::TokenRow;

use crate::records::RepositoryDoc;
use crate::service::ArtifactService;

/// The most repositories one lookup consults (the repository and its upstreams), as on AWS.
pub const MAX_SEARCH: usize = 25;

/// A request to a repository endpoint.
#[derive(Debug, Clone)]
pub struct NativeRequest {
    pub method: String,
    /// `<domain>-<owner>` from the endpoint's path.
    pub endpoint: String,
    pub format: String,
    pub repository: String,
    /// The rest of the path after the repository's `/`, still percent-encoded.
    pub rest: String,
    pub query: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl NativeRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct NativeResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl NativeResponse {
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: value.to_string().into_bytes(),
        }
    }

    /// An error as package managers print it (`{"error": "…"}`).
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Self::json(status, &serde_json::json!({ "error": message.into() }))
    }

    pub fn bytes(content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status: 200,
            content_type,
            headers: Vec::new(),
            body,
        }
    }
}

/// Who is calling, and where.
pub struct Caller {
    pub token: TokenRow,
    pub domain: String,
    pub repository: String,
    pub format: PackageFormat,
}

impl ArtifactService {
    /// Answers a request to a repository endpoint.
    pub async fn native(&self, req: NativeRequest) -> NativeResponse {
        let Some(format) = PackageFormat::parse(&req.format) else {
            return NativeResponse::error(404, format!("Unknown format {}", req.format));
        };
        let owner_suffix = format!("-{}", self.settings.account_id);
        let Some(domain) = req.endpoint.strip_suffix(&owner_suffix).map(str::to_owned) else {
            return NativeResponse::error(404, "Unknown domain");
        };
        let token = req
            .header("authorization")
            .and_then(crate::tokens::from_header);
        let Some(token) = (match token {
            Some(t) => self.check_token(&t).await,
            None => None,
        }) else {
            // npm answers a Bearer challenge; Maven and pip resend with Basic credentials.
            let scheme = if format == PackageFormat::Npm {
                "Bearer"
            } else {
                "Basic"
            };
            let mut r = NativeResponse::error(401, "An authorization token is required");
            r.headers.push((
                "www-authenticate",
                format!("{scheme} realm=\"codeartifact\""),
            ));
            return r;
        };
        if token.domain != domain {
            return NativeResponse::error(403, "The token is for another domain");
        }
        match self.store.ca_repository(&domain, &req.repository).await {
            Ok(Some(_)) => {}
            Ok(None) => return NativeResponse::error(404, "Repository not found"),
            Err(e) => return NativeResponse::error(500, e.to_string()),
        }
        // A Ferry extension: forget the metadata cached from external connections for a
        // package, so that the next request reads the upstream registry again.
        if req.method == "POST"
            && let Some(package) = req.rest.strip_prefix("-/ferry/refresh/")
        {
            self.external_cache.forget(&crate::npm::decode(package));
            return NativeResponse::json(200, &serde_json::json!({ "ok": true }));
        }
        let caller = Caller {
            token,
            domain,
            repository: req.repository.clone(),
            format,
        };
        match format {
            PackageFormat::Npm => crate::npm::handle(self, &caller, &req).await,
            PackageFormat::Pypi => crate::pypi::handle(self, &caller, &req).await,
            PackageFormat::Maven => crate::maven::handle(self, &caller, &req).await,
            PackageFormat::Cargo => crate::cargo::handle(self, &caller, &req).await,
            other => NativeResponse::error(
                404,
                format!("Ferry does not serve the {} protocol yet", other.as_str()),
            ),
        }
    }

    /// The repositories a lookup from `repository` consults, in AWS's order: the repository,
    /// then each upstream depth-first in priority order, each once, at most [`MAX_SEARCH`].
    pub async fn search_order(&self, domain: &str, repository: &str) -> Vec<String> {
        let all: std::collections::BTreeMap<String, RepositoryDoc> = self
            .store
            .ca_repositories(Some(domain))
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(_, n, d)| Some((n, serde_json::from_str(&d).ok()?)))
            .collect();
        let mut order = Vec::new();
        let mut stack = vec![repository.to_owned()];
        while let Some(r) = stack.pop() {
            if order.contains(&r) || order.len() >= MAX_SEARCH {
                continue;
            }
            if let Some(doc) = all.get(&r) {
                stack.extend(doc.upstreams.iter().rev().cloned());
            }
            order.push(r);
        }
        order
    }
}
