//! The CodeArtifact service: the store, the blob store holding asset contents, and the
//! settings the API needs (account, region, the public URL repository endpoints start with,
//! the registries external connections reach).

use ferry_store::Store;
use ferry_store::blob::LocalBlobStore;
use ferry_wire::AwsError;

/// What the service is told at start.
#[derive(Debug, Clone)]
pub struct ArtifactSettings {
    pub account_id: String,
    pub region: String,
    /// The server's public base URL, without a trailing `/`.
    pub public_url: String,
    /// The registries external connections reach, by connection name (`public:npmjs`, …).
    pub external: std::collections::BTreeMap<String, crate::external::Upstream>,
    /// How long metadata fetched through an external connection is trusted.
    pub external_ttl: std::time::Duration,
}

/// Shared by the API and the native endpoints.
pub struct ArtifactService {
    pub store: Store,
    pub blobs: LocalBlobStore,
    pub settings: ArtifactSettings,
    /// Held while an asset's blob is stored and referenced, and while unreferenced blobs are
    /// deleted, so that a deletion never removes a blob a new asset is about to use.
    pub(crate) contents: tokio::sync::Mutex<()>,
    /// Metadata fetched through external connections.
    pub(crate) external_cache: crate::external::MetadataCache,
    /// Answers, search orders and tokens the package endpoints remember.
    pub(crate) caches: crate::cache::Caches,
}

impl ArtifactService {
    pub fn new(store: Store, blobs: LocalBlobStore, settings: ArtifactSettings) -> Self {
        Self {
            store,
            blobs,
            settings,
            contents: tokio::sync::Mutex::new(()),
            external_cache: Default::default(),
            caches: Default::default(),
        }
    }

    /// `arn:aws:codeartifact:<region>:<account>:<resource>`.
    pub fn arn(&self, resource: &str) -> String {
        format!(
            "arn:aws:codeartifact:{}:{}:{resource}",
            self.settings.region, self.settings.account_id
        )
    }
}

/// The exceptions CodeArtifact answers with.
pub(crate) fn not_found(message: impl Into<String>) -> AwsError {
    AwsError::new("ResourceNotFoundException", message)
}

pub(crate) fn conflict(message: impl Into<String>) -> AwsError {
    AwsError::new("ConflictException", message)
}

pub(crate) fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", message)
}

pub(crate) fn internal(e: impl std::fmt::Display) -> AwsError {
    AwsError::internal(e)
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    ferry_types::Timestamp::now().millis()
}
