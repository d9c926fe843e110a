//! The deployment service of one node: settings, the engine's wake-ups (new deployments,
//! command results, stop requests) and the long-poll wake-ups of agents, and the
//! engine-only settings each deployment carries.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_model::codedeploy::{DeploymentConfigInfo, FileExistsBehavior, RevisionLocation};
use ferry_store::Store;
use ferry_types::Timestamp;
use tokio::sync::Notify;

/// What the deployment service needs to know about its node.
#[derive(Debug, Clone)]
pub struct DeploySettings {
    pub region: String,
    pub account_id: String,
    /// This node's stable id (leases name it).
    pub node_id: String,
    /// How long an agent may stay silent while it owes a command before its instance fails.
    pub heartbeat: Duration,
    /// The longest a PollHostCommand waits for a command.
    pub long_poll: Duration,
}

/// What the engine needs about a deployment that DeploymentInfo does not carry.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    pub group_id: String,
    /// The configuration as it was when the deployment was created.
    pub config: DeploymentConfigInfo,
    pub file_exists_behavior: Option<FileExistsBehavior>,
    /// The revision to deploy (also in DeploymentInfo).
    pub revision: Option<RevisionLocation>,
    /// Whether a stop asked for an automatic rollback.
    pub rollback_on_stop: Option<bool>,
    /// Blue/green with a ready wait: ContinueDeployment was called.
    #[serde(default)]
    pub continued: bool,
    /// Blue/green with a ready wait: when the replacement instances became ready.
    #[serde(default)]
    pub ready_since_ms: Option<i64>,
}

/// The CodeDeploy service.
pub struct DeployService {
    pub store: Store,
    /// Ferry's repositories (CodeCommit commits as revisions).
    pub commit: Arc<ferry_commit::CommitService>,
    /// Ferry's S3 (bundles of CodeCommit revisions are kept there).
    pub s3: ferry_s3::S3,
    pub settings: DeploySettings,
    /// Wakes the scheduler (a deployment was created or stopped).
    pub(crate) wake: Notify,
    /// Counts command state changes; drivers wake on every change, even one that happened
    /// while they were busy.
    pub(crate) progress: tokio::sync::watch::Sender<u64>,
    /// The id of every deployment that ends (for whoever waits on one, e.g. a pipeline).
    pub(crate) finished: tokio::sync::broadcast::Sender<String>,
    /// Agents waiting in PollHostCommand, by host ARN.
    hosts: Mutex<HashMap<String, Arc<Notify>>>,
    /// Deployments driven by this node.
    pub(crate) driving: Mutex<HashSet<String>>,
}

pub(crate) fn now() -> Timestamp {
    Timestamp::now()
}

impl DeployService {
    pub fn new(
        store: Store,
        commit: Arc<ferry_commit::CommitService>,
        s3: ferry_s3::S3,
        settings: DeploySettings,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            commit,
            s3,
            settings,
            wake: Notify::new(),
            progress: tokio::sync::watch::channel(0).0,
            finished: tokio::sync::broadcast::channel(256).0,
            hosts: Mutex::new(HashMap::new()),
            driving: Mutex::new(HashSet::new()),
        })
    }

    pub(crate) fn arn(&self, resource: &str) -> String {
        format!(
            "arn:aws:codedeploy:{}:{}:{resource}",
            self.settings.region, self.settings.account_id
        )
    }

    /// The wake-up an agent of `host` waits on.
    pub(crate) fn host_signal(&self, host: &str) -> Arc<Notify> {
        self.hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(host.to_owned())
            .or_default()
            .clone()
    }

    /// Tells the drivers that a command changed.
    /// Ids of deployments as they end, from now on.
    pub fn subscribe_finished(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.finished.subscribe()
    }

    pub(crate) fn progressed(&self) {
        self.progress.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Tells a waiting agent of `host` that a command is there.
    pub(crate) fn poke_host(&self, host: &str) {
        self.host_signal(host).notify_one();
    }
}
