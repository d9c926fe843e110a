//! Deployment pages: applications with their deployment groups; a group with its settings, the
//! instances its tag filters reach (and whether each one's agent has been heard from lately)
//! and its deployments; and a deployment with its overview, error and rollback information,
//! each instance's lifecycle events and, for a failed hook, the script's name, message and log
//! tail, with a stop button while it runs. A running deployment's page refreshes itself (no
//! JavaScript needed). Reads and actions go through the CodeDeploy API face.

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use ferry_model::codedeploy::*;
use serde::Serialize;

use super::session::Csrf;
use super::view::{Page, failed, render, segment, when};
use super::{Session, authorize};
use crate::state::SharedState;

/// Deployments listed for a group.
const SHOWN: usize = 25;
/// An agent heard from within this long counts as healthy.
const HEALTHY_MS: i64 = 120_000;

pub async fn applications(State(st): State<SharedState>, session: Session) -> Response {
    let ctx = authorize(&st, &session, "codedeploy:ListApplications");
    let apps = match st
        .deploys
        .list_applications(&ctx, ListApplicationsInput::default())
        .await
    {
        Ok(o) => o.applications.unwrap_or_default(),
        Err(e) => return failed(&session, e),
    };
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for app in apps {
        let groups = st
            .deploys
            .list_deployment_groups(
                &ctx,
                ListDeploymentGroupsInput {
                    application_name: app.clone(),
                    next_token: None,
                },
            )
            .await
            .ok()
            .and_then(|o| o.deployment_groups)
            .unwrap_or_default();
        rows.push((app, groups));
    }
    rows.sort();
    render(
        "applications.html",
        Page::of(&session, "Deployments")
            .with("section", "deployments")
            .with("applications", rows),
    )
}

#[derive(Serialize)]
struct InstanceRow {
    name: String,
    tags: String,
    healthy: bool,
    seen: String,
}

#[derive(Serialize)]
struct DeploymentRow {
    id: String,
    status: String,
    created: String,
    overview: String,
}

fn overview(o: &Option<DeploymentOverview>) -> String {
    o.as_ref()
        .map(|o| {
            format!(
                "{} succeeded, {} failed, {} in progress, {} pending, {} skipped",
                o.succeeded.unwrap_or(0),
                o.failed.unwrap_or(0),
                o.in_progress.unwrap_or(0),
                o.pending.unwrap_or(0),
                o.skipped.unwrap_or(0)
            )
        })
        .unwrap_or_default()
}

pub async fn group(
    State(st): State<SharedState>,
    session: Session,
    Path((app, group)): Path<(String, String)>,
) -> Response {
    let ctx = authorize(&st, &session, "codedeploy:GetDeploymentGroup");
    let info = match st
        .deploys
        .get_deployment_group(
            &ctx,
            GetDeploymentGroupInput {
                application_name: app.clone(),
                deployment_group_name: group.clone(),
            },
        )
        .await
    {
        Ok(o) => o.deployment_group_info.unwrap_or_default(),
        Err(e) => return failed(&session, e),
    };
    let filters = info
        .on_premises_instance_tag_filters
        .clone()
        .unwrap_or_default();
    let names = st
        .deploys
        .list_on_premises_instances(
            &ctx,
            ListOnPremisesInstancesInput {
                registration_status: Some(RegistrationStatus::Registered),
                tag_filters: (!filters.is_empty()).then(|| filters.clone()),
                next_token: None,
            },
        )
        .await
        .ok()
        .and_then(|o| o.instance_names)
        .unwrap_or_default();
    let now = jiff::Timestamp::now().as_millisecond();
    let mut instances = Vec::new();
    if !filters.is_empty() {
        let infos = st
            .deploys
            .batch_get_on_premises_instances(
                &ctx,
                BatchGetOnPremisesInstancesInput {
                    instance_names: names.clone(),
                },
            )
            .await
            .ok()
            .and_then(|o| o.instance_infos)
            .unwrap_or_default();
        for i in infos {
            let name = i.instance_name.unwrap_or_default();
            let seen = st
                .store
                .instance(&name)
                .await
                .ok()
                .flatten()
                .and_then(|r| r.last_seen_ms);
            instances.push(InstanceRow {
                tags: i
                    .tags
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| {
                        format!(
                            "{}={}",
                            t.key.unwrap_or_default(),
                            t.value.unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                healthy: seen.is_some_and(|s| now - s < HEALTHY_MS),
                seen: seen.map_or_else(
                    || "never".to_owned(),
                    |s| format!("{} s ago", (now - s).max(0) / 1000),
                ),
                name,
            });
        }
    }
    let ids = st
        .deploys
        .list_deployments(
            &ctx,
            ListDeploymentsInput {
                application_name: Some(app.clone()),
                deployment_group_name: Some(group.clone()),
                ..Default::default()
            },
        )
        .await
        .ok()
        .and_then(|o| o.deployments)
        .unwrap_or_default();
    let mut deployments = Vec::new();
    if !ids.is_empty() {
        let infos = st
            .deploys
            .batch_get_deployments(
                &ctx,
                BatchGetDeploymentsInput {
                    deployment_ids: ids.into_iter().take(SHOWN).collect(),
                },
            )
            .await
            .ok()
            .and_then(|o| o.deployments_info)
            .unwrap_or_default();
        let mut infos = infos;
        infos.sort_by_key(|d| std::cmp::Reverse(d.create_time.map(|t| t.millis())));
        for d in infos {
            deployments.push(DeploymentRow {
                id: d.deployment_id.clone().unwrap_or_default(),
                status: d.status.map(|s| s.to_string()).unwrap_or_default(),
                created: when(d.create_time),
                overview: overview(&d.deployment_overview),
            });
        }
    }
    render(
        "group.html",
        Page::of(&session, &format!("{group} · {app}"))
            .with("section", "deployments")
            .with("app", &app)
            .with("group", &group)
            .with("config", &info.deployment_config_name)
            .with(
                "filters",
                filters
                    .iter()
                    .map(|f| {
                        format!(
                            "{}={}",
                            f.key.clone().unwrap_or_default(),
                            f.value.clone().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>(),
            )
            .with(
                "auto_rollback",
                info.auto_rollback_configuration
                    .as_ref()
                    .and_then(|a| a.enabled)
                    .unwrap_or(false),
            )
            .with("instances", instances)
            .with("deployments", deployments),
    )
}

#[derive(Serialize)]
struct EventRow {
    name: String,
    status: String,
    script: Option<String>,
    message: Option<String>,
    log_tail: Option<String>,
}

#[derive(Serialize)]
struct TargetRow {
    id: String,
    status: String,
    events: Vec<EventRow>,
}

pub async fn deployment(
    State(st): State<SharedState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let ctx = authorize(&st, &session, "codedeploy:GetDeployment");
    let d = match st
        .deploys
        .get_deployment(
            &ctx,
            GetDeploymentInput {
                deployment_id: id.clone(),
            },
        )
        .await
    {
        Ok(o) => o.deployment_info.unwrap_or_default(),
        Err(e) => return failed(&session, e),
    };
    let target_ids = st
        .deploys
        .list_deployment_targets(
            &ctx,
            ListDeploymentTargetsInput {
                deployment_id: id.clone(),
                ..Default::default()
            },
        )
        .await
        .ok()
        .and_then(|o| o.target_ids)
        .unwrap_or_default();
    let mut targets = Vec::new();
    if !target_ids.is_empty() {
        let got = st
            .deploys
            .batch_get_deployment_targets(
                &ctx,
                BatchGetDeploymentTargetsInput {
                    deployment_id: id.clone(),
                    target_ids,
                },
            )
            .await
            .ok()
            .and_then(|o| o.deployment_targets)
            .unwrap_or_default();
        for t in got.into_iter().filter_map(|t| t.instance_target) {
            targets.push(TargetRow {
                id: t.target_id.unwrap_or_default(),
                status: t.status.map(|s| s.to_string()).unwrap_or_default(),
                events: t
                    .lifecycle_events
                    .unwrap_or_default()
                    .into_iter()
                    .map(|e| {
                        let diag = e.diagnostics.unwrap_or_default();
                        EventRow {
                            name: e.lifecycle_event_name.unwrap_or_default(),
                            status: e.status.map(|s| s.to_string()).unwrap_or_default(),
                            script: diag.script_name.filter(|s| !s.is_empty()),
                            message: diag.message.filter(|s| !s.is_empty()),
                            log_tail: diag.log_tail.filter(|s| !s.is_empty()),
                        }
                    })
                    .collect(),
            });
        }
    }
    let status = d.status.map(|s| s.to_string()).unwrap_or_default();
    let running = matches!(
        status.as_str(),
        "Created" | "Queued" | "InProgress" | "Baking" | "Ready"
    );
    let rollback = d.rollback_info.as_ref().map(|r| {
        (
            r.rollback_deployment_id.clone(),
            r.rollback_triggering_deployment_id.clone(),
            r.rollback_message.clone(),
        )
    });
    render(
        "deployment.html",
        Page::of(&session, &format!("{id} · deployments"))
            .with("section", "deployments")
            .with("id", &id)
            .with("app", &d.application_name)
            .with("group", &d.deployment_group_name)
            .with("status", &status)
            .with("running", running)
            .with("created", when(d.create_time))
            .with("overview", overview(&d.deployment_overview))
            .with(
                "error",
                d.error_information.as_ref().and_then(|e| e.message.clone()),
            )
            .with("rollback", rollback)
            .with("targets", targets),
    )
}

pub async fn stop(
    State(st): State<SharedState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<Csrf>,
) -> Response {
    if let Some(refused) = session.refusal(&f.csrf) {
        return refused;
    }
    let ctx = authorize(&st, &session, "codedeploy:StopDeployment");
    match st
        .deploys
        .stop_deployment(
            &ctx,
            StopDeploymentInput {
                deployment_id: id.clone(),
                auto_rollback_enabled: None,
            },
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/console/deployments/d/{}", segment(&id))).into_response(),
        Err(e) => failed(&session, e),
    }
}
