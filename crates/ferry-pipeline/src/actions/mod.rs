//! Running one action execution. The engine hands an [`ActionJob`] (the declaration, its
//! configuration with variables resolved, the input artifacts, where outputs go, and the
//! external id of work already started when it resumes after a restart) to [`run`], which
//! dispatches on the action type and returns an [`ActionResult`]. Long-running providers report
//! the external id (a build or deployment id) as soon as they have it, through
//! [`Progress`], so that a restarted node waits for that work instead of starting it again.
//!
//! Providers: CodeCommit source (`codecommit.rs`), CodeBuild build/test (`codebuild.rs`, batch
//! builds in `codebuild_batch.rs`), Commands (`commands.rs`),
//! CodeDeploy deploy (`codedeploy.rs`), S3 source and deploy (`s3.rs`), and custom actions handed to job workers
//! (`custom.rs`). Manual approvals are not run here: they wait for PutApprovalResult.

mod codebuild;
mod codebuild_batch;
mod codecommit;
mod codedeploy;
mod commands;
mod custom;
mod s3;

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_model::codepipeline::{ActionCategory, ActionDeclaration, ActionOwner};

use crate::record::{ArtifactLoc, SourceRev};
use crate::service::PipelineService;

/// How often a provider asks whether its build or deployment ended when no notice came (they
/// are woken as soon as one ends; this only bounds a missed notice).
pub(crate) const POLL: std::time::Duration = std::time::Duration::from_millis(1000);

/// One action execution to run.
pub struct ActionJob {
    pub svc: Arc<PipelineService>,
    pub pipeline: String,
    pub execution_id: String,
    pub stage: String,
    pub action_id: String,
    pub declaration: ActionDeclaration,
    /// The configuration with every variable reference resolved.
    pub config: BTreeMap<String, String>,
    pub inputs: Vec<(String, ArtifactLoc)>,
    /// Where each output artifact goes (chosen when the action started, kept across restarts).
    pub outputs: Vec<(String, ArtifactLoc)>,
    /// A source revision asked for at the start: `(type, value)`.
    pub source_override: Option<(String, String)>,
    /// The build or deployment already started for this action (after a restart).
    pub external_id: Option<String>,
    /// The node is stopping: providers stop waiting (their work is re-attached later).
    pub stop: tokio_util::sync::CancellationToken,
}

/// Something a running action tells the engine.
#[derive(Debug)]
pub enum Progress {
    /// The external work started (kept so that a restart waits for it).
    Started {
        execution_id: String,
        action_id: String,
        external_id: String,
        url: Option<String>,
    },
    /// The action ended.
    Finished {
        execution_id: String,
        action_id: String,
        result: ActionResult,
    },
}

/// How an action ended.
#[derive(Debug, Default)]
pub struct ActionResult {
    pub succeeded: bool,
    pub summary: Option<String>,
    pub error: Option<(String, String)>,
    pub external_id: Option<String>,
    pub outputs: Vec<(String, ArtifactLoc)>,
    pub variables: BTreeMap<String, String>,
    pub source_revision: Option<SourceRev>,
    /// The node stopped while the provider waited: nothing is recorded.
    pub interrupted: bool,
}

impl ActionResult {
    pub(crate) fn interrupted() -> Self {
        Self {
            interrupted: true,
            ..Default::default()
        }
    }

    pub fn failed(code: &str, message: impl Into<String>) -> Self {
        Self {
            succeeded: false,
            error: Some((code.to_owned(), message.into())),
            ..Default::default()
        }
    }
}

/// A fresh object key for output artifact `name` of `pipeline`, laid out as AWS does:
/// `<pipeline, ≤20>/<artifact, ≤20>/<7 random characters>`.
pub fn output_key(bucket: &str, pipeline: &str, name: &str) -> ArtifactLoc {
    let cut = |s: &str| s.chars().take(20).collect::<String>();
    let id: String = uuid::Uuid::new_v4().simple().to_string()[..7].to_owned();
    ArtifactLoc {
        bucket: bucket.to_owned(),
        key: format!("{}/{}/{id}", cut(pipeline), cut(name)),
    }
}

impl ActionJob {
    /// Records the external work's id at once, so that a restart re-attaches to it.
    pub(crate) async fn started(&self, external_id: &str, url: Option<String>) {
        let progress = Progress::Started {
            execution_id: self.execution_id.clone(),
            action_id: self.action_id.clone(),
            external_id: external_id.to_owned(),
            url,
        };
        if let Err(e) = self.svc.apply(&self.pipeline, progress).await {
            tracing::warn!(error = %e.message, "recording an action's external id");
        }
    }

    /// Waits until `ended` says some build, deployment or job ended (or one poll interval, in
    /// case a notice was missed); `false` when the node is stopping instead.
    pub(crate) async fn pause_until(
        &self,
        ended: &mut tokio::sync::broadcast::Receiver<String>,
    ) -> bool {
        let notice = async {
            let _ = ended.recv().await;
        };
        tokio::select! {
            _ = notice => true,
            _ = tokio::time::sleep(POLL) => true,
            _ = self.stop.cancelled() => false,
        }
    }

    /// A request context acting for the pipeline (builds show it as their initiator).
    pub(crate) fn context(&self) -> ferry_wire::RequestContext {
        self.svc.context(&self.pipeline)
    }
}

/// Runs one action to its end; `None` when the node stopped first.
pub async fn run(job: ActionJob) -> Option<ActionResult> {
    let t = &job.declaration.action_type_id;
    if t.owner != ActionOwner::Aws {
        return Some(custom::run(&job).await).filter(|r| !r.interrupted);
    }
    match (&t.category, t.provider.as_str()) {
        (ActionCategory::Source, "CodeCommit") => Some(codecommit::run(&job).await),
        (ActionCategory::Source, "S3") => Some(s3::source(&job).await),
        (ActionCategory::Deploy, "S3") => Some(s3::deploy(&job).await),
        (ActionCategory::Build | ActionCategory::Test, "CodeBuild") => {
            Some(codebuild::run(&job).await).filter(|r| !r.interrupted)
        }
        (ActionCategory::Compute, "Commands") => {
            Some(commands::run(&job).await).filter(|r| !r.interrupted)
        }
        (ActionCategory::Deploy, "CodeDeploy") => {
            Some(codedeploy::run(&job).await).filter(|r| !r.interrupted)
        }
        _ => Some(ActionResult::failed(
            "JobFailed",
            format!(
                "Ferry does not run {}/{}/{} actions",
                t.category.as_str(),
                t.owner.as_str(),
                t.provider
            ),
        )),
    }
}

/// The action types Ferry runs, as ListActionTypes shows them.
pub fn action_types() -> Vec<ferry_model::codepipeline::ActionType> {
    use ferry_model::codepipeline::{
        ActionConfigurationProperty, ActionType, ActionTypeId, ArtifactDetails,
    };
    let property =
        |name: &str, required: bool, key: bool, description: &str| ActionConfigurationProperty {
            name: name.to_owned(),
            required,
            key,
            secret: false,
            queryable: Some(false),
            description: Some(description.to_owned()),
            r#type: None,
        };
    let kind = |category: ActionCategory,
                provider: &str,
                props: Vec<ActionConfigurationProperty>,
                ins: (i32, i32),
                outs: (i32, i32)| ActionType {
        id: ActionTypeId {
            category,
            owner: ActionOwner::Aws,
            provider: provider.to_owned(),
            version: "1".to_owned(),
        },
        settings: None,
        action_configuration_properties: Some(props),
        input_artifact_details: ArtifactDetails {
            minimum_count: ins.0,
            maximum_count: ins.1,
        },
        output_artifact_details: ArtifactDetails {
            minimum_count: outs.0,
            maximum_count: outs.1,
        },
    };
    let build_props = || {
        vec![
            property("ProjectName", true, true, "The CodeBuild project"),
            property(
                "PrimarySource",
                false,
                false,
                "The input artifact that holds the buildspec",
            ),
            property(
                "EnvironmentVariables",
                false,
                false,
                "A JSON list of name, value and type",
            ),
            property(
                "BatchEnabled",
                false,
                false,
                "true: run a batch build (StartBuildBatch)",
            ),
            property(
                "CombineArtifacts",
                false,
                false,
                "With BatchEnabled: one output artifact holding every build's artifacts",
            ),
        ]
    };
    vec![
        kind(
            ActionCategory::Source,
            "CodeCommit",
            vec![
                property("RepositoryName", true, true, "The Ferry repository"),
                property("BranchName", true, true, "The branch to watch"),
                property(
                    "PollForSourceChanges",
                    false,
                    false,
                    "Accepted; pushes start executions at once",
                ),
                property(
                    "OutputArtifactFormat",
                    false,
                    false,
                    "CODE_ZIP (a zip of the tree) or CODEBUILD_CLONE_REF (a reference CodeBuild clones)",
                ),
            ],
            (0, 0),
            (1, 1),
        ),
        kind(
            ActionCategory::Source,
            "S3",
            vec![
                property("S3Bucket", true, true, "The bucket (versioned)"),
                property("S3ObjectKey", true, true, "The zip's key"),
                property("PollForSourceChanges", false, false, "Accepted"),
            ],
            (0, 0),
            (1, 1),
        ),
        kind(
            ActionCategory::Deploy,
            "S3",
            vec![
                property("BucketName", true, true, "The bucket to deploy to"),
                property(
                    "Extract",
                    true,
                    false,
                    "true: unpack the artifact; false: store it whole",
                ),
                property(
                    "ObjectKey",
                    false,
                    false,
                    "The key (Extract false) or key prefix (Extract true)",
                ),
            ],
            (1, 1),
            (0, 0),
        ),
        kind(
            ActionCategory::Build,
            "CodeBuild",
            build_props(),
            (1, 5),
            (0, 5),
        ),
        kind(
            ActionCategory::Test,
            "CodeBuild",
            build_props(),
            (1, 5),
            (0, 5),
        ),
        kind(
            ActionCategory::Deploy,
            "CodeDeploy",
            vec![
                property("ApplicationName", true, true, "The CodeDeploy application"),
                property("DeploymentGroupName", true, true, "The deployment group"),
            ],
            (1, 1),
            (0, 0),
        ),
        kind(ActionCategory::Compute, "Commands", vec![], (1, 10), (0, 1)),
        kind(
            ActionCategory::Approval,
            "Manual",
            vec![
                property("CustomData", false, false, "Text shown to reviewers"),
                property("ExternalEntityLink", false, false, "A link for reviewers"),
                property(
                    "NotificationArn",
                    false,
                    false,
                    "Accepted; no notification is sent",
                ),
            ],
            (0, 0),
            (0, 0),
        ),
    ]
}
