//! The engine's record of one pipeline execution, stored as JSON: where the execution stands
//! (waiting before a stage, running one, finished), the stages it entered with their action
//! executions, the artifacts and variables its actions produced, and a stop request. The
//! API's views (GetPipelineExecution, GetPipelineState, ListActionExecutions) are read from it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Pipeline execution statuses (`PipelineExecutionStatus`).
pub mod status {
    pub const IN_PROGRESS: &str = "InProgress";
    pub const STOPPING: &str = "Stopping";
    pub const STOPPED: &str = "Stopped";
    pub const SUCCEEDED: &str = "Succeeded";
    pub const SUPERSEDED: &str = "Superseded";
    pub const FAILED: &str = "Failed";
    /// Action executions end `Abandoned` when a stop abandons them.
    pub const ABANDONED: &str = "Abandoned";
}

/// Where an artifact's zip is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactLoc {
    pub bucket: String,
    pub key: String,
}

/// Where the execution stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "camelCase")]
pub enum Position {
    /// Waiting to enter stage `stage` (its lock is held, or its inbound transition disabled).
    Waiting { stage: usize },
    /// Running stage `stage`.
    Running { stage: usize },
    /// Finished (see the status).
    Done,
}

/// One action execution.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionRecord {
    pub id: String,
    pub stage: String,
    pub name: String,
    pub run_order: i32,
    /// `InProgress`, `Succeeded`, `Failed` or `Abandoned`.
    pub status: String,
    pub summary: Option<String>,
    pub started_ms: i64,
    pub updated_ms: i64,
    pub external_id: Option<String>,
    pub external_url: Option<String>,
    /// A manual approval's token while it waits.
    pub token: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub resolved_configuration: BTreeMap<String, String>,
    pub input_artifacts: Vec<(String, ArtifactLoc)>,
    pub output_artifacts: Vec<(String, ArtifactLoc)>,
    pub output_variables: BTreeMap<String, String>,
    /// Who approved or rejected (manual approvals).
    pub updated_by: Option<String>,
}

/// One stage the execution entered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRecord {
    pub name: String,
    /// `InProgress`, `Succeeded`, `Failed`, `Stopped` or `Stopping`.
    pub status: String,
    pub actions: Vec<ActionRecord>,
}

/// A source revision the execution took.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRev {
    pub action_name: String,
    pub revision_id: String,
    pub revision_summary: Option<String>,
}

/// One pipeline execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecRecord {
    pub id: String,
    pub pipeline: String,
    pub pipeline_version: i64,
    pub status: String,
    pub status_summary: Option<String>,
    pub trigger_type: String,
    pub trigger_detail: Option<String>,
    pub execution_mode: String,
    pub started_ms: i64,
    pub updated_ms: i64,
    pub position: Position,
    pub stages: Vec<StageRecord>,
    /// Output artifacts by name.
    pub artifacts: BTreeMap<String, ArtifactLoc>,
    /// Output variables by namespace.
    pub variables: BTreeMap<String, BTreeMap<String, String>>,
    /// Pipeline-level variables (V2), resolved.
    pub pipeline_variables: BTreeMap<String, String>,
    /// Source revisions asked for at the start, by action name (`COMMIT_ID` etc., value).
    pub source_overrides: BTreeMap<String, (String, String)>,
    pub source_revisions: Vec<SourceRev>,
    /// A stop request: `(abandon, reason)`.
    pub stop: Option<(bool, Option<String>)>,
    /// `STANDARD`, or `ROLLBACK` for an execution that re-runs one stage of an earlier one.
    #[serde(default = "standard")]
    pub execution_type: String,
    /// A rollback's target execution.
    #[serde(default)]
    pub rollback_target: Option<String>,
    /// A rollback runs this stage only, then ends.
    #[serde(default)]
    pub only_stage: Option<usize>,
    /// Automatic retries of the current stage so far (`onFailure: RETRY`).
    #[serde(default)]
    pub auto_retries: u32,
}

fn standard() -> String {
    "STANDARD".to_owned()
}

impl ExecRecord {
    /// Whether the execution has ended.
    pub fn is_final(&self) -> bool {
        !matches!(self.status.as_str(), status::IN_PROGRESS | status::STOPPING)
    }

    /// The stage record of `name` (the latest entry when the stage ran more than once).
    pub fn stage(&self, name: &str) -> Option<&StageRecord> {
        self.stages.iter().rev().find(|s| s.name == name)
    }

    /// The action execution with id `id`.
    pub fn action_mut(&mut self, id: &str) -> Option<&mut ActionRecord> {
        self.stages
            .iter_mut()
            .flat_map(|s| s.actions.iter_mut())
            .find(|a| a.id == id)
    }

    /// Every action execution, in the order they started.
    pub fn actions(&self) -> impl Iterator<Item = &ActionRecord> {
        self.stages.iter().flat_map(|s| s.actions.iter())
    }
}
