//! The API's views of execution records: PipelineExecution, PipelineExecutionSummary,
//! GetPipelineState's stage and action states, and ListActionExecutions' details.

use std::collections::BTreeMap;

use ferry_model::codepipeline::*;
use ferry_types::Timestamp;
use serde::de::DeserializeOwned;

use crate::record::{ActionRecord, ArtifactLoc, ExecRecord, Position};

/// A model enum from its wire string.
pub(crate) fn wire<T: DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn trigger(e: &ExecRecord) -> ExecutionTrigger {
    ExecutionTrigger {
        trigger_type: wire(&e.trigger_type),
        trigger_detail: e.trigger_detail.clone(),
    }
}

fn source_revisions(e: &ExecRecord) -> Vec<SourceRevision> {
    e.source_revisions
        .iter()
        .map(|r| SourceRevision {
            action_name: r.action_name.clone(),
            revision_id: Some(r.revision_id.clone()),
            revision_summary: r.revision_summary.clone(),
            revision_url: None,
        })
        .collect()
}

/// GetPipelineExecution's view.
pub fn execution(e: &ExecRecord) -> PipelineExecution {
    PipelineExecution {
        pipeline_name: Some(e.pipeline.clone()),
        pipeline_version: Some(e.pipeline_version as i32),
        pipeline_execution_id: Some(e.id.clone()),
        status: wire(&e.status),
        status_summary: e.status_summary.clone(),
        artifact_revisions: Some(
            e.source_revisions
                .iter()
                .map(|r| {
                    let name = e
                        .actions()
                        .find(|a| a.name == r.action_name)
                        .and_then(|a| a.output_artifacts.first().map(|(n, _)| n.clone()));
                    ArtifactRevision {
                        name,
                        revision_id: Some(r.revision_id.clone()),
                        revision_summary: r.revision_summary.clone(),
                        ..Default::default()
                    }
                })
                .collect(),
        ),
        variables: Some(
            e.pipeline_variables
                .iter()
                .map(|(k, v)| ResolvedPipelineVariable {
                    name: Some(k.clone()),
                    resolved_value: Some(v.clone()),
                })
                .collect(),
        ),
        trigger: Some(trigger(e)),
        execution_mode: wire(&e.execution_mode),
        execution_type: wire(&e.execution_type),
        rollback_metadata: e
            .rollback_target
            .as_ref()
            .map(|t| PipelineRollbackMetadata {
                rollback_target_pipeline_execution_id: Some(t.clone()),
            }),
    }
}

/// ListPipelineExecutions' view.
pub fn summary(e: &ExecRecord) -> PipelineExecutionSummary {
    PipelineExecutionSummary {
        pipeline_execution_id: Some(e.id.clone()),
        status: wire(&e.status),
        status_summary: e.status_summary.clone(),
        start_time: Some(at(e.started_ms)),
        last_update_time: Some(at(e.updated_ms)),
        source_revisions: Some(source_revisions(e)),
        trigger: Some(trigger(e)),
        stop_trigger: e.stop.as_ref().map(|(_, reason)| StopExecutionTrigger {
            reason: reason.clone(),
        }),
        execution_mode: wire(&e.execution_mode),
        execution_type: wire(&e.execution_type),
        rollback_metadata: e
            .rollback_target
            .as_ref()
            .map(|t| PipelineRollbackMetadata {
                rollback_target_pipeline_execution_id: Some(t.clone()),
            }),
    }
}

fn error_details(a: &ActionRecord) -> Option<ErrorDetails> {
    a.error_message.as_ref().map(|m| ErrorDetails {
        code: a.error_code.clone(),
        message: Some(m.clone()),
    })
}

fn action_execution(a: &ActionRecord) -> ActionExecution {
    ActionExecution {
        action_execution_id: Some(a.id.clone()),
        status: wire(&a.status),
        summary: a.summary.clone(),
        last_status_change: Some(at(a.updated_ms)),
        token: a.token.clone(),
        last_updated_by: a.updated_by.clone(),
        external_execution_id: a.external_id.clone(),
        external_execution_url: a.external_url.clone(),
        percent_complete: None,
        error_details: error_details(a),
        log_stream_arn: None,
    }
}

/// GetPipelineState's stages: for each stage of `decl`, the latest execution that entered it
/// with its actions' latest executions, who waits before it, and its inbound transition.
pub fn stage_states(
    decl: &PipelineDeclaration,
    execs: &[ExecRecord],
    transitions: &BTreeMap<String, TransitionState>,
) -> Vec<StageState> {
    // `execs` is newest first.
    decl.stages
        .iter()
        .enumerate()
        .map(|(index, stage)| {
            let entered = execs
                .iter()
                .filter_map(|e| e.stage(&stage.name).map(|s| (e, s)))
                .max_by_key(|(e, s)| {
                    (
                        s.actions
                            .iter()
                            .map(|a| a.started_ms)
                            .max()
                            .unwrap_or(e.started_ms),
                        e.started_ms,
                    )
                });
            let waiting: Vec<StageExecution> = execs
                .iter()
                .filter(|e| e.position == Position::Waiting { stage: index })
                .map(|e| StageExecution {
                    pipeline_execution_id: e.id.clone(),
                    status: StageExecutionStatus::InProgress,
                    r#type: Some(ExecutionType::Standard),
                })
                .collect();
            let action_states = stage
                .actions
                .iter()
                .map(|a| {
                    let latest = execs
                        .iter()
                        .flat_map(|e| e.actions())
                        .filter(|r| r.stage == stage.name && r.name == a.name)
                        .max_by_key(|r| r.started_ms);
                    ActionState {
                        action_name: Some(a.name.clone()),
                        current_revision: None,
                        latest_execution: latest.map(action_execution),
                        entity_url: None,
                        revision_url: None,
                    }
                })
                .collect();
            StageState {
                stage_name: Some(stage.name.clone()),
                inbound_execution: waiting.first().cloned(),
                inbound_executions: (!waiting.is_empty()).then_some(waiting),
                inbound_transition_state: Some(transitions.get(&stage.name).cloned().unwrap_or(
                    TransitionState {
                        enabled: Some(true),
                        ..Default::default()
                    },
                )),
                action_states: Some(action_states),
                latest_execution: entered.map(|(e, s)| StageExecution {
                    pipeline_execution_id: e.id.clone(),
                    status: wire(&s.status).unwrap_or(StageExecutionStatus::InProgress),
                    r#type: Some(ExecutionType::Standard),
                }),
                ..Default::default()
            }
        })
        .collect()
}

fn artifact_details(list: &[(String, ArtifactLoc)]) -> Vec<ArtifactDetail> {
    list.iter()
        .map(|(n, loc)| ArtifactDetail {
            name: Some(n.clone()),
            s3location: Some(S3Location {
                bucket: Some(loc.bucket.clone()),
                key: Some(loc.key.clone()),
            }),
        })
        .collect()
}

/// ListActionExecutions' details of one execution, newest first.
pub fn action_details(
    e: &ExecRecord,
    decl: Option<&PipelineDeclaration>,
) -> Vec<ActionExecutionDetail> {
    let mut out: Vec<ActionExecutionDetail> = e
        .actions()
        .map(|a| {
            let declared = decl.and_then(|d| {
                d.stages
                    .iter()
                    .find(|s| s.name == a.stage)
                    .and_then(|s| s.actions.iter().find(|x| x.name == a.name))
            });
            ActionExecutionDetail {
                pipeline_execution_id: Some(e.id.clone()),
                action_execution_id: Some(a.id.clone()),
                pipeline_version: Some(e.pipeline_version as i32),
                stage_name: Some(a.stage.clone()),
                action_name: Some(a.name.clone()),
                start_time: Some(at(a.started_ms)),
                last_update_time: Some(at(a.updated_ms)),
                updated_by: a.updated_by.clone(),
                status: wire(&a.status),
                input: Some(ActionExecutionInput {
                    action_type_id: declared.map(|d| d.action_type_id.clone()),
                    configuration: declared.and_then(|d| d.configuration.clone()),
                    resolved_configuration: Some(a.resolved_configuration.clone()),
                    role_arn: declared.and_then(|d| d.role_arn.clone()),
                    region: None,
                    input_artifacts: Some(artifact_details(&a.input_artifacts)),
                    namespace: declared.and_then(|d| d.namespace.clone()),
                }),
                output: Some(ActionExecutionOutput {
                    output_artifacts: Some(artifact_details(
                        if a.status == crate::record::status::SUCCEEDED {
                            &a.output_artifacts
                        } else {
                            &[]
                        },
                    )),
                    execution_result: Some(ActionExecutionResult {
                        external_execution_id: a.external_id.clone(),
                        external_execution_summary: a.summary.clone(),
                        external_execution_url: a.external_url.clone(),
                        error_details: error_details(a),
                        log_stream_arn: None,
                    }),
                    output_variables: Some(a.output_variables.clone()),
                }),
            }
        })
        .collect();
    out.reverse();
    out
}
