//! The pipeline service of one node: what it talks to (the store, repositories, S3, the build
//! and deployment services), its settings, the per-pipeline locks that serialise changes to a
//! pipeline's executions between the API and the engine, and the engine's wake-ups.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ferry_model::codepipeline::PipelineDeclaration;
use ferry_store::Store;
use ferry_store::pipelines::ExecutionRow;
use ferry_wire::AwsError;
use tokio::sync::Notify;

use crate::record::ExecRecord;

/// What the pipeline service needs to know about its node.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    pub region: String,
    pub account_id: String,
    /// This node's stable id (leases name it).
    pub node_id: String,
    /// The URL Ferry is reached at (webhook URLs start with it).
    pub public_url: String,
}

/// The stored form of a pipeline: the declaration (with its version) and its tags.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Stored {
    pub pipeline: PipelineDeclaration,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// The CodePipeline service.
pub struct PipelineService {
    pub store: Store,
    pub commit: Arc<ferry_commit::CommitService>,
    pub s3: ferry_s3::S3,
    pub builds: ferry_build::api::BuildApi,
    pub deploys: ferry_deploy::api::DeployApi,
    pub settings: PipelineSettings,
    /// Serialises read-modify-write of one pipeline's executions.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Wakes the scheduler (an execution started somewhere).
    pub(crate) wake: Notify,
    /// Wakes the driver of one pipeline (an approval, a stop, a transition change).
    drivers: Mutex<HashMap<String, Arc<Notify>>>,
    /// Pipelines driven by this node.
    pub(crate) driving: Mutex<HashSet<String>>,
    /// The id of every job a worker ends (custom actions wait on it).
    pub(crate) jobs_done: tokio::sync::broadcast::Sender<String>,
}

pub(crate) fn now_ms() -> i64 {
    ferry_types::Timestamp::now().millis()
}

impl PipelineService {
    pub fn new(
        store: Store,
        commit: Arc<ferry_commit::CommitService>,
        s3: ferry_s3::S3,
        builds: ferry_build::api::BuildApi,
        deploys: ferry_deploy::api::DeployApi,
        settings: PipelineSettings,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            commit,
            s3,
            builds,
            deploys,
            settings,
            locks: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            drivers: Mutex::new(HashMap::new()),
            driving: Mutex::new(HashSet::new()),
            jobs_done: tokio::sync::broadcast::channel(256).0,
        })
    }

    /// The ARN of a pipeline.
    pub fn arn(&self, name: &str) -> String {
        format!(
            "arn:aws:codepipeline:{}:{}:{name}",
            self.settings.region, self.settings.account_id
        )
    }

    /// A request context acting for `pipeline` when the service calls CodeBuild or CodeDeploy
    /// in-process (builds show it as their initiator, `codepipeline/<pipeline>`).
    pub(crate) fn context(&self, pipeline: &str) -> ferry_wire::RequestContext {
        let s = &self.settings;
        ferry_wire::RequestContext {
            request_id: uuid::Uuid::new_v4().to_string(),
            account_id: s.account_id.clone(),
            region: s.region.clone(),
            principal_arn: format!(
                "arn:aws:sts::{}:assumed-role/codepipeline/{pipeline}",
                s.account_id
            ),
            user_name: format!("codepipeline/{pipeline}"),
            access_key_id: None,
        }
    }

    /// The lock of one pipeline's executions.
    pub(crate) fn lock(&self, pipeline: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(pipeline.to_owned())
            .or_default()
            .clone()
    }

    /// The notify the driver of `pipeline` waits on.
    pub(crate) fn driver_wake(&self, pipeline: &str) -> Arc<Notify> {
        self.drivers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(pipeline.to_owned())
            .or_default()
            .clone()
    }

    /// Tells whoever drives `pipeline` that something changed (and the scheduler, in case
    /// nobody does yet).
    pub fn poke(&self, pipeline: &str) {
        self.driver_wake(pipeline).notify_one();
        self.wake.notify_one();
    }

    /// A pipeline as stored, or `PipelineNotFoundException`.
    pub(crate) async fn stored(&self, name: &str) -> Result<(i64, Stored), AwsError> {
        let row = self
            .store
            .pipeline(name)
            .await
            .map_err(AwsError::internal)?
            .ok_or_else(|| not_found(name))?;
        let stored: Stored = serde_json::from_str(&row.document).map_err(AwsError::internal)?;
        Ok((row.version, stored))
    }

    /// The declaration of `name` at `version`.
    pub(crate) async fn declaration_at(
        &self,
        name: &str,
        version: i64,
    ) -> Result<Option<PipelineDeclaration>, AwsError> {
        let doc = self
            .store
            .pipeline_version(name, version)
            .await
            .map_err(AwsError::internal)?;
        Ok(doc
            .and_then(|d| serde_json::from_str::<Stored>(&d).ok())
            .map(|s| s.pipeline))
    }

    /// Stores an execution record.
    pub(crate) async fn save(&self, e: &ExecRecord) -> Result<(), AwsError> {
        let row = ExecutionRow {
            execution_id: e.id.clone(),
            pipeline: e.pipeline.clone(),
            status: e.status.clone(),
            started_ms: e.started_ms,
            updated_ms: e.updated_ms,
            document: serde_json::to_string(e).map_err(AwsError::internal)?,
        };
        self.store
            .put_execution(&row)
            .await
            .map_err(AwsError::internal)
    }

    /// One execution record.
    pub(crate) async fn load(&self, id: &str) -> Result<Option<ExecRecord>, AwsError> {
        let row = self.store.execution(id).await.map_err(AwsError::internal)?;
        Ok(row.and_then(|r| serde_json::from_str(&r.document).ok()))
    }

    /// A pipeline's execution records, newest first.
    pub(crate) async fn records(
        &self,
        pipeline: &str,
        active_only: bool,
    ) -> Result<Vec<ExecRecord>, AwsError> {
        let rows = self
            .store
            .executions(pipeline, active_only)
            .await
            .map_err(AwsError::internal)?;
        Ok(rows
            .iter()
            .filter_map(|r| serde_json::from_str(&r.document).ok())
            .collect())
    }
}

/// Action `action` of stage `stage` in a declaration, or the AWS error naming what is missing.
pub(crate) fn declared_action<'a>(
    pipeline: &'a ferry_model::codepipeline::PipelineDeclaration,
    stage: &str,
    action: &str,
) -> Result<&'a ferry_model::codepipeline::ActionDeclaration, AwsError> {
    pipeline
        .stages
        .iter()
        .find(|s| s.name == stage)
        .ok_or_else(|| {
            AwsError::new(
                "StageNotFoundException",
                format!("Stage {stage} does not exist"),
            )
        })?
        .actions
        .iter()
        .find(|a| a.name == action)
        .ok_or_else(|| {
            AwsError::new(
                "ActionNotFoundException",
                format!("Action {action} does not exist in stage {stage}"),
            )
        })
}

/// `PipelineNotFoundException` for `name`.
pub(crate) fn not_found(name: &str) -> AwsError {
    AwsError::new(
        "PipelineNotFoundException",
        format!("The account with id does not include a pipeline with the name {name}"),
    )
}
