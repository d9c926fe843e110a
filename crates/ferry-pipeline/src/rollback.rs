//! Stage rollback (V2): a new execution of type `ROLLBACK` that re-runs one stage with the
//! artifacts and variables of an earlier execution that succeeded in it, then ends. Started by
//! RollbackStage (`ManualRollback`) or by a stage whose `onFailure` result is `ROLLBACK` when it
//! fails (`AutomatedRollback`, to the latest execution that succeeded in the stage; nothing
//! happens when there is none).

use std::collections::BTreeMap;

use ferry_model::codepipeline::ExecutionMode;
use ferry_wire::AwsError;

use crate::record::{ExecRecord, Position, status};
use crate::service::{PipelineService, now_ms};

fn unable(message: impl Into<String>) -> AwsError {
    AwsError::new("UnableToRollbackStageException", message)
}

impl PipelineService {
    /// Rolls `stage` back to execution `target` (any succeeded one when `target` is `None`);
    /// returns the new execution's id, or `None` when there is nothing to roll back to.
    pub async fn rollback_stage(
        &self,
        pipeline: &str,
        stage: &str,
        target: Option<&str>,
        trigger: &str,
    ) -> Result<Option<String>, AwsError> {
        let (version, stored) = self.stored(pipeline).await?;
        let decl = &stored.pipeline;
        let Some(index) = decl.stages.iter().position(|s| s.name == stage) else {
            return Err(AwsError::new(
                "StageNotFoundException",
                format!("Stage {stage} does not exist in pipeline {pipeline}"),
            ));
        };
        if index == 0 {
            return Err(unable("The source stage cannot be rolled back"));
        }
        if crate::step::mode_of(decl) == ExecutionMode::Parallel {
            return Err(unable("Stages of PARALLEL pipelines cannot be rolled back"));
        }
        let all = self.records(pipeline, false).await?;
        let succeeded_here = |e: &&ExecRecord| {
            e.stage(stage)
                .is_some_and(|s| s.status == status::SUCCEEDED)
        };
        let chosen = match target {
            Some(id) => {
                let Some(t) = all.iter().find(|e| e.id == id) else {
                    return Err(AwsError::new(
                        "PipelineExecutionNotFoundException",
                        format!("Pipeline execution {id} does not exist in pipeline {pipeline}"),
                    ));
                };
                if !succeeded_here(&t) {
                    return Err(unable(format!(
                        "Execution {id} did not succeed in stage {stage}"
                    )));
                }
                if t.execution_type == "ROLLBACK" {
                    return Err(unable(
                        "A rollback execution cannot be the target of a rollback",
                    ));
                }
                if t.pipeline_version != version {
                    return Err(AwsError::new(
                        "PipelineExecutionOutdatedException",
                        format!("Execution {id} ran an earlier version of the pipeline"),
                    ));
                }
                t.clone()
            }
            None => match all
                .iter()
                .filter(succeeded_here)
                .find(|e| e.execution_type != "ROLLBACK" && e.pipeline_version == version)
            {
                Some(t) => t.clone(),
                None => return Ok(None),
            },
        };
        let now = now_ms();
        let e = ExecRecord {
            id: uuid::Uuid::new_v4().to_string(),
            pipeline: pipeline.to_owned(),
            pipeline_version: version,
            status: status::IN_PROGRESS.into(),
            status_summary: None,
            trigger_type: trigger.to_owned(),
            trigger_detail: Some(chosen.id.clone()),
            execution_mode: crate::step::mode_of(decl).as_str().to_owned(),
            started_ms: now,
            updated_ms: now,
            position: Position::Waiting { stage: index },
            stages: Vec::new(),
            artifacts: chosen.artifacts.clone(),
            variables: chosen.variables.clone(),
            pipeline_variables: chosen.pipeline_variables.clone(),
            source_overrides: BTreeMap::new(),
            source_revisions: chosen.source_revisions.clone(),
            stop: None,
            execution_type: "ROLLBACK".into(),
            rollback_target: Some(chosen.id.clone()),
            only_stage: Some(index),
            auto_retries: 0,
        };
        {
            let lock = self.lock(pipeline);
            let _guard = lock.lock().await;
            self.save(&e).await?;
        }
        self.poke(pipeline);
        Ok(Some(e.id))
    }
}
