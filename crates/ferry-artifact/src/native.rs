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
    /// The body, when it was read whole.
    pub body: Vec<u8>,
    /// The body as it arrives, when [`streams_body`] says the request uploads a file.
    pub stream: BodyStream,
}

/// The largest package file received as a stream.
pub const MAX_FILE: u64 = 4 << 30;

/// A request body being received.
pub type BodyReader = std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>;

/// A request's body stream, taken once by the handler that receives it.
#[derive(Default)]
pub struct BodyStream(std::sync::Mutex<Option<BodyReader>>);

impl BodyStream {
    pub fn new(reader: BodyReader) -> Self {
        Self(std::sync::Mutex::new(Some(reader)))
    }
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodyStream")
    }
}

impl Clone for BodyStream {
    /// A clone has no stream: a body is received once.
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// Whether a request uploads a package file, whose body the server hands over as a stream
/// (received into a spool while hashed, never held in memory) rather than read whole: a
/// Maven artifact file, a twine upload, a cargo publish.
pub fn streams_body(format: &str, method: &str, rest: &str) -> bool {
    match (format, method) {
        ("maven", "PUT") => crate::maven::uploads_file(rest),
        ("pypi", "POST") => true,
        ("cargo", "PUT") => rest == "api/v1/crates/new",
        _ => false,
    }
}

impl NativeRequest {
    /// The body as a reader: the stream when there is one, else the bytes read whole.
    pub fn reader(&self) -> BodyReader {
        let taken = self.stream.0.lock().ok().and_then(|mut s| s.take());
        taken.unwrap_or_else(|| Box::pin(std::io::Cursor::new(self.body.clone())))
    }

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
    /// A stored content to send instead of `body`, streamed from the blob store
    /// ([`ArtifactService::open_content`]) rather than read into memory.
    pub file: Option<StoredFile>,
}

/// A stored content: its blob key and size.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub key: String,
    pub size: u64,
}

impl NativeResponse {
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: value.to_string().into_bytes(),
            file: None,
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
            file: None,
        }
    }

    /// A stored asset's content, streamed.
    pub fn content(asset: &ferry_store::artifacts::AssetRow) -> Self {
        Self {
            status: 200,
            content_type: "application/octet-stream",
            headers: Vec::new(),
            body: Vec::new(),
            file: Some(StoredFile {
                key: crate::assets::blob_key(&asset.sha256),
                size: u64::try_from(asset.size).unwrap_or_default(),
            }),
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
        // Read before anything else, so that an answer built from older records is never kept
        // under a newer generation.
        let generation = self.store.ca_generation();
        let Some((_, external)) = self.search_info(&domain, &req.repository).await else {
            return NativeResponse::error(404, "Repository not found");
        };
        let cache_key = (req.method == "GET" && !req.rest.contains("whoami")).then(|| {
            format!(
                "{}\0{}\0{}\0{}\0{}\0{}",
                domain,
                req.format,
                req.repository,
                req.rest,
                req.query,
                req.header("accept").unwrap_or_default()
            )
        });
        if let Some(key) = &cache_key
            && let Some(hit) = self.caches.answer(key, generation)
        {
            return hit;
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
        let answer = match format {
            PackageFormat::Npm => crate::npm::handle(self, &caller, &req).await,
            PackageFormat::Pypi => crate::pypi::handle(self, &caller, &req).await,
            PackageFormat::Maven => crate::maven::handle(self, &caller, &req).await,
            PackageFormat::Cargo => crate::cargo::handle(self, &caller, &req).await,
            other => NativeResponse::error(
                404,
                format!("Ferry does not serve the {} protocol yet", other.as_str()),
            ),
        };
        // Answers that reach through an external connection follow its own freshness.
        if let Some(key) = cache_key
            && !external
        {
            self.caches.keep_answer(key, generation, &answer);
        }
        answer
    }

    /// The repositories a lookup from `repository` consults, in AWS's order: the repository,
    /// then each upstream depth-first in priority order, each once, at most [`MAX_SEARCH`].
    pub async fn search_order(&self, domain: &str, repository: &str) -> Vec<String> {
        self.search_info(domain, repository)
            .await
            .map(|(order, _)| order)
            .unwrap_or_default()
    }

    /// The search order from `repository` and whether any repository on it holds an external
    /// connection this server reaches; `None` when the repository does not exist.
    pub(crate) async fn search_info(
        &self,
        domain: &str,
        repository: &str,
    ) -> Option<(Vec<String>, bool)> {
        let generation = self.store.ca_generation();
        if let Some(hit) = self.caches.order(domain, repository, generation) {
            return (!hit.0.is_empty()).then_some(hit);
        }

        let all: std::collections::BTreeMap<String, RepositoryDoc> = self
            .store
            .ca_repositories(Some(domain))
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(_, n, d)| Some((n, serde_json::from_str(&d).ok()?)))
            .collect();
        let mut order = Vec::new();
        let mut external = false;
        if all.contains_key(repository) {
            let mut stack = vec![repository.to_owned()];
            while let Some(r) = stack.pop() {
                if order.contains(&r) || order.len() >= MAX_SEARCH {
                    continue;
                }
                if let Some(doc) = all.get(&r) {
                    stack.extend(doc.upstreams.iter().rev().cloned());
                    external |= doc
                        .external_connections
                        .iter()
                        .any(|c| self.settings.external.contains_key(c));
                }
                order.push(r);
            }
        }
        self.caches
            .keep_order(domain, repository, generation, order.clone(), external);
        (!order.is_empty()).then_some((order, external))
    }
}
