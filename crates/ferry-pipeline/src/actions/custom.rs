//! Custom actions, run by external job workers: the action execution becomes a job of its
//! action type (JobData with the resolved configuration, the pipeline context, the input and
//! output artifacts' S3 locations and short-lived credentials for them); a worker takes it with
//! PollForJobs and AcknowledgeJob and ends it with PutJobSuccessResult or PutJobFailureResult
//! (`jobs.rs`). A success with a continuation token hands the worker a new job for the same
//! action execution. The job id is the action's external id until the worker names its own.

use ferry_model::codepipeline::{
    AWSSessionCredentials, ActionCategory, ActionConfiguration, ActionContext, Artifact,
    ArtifactLocation, ArtifactLocationType, JobData, PipelineContext, S3ArtifactLocation,
    StageContext,
};
use ferry_store::pipeline_jobs::JobRow;

use super::{ActionJob, ActionResult};
use crate::jobs::{JobResult, type_key};
use crate::record::{ArtifactLoc, SourceRev};
use crate::service::now_ms;

/// How long the artifact credentials a job carries last.
const CREDENTIALS_SECONDS: i64 = 3600;

fn artifacts(list: &[(String, ArtifactLoc)], revision: Option<&str>) -> Vec<Artifact> {
    list.iter()
        .map(|(name, loc)| Artifact {
            name: Some(name.clone()),
            revision: revision.map(str::to_owned),
            location: Some(ArtifactLocation {
                r#type: Some(ArtifactLocationType::S3),
                s3_location: Some(S3ArtifactLocation {
                    bucket_name: loc.bucket.clone(),
                    object_key: loc.key.clone(),
                }),
            }),
        })
        .collect()
}

/// Creates a job for the action (with `continuation` from the worker's last success).
async fn create(job: &ActionJob, continuation: Option<String>) -> Result<String, ActionResult> {
    let svc = &job.svc;
    let id = uuid::Uuid::new_v4().to_string();
    let principal = ferry_store::identity::Principal {
        user_name: format!("codepipeline-job-{id}"),
        arn: format!(
            "arn:aws:sts::{}:assumed-role/codepipeline/{}",
            svc.settings.account_id, job.pipeline
        ),
    };
    let session = svc
        .store
        .create_session(&principal, CREDENTIALS_SECONDS)
        .await
        .map_err(|e| ActionResult::failed("JobFailed", format!("artifact credentials: {e}")))?;
    let stage = job.stage.clone();
    let data = JobData {
        action_type_id: Some(job.declaration.action_type_id.clone()),
        action_configuration: Some(ActionConfiguration {
            configuration: Some(job.config.clone()),
        }),
        pipeline_context: Some(PipelineContext {
            pipeline_name: Some(job.pipeline.clone()),
            stage: Some(StageContext { name: Some(stage) }),
            action: Some(ActionContext {
                name: Some(job.declaration.name.clone()),
                action_execution_id: Some(job.action_id.clone()),
            }),
            pipeline_arn: Some(svc.arn(&job.pipeline)),
            pipeline_execution_id: Some(job.execution_id.clone()),
        }),
        input_artifacts: Some(artifacts(&job.inputs, None)),
        // A source started from a given revision (PutActionRevision) hands it to the worker.
        output_artifacts: Some(artifacts(
            &job.outputs,
            job.source_override.as_ref().map(|(_, v)| v.as_str()),
        )),
        artifact_credentials: Some(AWSSessionCredentials {
            access_key_id: session.access_key_id,
            secret_access_key: session.secret_access_key,
            session_token: session.session_token,
        }),
        continuation_token: continuation,
        encryption_key: None,
    };
    let now = now_ms();
    let row = JobRow {
        job_id: id.clone(),
        type_key: type_key(&job.declaration.action_type_id),
        status: "Created".into(),
        nonce: uuid::Uuid::new_v4().simple().to_string(),
        pipeline: job.pipeline.clone(),
        execution_id: job.execution_id.clone(),
        action_id: job.action_id.clone(),
        created_ms: now,
        updated_ms: now,
        document: serde_json::to_string(&data).unwrap_or_default(),
        result: None,
    };
    svc.store
        .create_job(&row)
        .await
        .map_err(|e| ActionResult::failed("JobFailed", format!("creating the job: {e}")))?;
    job.started(&id, None).await;
    Ok(id)
}

pub(super) async fn run(job: &ActionJob) -> ActionResult {
    let mut ended = job.svc.jobs_done.subscribe();
    let mut id = match &job.external_id {
        Some(id) => id.clone(),
        None => match create(job, None).await {
            Ok(id) => id,
            Err(r) => return r,
        },
    };
    loop {
        let row = match job.svc.store.job(&id).await {
            Ok(Some(r)) => r,
            Ok(None) => return ActionResult::failed("JobFailed", format!("The job {id} is gone")),
            Err(e) => return ActionResult::failed("JobFailed", e.to_string()),
        };
        let result: Option<JobResult> = row
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok());
        match (row.status.as_str(), result) {
            ("Succeeded", Some(r)) => {
                if let Some(token) = r.continuation_token {
                    id = match create(job, Some(token)).await {
                        Ok(next) => next,
                        Err(r) => return r,
                    };
                    continue;
                }
                let source = job.declaration.action_type_id.category == ActionCategory::Source;
                let revision = r
                    .revision
                    .clone()
                    .or_else(|| job.source_override.as_ref().map(|(_, v)| (v.clone(), None)));
                return ActionResult {
                    succeeded: true,
                    source_revision: revision.filter(|_| source).map(|(id, summary)| SourceRev {
                        action_name: job.declaration.name.clone(),
                        revision_id: id,
                        revision_summary: summary.or_else(|| r.summary.clone()),
                    }),
                    summary: r.summary,
                    external_id: r.external_id.or(Some(id)),
                    outputs: job.outputs.clone(),
                    variables: r.variables,
                    ..Default::default()
                };
            }
            ("Failed", r) => {
                let r = r.unwrap_or_default();
                let mut out = ActionResult::failed(
                    r.failure_type.as_deref().unwrap_or("JobFailed"),
                    r.message
                        .unwrap_or_else(|| "The job worker reported a failure".into()),
                );
                out.external_id = r.external_id.or(Some(id));
                return out;
            }
            _ => {
                if !job.pause_until(&mut ended).await {
                    return ActionResult::interrupted();
                }
            }
        }
    }
}
