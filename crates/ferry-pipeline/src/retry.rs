//! RetryStageExecution: a failed stage of the latest execution to reach it runs again in the
//! same execution, either only its failed actions (`FAILED_ACTIONS`: the actions that succeeded
//! keep their results, later runOrder groups follow as usual) or from its first runOrder group
//! (`ALL_ACTIONS`). Refused when the stage did not fail, the pipeline's structure changed since
//! the execution started, or another execution entered the stage since.

use ferry_model::codepipeline::StageRetryMode;
use ferry_wire::AwsError;

use crate::record::{ActionRecord, ExecRecord, Position, StageRecord, status};
use crate::service::{PipelineService, now_ms};

fn not_retryable(message: impl Into<String>) -> AwsError {
    AwsError::new("StageNotRetryableException", message)
}

impl PipelineService {
    /// Retries stage `stage` of execution `id`; see the module header.
    pub async fn retry_stage(
        &self,
        pipeline: &str,
        stage: &str,
        id: &str,
        mode: StageRetryMode,
        automatic: bool,
    ) -> Result<(), AwsError> {
        let lock = self.lock(pipeline);
        let _guard = lock.lock().await;
        let (version, stored) = self.stored(pipeline).await?;
        let Some(index) = stored.pipeline.stages.iter().position(|s| s.name == stage) else {
            return Err(AwsError::new(
                "StageNotFoundException",
                format!("Stage {stage} does not exist in pipeline {pipeline}"),
            ));
        };
        let all = self.records(pipeline, false).await?;
        let Some(mut e) = all.iter().find(|e| e.id == id).cloned() else {
            return Err(AwsError::new(
                "PipelineExecutionNotFoundException",
                format!("Pipeline execution {id} does not exist in pipeline {pipeline}"),
            ));
        };
        retry_in_place(
            &mut e,
            &all,
            stage,
            index,
            version,
            mode,
            automatic,
            now_ms(),
        )?;
        self.save(&e).await?;
        drop(_guard);
        self.poke(pipeline);
        Ok(())
    }
}

/// Turns execution `e`, failed in stage `stage` (at `index`), into its retry: the stage runs
/// again as `mode` says and the execution is in progress again. `all` holds every execution
/// of the pipeline (`e`'s stored self among them) and `version` the pipeline's current one.
/// Refused as the module header says; `e` is unchanged then.
#[allow(clippy::too_many_arguments)]
pub(crate) fn retry_in_place(
    e: &mut ExecRecord,
    all: &[ExecRecord],
    stage: &str,
    index: usize,
    version: i64,
    mode: StageRetryMode,
    automatic: bool,
    now: i64,
) -> Result<(), AwsError> {
    let entered_later = all.iter().any(|other| {
        other.id != e.id
            && other.stage(stage).is_some()
            && other
                .actions()
                .filter(|a| a.stage == stage)
                .map(|a| a.started_ms)
                .max()
                > e.actions()
                    .filter(|a| a.stage == stage)
                    .map(|a| a.started_ms)
                    .max()
    });
    if entered_later {
        return Err(AwsError::new(
            "NotLatestPipelineExecutionException",
            format!("A newer execution entered stage {stage}: only the latest can be retried"),
        ));
    }
    if e.pipeline_version != version {
        return Err(not_retryable(
            "The pipeline's structure changed since this execution started",
        ));
    }
    let failed = e.stage(stage).is_some_and(|s| s.status == status::FAILED)
        && e.status == status::FAILED
        && e.position == Position::Done;
    if !failed {
        return Err(not_retryable(format!(
            "Stage {stage} of execution {} did not fail, or a retry is already running",
            e.id
        )));
    }
    let busy = all.iter().any(|other| {
        other.id != e.id
            && !other.is_final()
            && other.position == Position::Running { stage: index }
            && e.execution_mode != "PARALLEL"
    });
    if busy {
        return Err(not_retryable(format!(
            "Another execution is running stage {stage}"
        )));
    }
    let previous = e.stage(stage).cloned().unwrap_or_default();
    let actions = match mode {
        StageRetryMode::AllActions => Vec::new(),
        StageRetryMode::FailedActions => previous
            .actions
            .iter()
            .map(|a| {
                if a.status == status::SUCCEEDED {
                    a.clone()
                } else {
                    ActionRecord {
                        id: uuid::Uuid::new_v4().to_string(),
                        stage: a.stage.clone(),
                        name: a.name.clone(),
                        run_order: a.run_order,
                        status: status::IN_PROGRESS.into(),
                        started_ms: now,
                        updated_ms: now,
                        ..Default::default()
                    }
                }
            })
            .collect(),
    };
    e.stages.push(StageRecord {
        name: stage.to_owned(),
        status: status::IN_PROGRESS.into(),
        actions,
    });
    e.status = status::IN_PROGRESS.into();
    e.status_summary = None;
    if automatic {
        e.auto_retries += 1;
    }
    e.position = Position::Running { stage: index };
    e.updated_ms = now;
    Ok(())
}
