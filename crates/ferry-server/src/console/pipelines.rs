//! Pipeline pages: the pipelines with their latest execution, and a pipeline drawn as its
//! stages and actions with their latest status, kept up to date without a reload (the page's
//! script polls `…/state`, a JSON view of GetPipelineState), with the execution history, the
//! approve and reject buttons of a waiting manual approval, retry of a failed stage, and the
//! switch of each stage's inbound transition. Every action is a CSRF-checked form, carried
//! out through the CodePipeline API face with the session's context.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use ferry_model::codepipeline::*;
use ferry_wire::{AwsError, RequestContext};
use serde::{Deserialize, Serialize};
use std::result::Result;

use super::view::{Page, failed, message, render, segment, when};
use super::{Session, authorize};
use crate::state::SharedState;

/// Executions shown in a pipeline's history.
const HISTORY: i32 = 20;

#[derive(Serialize)]
struct Row {
    name: String,
    version: Option<i32>,
    latest: Option<String>,
    updated: String,
}

pub async fn list(State(st): State<SharedState>, session: Session) -> Response {
    let ctx = authorize(&st, &session, "codepipeline:ListPipelines");
    let mut rows = Vec::new();
    let mut token = None;
    loop {
        let out = match st
            .pipelines
            .list_pipelines(
                &ctx,
                ListPipelinesInput {
                    next_token: token,
                    max_results: None,
                },
            )
            .await
        {
            Ok(o) => o,
            Err(e) => return failed(&session, e),
        };
        for p in out.pipelines.unwrap_or_default() {
            let name = p.name.unwrap_or_default();
            let latest = st
                .pipelines
                .list_pipeline_executions(
                    &ctx,
                    ListPipelineExecutionsInput {
                        pipeline_name: name.clone(),
                        max_results: Some(1),
                        ..Default::default()
                    },
                )
                .await
                .ok()
                .and_then(|o| o.pipeline_execution_summaries)
                .and_then(|s| s.into_iter().next())
                .and_then(|s| s.status)
                .map(|s| s.to_string());
            rows.push(Row {
                name,
                version: p.version,
                latest,
                updated: when(p.updated),
            });
        }
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    render(
        "pipelines.html",
        Page::of(&session, "Pipelines")
            .with("section", "pipelines")
            .with("pipelines", rows),
    )
}

/// One action as drawn.
#[derive(Serialize)]
struct ActionView {
    name: String,
    status: Option<String>,
    summary: Option<String>,
    error: Option<String>,
    /// The token of a manual approval waiting for an answer.
    approval: Option<String>,
}

/// One stage as drawn.
#[derive(Serialize)]
struct StageView {
    name: String,
    status: Option<String>,
    execution: Option<String>,
    inbound_enabled: bool,
    actions: Vec<ActionView>,
}

async fn stages(
    st: &SharedState,
    ctx: &RequestContext,
    name: &str,
) -> Result<Vec<StageView>, AwsError> {
    let state = st
        .pipelines
        .get_pipeline_state(
            ctx,
            GetPipelineStateInput {
                name: name.to_owned(),
            },
        )
        .await?;
    Ok(state
        .stage_states
        .unwrap_or_default()
        .into_iter()
        .map(|s| StageView {
            name: s.stage_name.unwrap_or_default(),
            status: s.latest_execution.as_ref().map(|e| e.status.to_string()),
            execution: s.latest_execution.map(|e| e.pipeline_execution_id),
            inbound_enabled: s
                .inbound_transition_state
                .and_then(|t| t.enabled)
                .unwrap_or(true),
            actions: s
                .action_states
                .unwrap_or_default()
                .into_iter()
                .map(|a| {
                    let e = a.latest_execution.unwrap_or_default();
                    let status = e.status.map(|s| s.to_string());
                    ActionView {
                        name: a.action_name.unwrap_or_default(),
                        approval: e.token.filter(|_| status.as_deref() == Some("InProgress")),
                        status,
                        summary: e.summary,
                        error: e.error_details.and_then(|d| d.message),
                    }
                })
                .collect(),
        })
        .collect())
}

#[derive(Serialize)]
struct ExecutionRow {
    id: String,
    status: String,
    trigger: String,
    started: String,
    summary: Option<String>,
}

pub async fn pipeline(
    State(st): State<SharedState>,
    session: Session,
    Path(name): Path<String>,
) -> Response {
    let ctx = authorize(&st, &session, "codepipeline:GetPipelineState");
    let stages = match stages(&st, &ctx, &name).await {
        Ok(s) => s,
        Err(e) => return failed(&session, e),
    };
    let history: Vec<ExecutionRow> = st
        .pipelines
        .list_pipeline_executions(
            &ctx,
            ListPipelineExecutionsInput {
                pipeline_name: name.clone(),
                max_results: Some(HISTORY),
                ..Default::default()
            },
        )
        .await
        .ok()
        .and_then(|o| o.pipeline_execution_summaries)
        .unwrap_or_default()
        .into_iter()
        .map(|e| ExecutionRow {
            id: e.pipeline_execution_id.unwrap_or_default(),
            status: e.status.map(|s| s.to_string()).unwrap_or_default(),
            trigger: e
                .trigger
                .and_then(|t| t.trigger_type)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            started: when(e.start_time),
            summary: e.status_summary,
        })
        .collect();
    render(
        "pipeline.html",
        Page::of(&session, &format!("{name} · pipelines"))
            .with("section", "pipelines")
            .with("pipeline", &name)
            .with("stages", stages)
            .with("history", history),
    )
}

/// The stages' state as JSON, for the page's script.
pub async fn state(
    State(st): State<SharedState>,
    session: Session,
    Path(name): Path<String>,
) -> Response {
    let ctx = authorize(&st, &session, "codepipeline:GetPipelineState");
    match stages(&st, &ctx, &name).await {
        Ok(s) => (
            [
                (CONTENT_TYPE, "application/json"),
                (CACHE_CONTROL, "no-store"),
            ],
            serde_json::to_string(&s).unwrap_or_default(),
        )
            .into_response(),
        Err(e) => failed(&session, e),
    }
}

#[derive(Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    stage: String,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    execution: Option<String>,
    /// `approve`, `reject`, `retry`, `enable` or `disable`.
    what: String,
}

pub async fn act(
    State(st): State<SharedState>,
    session: Session,
    Path(name): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Some(refused) = session.refusal(&f.csrf) {
        return refused;
    }
    let api = &st.pipelines;
    let done = match f.what.as_str() {
        "approve" | "reject" => {
            let ctx = authorize(&st, &session, "codepipeline:PutApprovalResult");
            let approve = f.what == "approve";
            api.put_approval_result(
                &ctx,
                PutApprovalResultInput {
                    pipeline_name: name.clone(),
                    stage_name: f.stage.clone(),
                    action_name: f.action.clone().unwrap_or_default(),
                    result: ApprovalResult {
                        summary: format!(
                            "{} by {} in the console",
                            if approve { "Approved" } else { "Rejected" },
                            session.user_name
                        ),
                        status: if approve {
                            ApprovalStatus::Approved
                        } else {
                            ApprovalStatus::Rejected
                        },
                    },
                    token: f.token.clone().unwrap_or_default(),
                },
            )
            .await
            .map(|_| ())
        }
        "retry" => {
            let ctx = authorize(&st, &session, "codepipeline:RetryStageExecution");
            api.retry_stage_execution(
                &ctx,
                RetryStageExecutionInput {
                    pipeline_name: name.clone(),
                    stage_name: f.stage.clone(),
                    pipeline_execution_id: f.execution.clone().unwrap_or_default(),
                    retry_mode: StageRetryMode::FailedActions,
                },
            )
            .await
            .map(|_| ())
        }
        "enable" => {
            let ctx = authorize(&st, &session, "codepipeline:EnableStageTransition");
            api.enable_stage_transition(
                &ctx,
                EnableStageTransitionInput {
                    pipeline_name: name.clone(),
                    stage_name: f.stage.clone(),
                    transition_type: StageTransitionType::Inbound,
                },
            )
            .await
            .map(|_| ())
        }
        "disable" => {
            let ctx = authorize(&st, &session, "codepipeline:DisableStageTransition");
            api.disable_stage_transition(
                &ctx,
                DisableStageTransitionInput {
                    pipeline_name: name.clone(),
                    stage_name: f.stage.clone(),
                    transition_type: StageTransitionType::Inbound,
                    reason: format!("Disabled by {} in the console", session.user_name),
                },
            )
            .await
            .map(|_| ())
        }
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                Some(&session),
                "Not possible",
                "Unknown action",
            );
        }
    };
    match done {
        Ok(()) => Redirect::to(&format!("/console/pipelines/{}", segment(&name))).into_response(),
        Err(e) => failed(&session, e),
    }
}
