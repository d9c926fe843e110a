//! What every request handler shares.

use std::sync::Arc;

use ferry_commit::CommitService;
use ferry_companion::CompanionService;
use ferry_store::Store;
use ferry_store::blob::LocalBlobStore;
use tokio_util::task::TaskTracker;

use crate::auth::KeyCache;
use crate::metrics::Metrics;

/// The shared state of one server.
pub struct AppState {
    pub store: Store,
    pub commit: Arc<CommitService>,
    /// CloudWatch Logs, Parameter Store and Secrets Manager.
    pub companion: Arc<CompanionService>,
    /// Large objects (Git LFS) and, later, artifacts.
    pub blobs: LocalBlobStore,
    pub keys: KeyCache,
    /// The S3 service (buckets and objects on the store and `blobs`).
    pub s3: ferry_s3::S3,
    /// CodeBuild: the build service and its API face.
    pub builds: ferry_build::api::BuildApi,
    /// CodeDeploy: the deployment service and its API face.
    pub deploys: ferry_deploy::api::DeployApi,
    pub pipelines: ferry_pipeline::PipelineApi,
    /// CodeArtifact: domains, repositories, packages and their native endpoints.
    pub artifacts: ferry_artifact::ArtifactApi,
    pub metrics: Metrics,
    pub account_id: String,
    pub region: String,
    /// Work that must finish before shutdown completes (pushes being recorded).
    pub tasks: TaskTracker,
}

pub type SharedState = Arc<AppState>;
