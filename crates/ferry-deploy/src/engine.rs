//! The deployment engine: a scheduler that claims deployments with a lease (one active
//! deployment per group, oldest first; a restarted node resumes what it held), and a driver
//! per deployment that takes its targets through their lifecycle events by queueing commands
//! for their agents, with the health rules of reference §4.5: batches sized by the offline
//! budget, the last-instance tolerance, at least one success. Everything the driver knows is
//! re-read from the store on every step, so it can stop and resume at any point.

use std::sync::Arc;
use std::time::Duration;

use ferry_model::codedeploy::{
    DeploymentInfo, DeploymentOverview, DeploymentStatus, Diagnostics, ErrorCode, ErrorInformation,
    InstanceTarget, LifecycleErrorCode, LifecycleEvent, LifecycleEventStatus, TargetStatus,
};
use ferry_store::deploys::{CommandRow, DeploymentRow};
use ferry_types::Timestamp;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::events;
use crate::health;
use crate::service::{DeployService, Plan, now};

/// How long a claimed deployment is held without renewal.
const LEASE: Duration = Duration::from_secs(30);
/// How often drivers look again even when nothing woke them (heartbeats, leases).
const TICK: Duration = Duration::from_millis(1000);
/// Deployments one node drives at once.
const MAX_DRIVEN: usize = 64;

/// Message AWS gives for a deployment that failed on too many instances.
pub const HEALTH_MESSAGE: &str = "The overall deployment failed because too many individual instances failed deployment, too few healthy instances are available for deployment, or some instances in your deployment group are experiencing problems.";

impl DeployService {
    /// Starts the scheduler on `tasks`; it stops when `stop` is cancelled.
    pub fn start(self: &Arc<Self>, tasks: &TaskTracker, stop: CancellationToken) {
        let me = self.clone();
        let tracker = tasks.clone();
        tasks.spawn(async move { me.schedule(tracker, stop).await });
    }

    /// Asks the scheduler to look for deployments now.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    async fn schedule(self: Arc<Self>, tasks: TaskTracker, stop: CancellationToken) {
        loop {
            let at = now().millis();
            let lease = LEASE.as_millis() as i64;
            let held: Vec<String> = self
                .driving
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned()
                .collect();
            if let Err(e) = self
                .store
                .renew_deployment_leases(&self.settings.node_id, &held, at + lease)
                .await
            {
                tracing::warn!(error = %e, "renewing deployment leases");
            }
            match self
                .store
                .claim_deployments(&self.settings.node_id, at, lease, MAX_DRIVEN)
                .await
            {
                Ok(rows) => {
                    for row in rows {
                        let fresh = self
                            .driving
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(row.deployment_id.clone());
                        if fresh {
                            let me = self.clone();
                            let stop = stop.clone();
                            tasks.spawn(async move {
                                let id = row.deployment_id.clone();
                                me.drive(row, stop).await;
                                me.driving
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .remove(&id);
                                me.poke();
                            });
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming deployments"),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(TICK * 5) => {}
            }
        }
    }

    /// Takes one deployment from where the store says it stands to its end.
    async fn drive(self: &Arc<Self>, row: DeploymentRow, stop: CancellationToken) {
        let id = row.deployment_id.clone();
        let mut changes = self.progress.subscribe();
        loop {
            let Ok(Some(row)) = self.store.deployment(&id).await else {
                return;
            };
            let starting = matches!(row.status.as_str(), "Created" | "Queued");
            match self.step(&row).await {
                Ok(true) => return,
                Ok(false) if starting => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(deployment = %id, error = %e, "deployment step"),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = changes.changed() => {}
                _ = tokio::time::sleep(TICK) => {}
            }
        }
    }

    /// One look at a deployment: starts it, moves its targets on, ends it. `Ok(true)` once
    /// it has ended.
    async fn step(self: &Arc<Self>, row: &DeploymentRow) -> Result<bool, ferry_store::StoreError> {
        let mut info: DeploymentInfo = serde_json::from_str(&row.document).unwrap_or_default();
        let plan: Plan = serde_json::from_str(&row.settings).unwrap_or_default();
        let status = info.status.unwrap_or_default();
        if matches!(
            status,
            DeploymentStatus::Succeeded | DeploymentStatus::Failed | DeploymentStatus::Stopped
        ) {
            return Ok(true);
        }
        if matches!(status, DeploymentStatus::Created | DeploymentStatus::Queued) {
            if row.stop_requested {
                self.finish(row, &mut info, &plan, DeploymentStatus::Stopped, None)
                    .await?;
                return Ok(true);
            }
            return self.begin(row, &mut info, &plan).await;
        }
        self.advance(row, &mut info, &plan).await
    }

    /// Picks the targets and checks the health constraints.
    async fn begin(
        self: &Arc<Self>,
        row: &DeploymentRow,
        info: &mut DeploymentInfo,
        plan: &Plan,
    ) -> Result<bool, ferry_store::StoreError> {
        let instances = crate::targeted_instances(self, row, plan).await?;
        let n = instances.len();
        if let Err(why) = health::budget(&plan.config, n) {
            let (code, message) = match why {
                health::Infeasible::NoInstances => (
                    ErrorCode::NoInstances,
                    "The deployment failed because no instances were found for your deployment group. Check your deployment group settings to make sure the tags for your EC2 instances or Auto Scaling groups correctly identify the instances you want to deploy to, and then try again.".to_owned(),
                ),
                health::Infeasible::Constraints { minimum, instances } => (
                    ErrorCode::HealthConstraintsInvalid,
                    format!(
                        "The deployment failed because the minimum number of healthy instances ({minimum}) is not less than the number of instances in the deployment group ({instances})."
                    ),
                ),
            };
            info.start_time = Some(now());
            self.finish(
                row,
                info,
                plan,
                DeploymentStatus::Failed,
                Some(ErrorInformation {
                    code: Some(code),
                    message: Some(message),
                }),
            )
            .await?;
            return Ok(true);
        }
        for (name, label) in &instances {
            let event_names = match label {
                Some(ferry_model::codedeploy::TargetLabel::Blue) => events::ORIGINAL,
                Some(_) => events::REPLACEMENT,
                None => events::IN_PLACE,
            };
            let target = InstanceTarget {
                deployment_id: Some(row.deployment_id.clone()),
                target_id: Some(name.clone()),
                target_arn: Some(self.arn(&format!("instance/{name}"))),
                status: Some(TargetStatus::Pending),
                last_updated_at: Some(now()),
                lifecycle_events: Some(
                    event_names
                        .iter()
                        .map(|e| LifecycleEvent {
                            lifecycle_event_name: Some((*e).to_owned()),
                            status: Some(LifecycleEventStatus::Pending),
                            ..Default::default()
                        })
                        .collect(),
                ),
                instance_label: *label,
            };
            self.save_target(&target).await?;
        }
        info.status = Some(DeploymentStatus::InProgress);
        info.start_time = Some(now());
        info.deployment_overview = Some(DeploymentOverview {
            pending: Some(n as i64),
            ..zero_overview()
        });
        self.save_info(row, info).await?;
        Ok(false)
    }

    /// Moves every in-progress target on by what its commands say, starts more targets as
    /// the budget allows, and ends the deployment when no target is left to run.
    async fn advance(
        self: &Arc<Self>,
        row: &DeploymentRow,
        info: &mut DeploymentInfo,
        plan: &Plan,
    ) -> Result<bool, ferry_store::StoreError> {
        let mut targets: Vec<InstanceTarget> = self
            .store
            .targets(&row.deployment_id)
            .await?
            .into_iter()
            .filter_map(|(_, _, doc)| serde_json::from_str(&doc).ok())
            .collect();
        let n = targets.len();
        let budget = health::budget(&plan.config, n).unwrap_or(1);
        let stopping = row.stop_requested;
        // Blue/green with a ready wait: replacements stop before traffic until continued.
        let wait_for_ready = info
            .blue_green_deployment_configuration
            .as_ref()
            .and_then(|c| c.deployment_ready_option.as_ref())
            .and_then(|o| o.action_on_timeout)
            == Some(ferry_model::codedeploy::DeploymentReadyAction::StopDeployment);
        let gate = wait_for_ready && !plan.continued;
        for t in targets.iter_mut() {
            if t.status == Some(TargetStatus::Ready) && (!gate || stopping) {
                t.status = Some(TargetStatus::InProgress);
            }
            if t.status == Some(TargetStatus::InProgress) {
                self.move_target(row, info, t, stopping, gate).await?;
            }
        }
        // Start more targets while the budget allows.
        let blue_green = targets.iter().any(|t| t.instance_label.is_some());
        loop {
            let running = count(&targets, TargetStatus::InProgress);
            let failed = count(&targets, TargetStatus::Failed);
            if stopping || running + failed >= budget {
                break;
            }
            // Blue/green: originals start only when every replacement succeeded.
            let replacements_done = targets.iter().all(|t| {
                t.instance_label != Some(ferry_model::codedeploy::TargetLabel::Green)
                    || t.status == Some(TargetStatus::Succeeded)
            });
            let Some(next) = targets.iter_mut().find(|t| {
                t.status == Some(TargetStatus::Pending)
                    && (!blue_green
                        || t.instance_label != Some(ferry_model::codedeploy::TargetLabel::Blue)
                        || replacements_done)
            }) else {
                break;
            };
            next.status = Some(TargetStatus::InProgress);
            self.move_target(row, info, next, stopping, gate).await?;
        }
        // Nothing running and nothing may start: the rest is skipped.
        let running = count(&targets, TargetStatus::InProgress);
        let failed = count(&targets, TargetStatus::Failed);
        let blocked = blue_green && failed > 0;
        if running == 0 && (stopping || failed >= budget || blocked) {
            for t in targets.iter_mut() {
                if t.status == Some(TargetStatus::Pending) {
                    skip_rest(t);
                    t.status = Some(TargetStatus::Skipped);
                    self.save_target(t).await?;
                }
            }
        }
        let overview = overview_of(&targets);
        let mut changed = info.deployment_overview.as_ref() != Some(&overview);
        info.deployment_overview = Some(overview);
        // Every replacement is ready and nothing else runs: the deployment waits.
        let ready = count(&targets, TargetStatus::Ready);
        let waiting =
            gate && !stopping && ready > 0 && count(&targets, TargetStatus::InProgress) == 0;
        let status_now = if waiting {
            DeploymentStatus::Ready
        } else {
            DeploymentStatus::InProgress
        };
        if info.status != Some(status_now) {
            info.status = Some(status_now);
            changed = true;
        }
        if waiting {
            let since = match plan.ready_since_ms {
                Some(ms) => ms,
                None => {
                    let mut p = plan.clone();
                    p.ready_since_ms = Some(now().millis());
                    self.store
                        .set_deployment_settings(
                            &row.deployment_id,
                            &serde_json::to_string(&p).unwrap_or_default(),
                        )
                        .await?;
                    now().millis()
                }
            };
            let minutes = info
                .blue_green_deployment_configuration
                .as_ref()
                .and_then(|c| c.deployment_ready_option.as_ref())
                .and_then(|o| o.wait_time_in_minutes)
                .unwrap_or(0)
                .max(0) as i64;
            if now().millis() - since >= minutes * 60_000 {
                // Nobody continued in time: the deployment stops.
                self.store
                    .request_deployment_stop(&row.deployment_id, &row.settings)
                    .await?;
            }
        }
        if targets.iter().any(|t| {
            matches!(
                t.status,
                Some(TargetStatus::Pending)
                    | Some(TargetStatus::InProgress)
                    | Some(TargetStatus::Ready)
            )
        }) {
            if changed {
                self.save_info(row, info).await?;
            }
            return Ok(false);
        }
        let succeeded = count(&targets, TargetStatus::Succeeded);
        let (status, error) = if stopping {
            (
                DeploymentStatus::Stopped,
                Some(ErrorInformation {
                    code: Some(ErrorCode::ManualStop),
                    message: Some("The deployment was stopped by the user.".into()),
                }),
            )
        } else if health::succeeded(&plan.config, n, succeeded) && !(blue_green && failed > 0) {
            (DeploymentStatus::Succeeded, None)
        } else {
            (
                DeploymentStatus::Failed,
                Some(ErrorInformation {
                    code: Some(ErrorCode::HealthConstraints),
                    message: Some(HEALTH_MESSAGE.into()),
                }),
            )
        };
        self.finish(row, info, plan, status, error).await?;
        Ok(true)
    }

    /// Takes one in-progress target as far as its commands allow.
    async fn move_target(
        self: &Arc<Self>,
        row: &DeploymentRow,
        info: &DeploymentInfo,
        t: &mut InstanceTarget,
        stopping: bool,
        gate: bool,
    ) -> Result<(), ferry_store::StoreError> {
        let name = t.target_id.clone().unwrap_or_default();
        let commands = self
            .store
            .target_commands(&row.deployment_id, &name)
            .await?;
        let ignore_stop = info.ignore_application_stop_failures.unwrap_or(false);
        let mut dirty = false;
        loop {
            let events = t.lifecycle_events.get_or_insert_with(Vec::new);
            let Some(idx) = events.iter().position(|e| {
                matches!(
                    e.status,
                    Some(LifecycleEventStatus::Pending) | Some(LifecycleEventStatus::InProgress)
                )
            }) else {
                // Every event ran.
                let failed = events
                    .iter()
                    .any(|e| e.status == Some(LifecycleEventStatus::Failed));
                t.status = Some(if failed {
                    TargetStatus::Failed
                } else {
                    TargetStatus::Succeeded
                });
                dirty = true;
                break;
            };
            let event = events[idx].lifecycle_event_name.clone().unwrap_or_default();
            if events::service_only(&event) {
                let at = now();
                let e = &mut events[idx];
                e.start_time.get_or_insert(at);
                e.end_time = Some(at);
                e.status = Some(LifecycleEventStatus::Succeeded);
                dirty = true;
                continue;
            }
            if gate
                && !stopping
                && event == "BeforeAllowTraffic"
                && t.instance_label == Some(ferry_model::codedeploy::TargetLabel::Green)
                && events[idx].status == Some(LifecycleEventStatus::Pending)
            {
                // Installed and validated; traffic waits for ContinueDeployment.
                t.status = Some(TargetStatus::Ready);
                dirty = true;
                break;
            }
            let latest = commands.iter().rev().find(|c| c.command_name == event);
            let command = match latest {
                None if events[idx].status == Some(LifecycleEventStatus::Pending) => {
                    if stopping {
                        fail_from(events, idx, None);
                        dirty = true;
                        continue;
                    }
                    self.queue_command(row, &name, &event).await?;
                    let e = &mut events[idx];
                    e.status = Some(LifecycleEventStatus::InProgress);
                    e.start_time = Some(now());
                    dirty = true;
                    break;
                }
                None => break,
                Some(c) => c,
            };
            match command.status.as_str() {
                "Succeeded" => {
                    let e = &mut events[idx];
                    e.status = Some(LifecycleEventStatus::Succeeded);
                    e.end_time = Some(Timestamp::from_millis(command.updated_ms));
                    e.diagnostics = diagnostics_of(command.diagnostics.as_deref());
                    dirty = true;
                }
                "Failed" => {
                    let diag = diagnostics_of(command.diagnostics.as_deref());
                    let e = &mut events[idx];
                    e.end_time = Some(Timestamp::from_millis(command.updated_ms));
                    e.diagnostics = diag.clone();
                    if ignore_stop && events::ignorable(&event) {
                        e.status = Some(LifecycleEventStatus::Succeeded);
                    } else {
                        fail_from(events, idx, diag);
                    }
                    dirty = true;
                }
                _ => {
                    // Pending or running on the agent: is the agent still there?
                    let silent_for = self.silence(&name, command).await?;
                    if silent_for > self.settings.heartbeat {
                        let message = format!(
                            "The agent on instance {name} has not contacted Ferry for {} seconds while it owed the {event} command; the instance failed.",
                            silent_for.as_secs()
                        );
                        let diag = serde_json::json!({"error_code": 5, "script_name": "", "message": message, "log": ""}).to_string();
                        self.store
                            .set_command_status(
                                &command.command_id,
                                &["Pending", "InProgress"],
                                "Failed",
                                Some(&diag),
                                now().millis(),
                            )
                            .await?;
                        let diag = diagnostics_of(Some(&diag));
                        let e = &mut events[idx];
                        e.end_time = Some(now());
                        fail_from(events, idx, diag);
                        dirty = true;
                        continue;
                    }
                    if stopping && command.status == "Pending" {
                        // Not picked up yet: it will not run.
                        self.store
                            .set_command_status(
                                &command.command_id,
                                &["Pending"],
                                "Failed",
                                None,
                                now().millis(),
                            )
                            .await?;
                        fail_from(events, idx, None);
                        dirty = true;
                        continue;
                    }
                    break;
                }
            }
            if stopping {
                // In-flight events finish; nothing after them runs.
                let events = t.lifecycle_events.get_or_insert_with(Vec::new);
                if events
                    .iter()
                    .any(|e| e.status == Some(LifecycleEventStatus::Pending))
                {
                    for e in events.iter_mut() {
                        if e.status == Some(LifecycleEventStatus::Pending) {
                            e.status = Some(LifecycleEventStatus::Skipped);
                        }
                    }
                    t.status = Some(TargetStatus::Failed);
                    dirty = true;
                    break;
                }
            }
        }
        if dirty {
            t.last_updated_at = Some(now());
            self.save_target(t).await?;
        }
        Ok(())
    }

    /// How long the agent of `instance` has been silent while owing `command`.
    async fn silence(
        &self,
        instance: &str,
        command: &CommandRow,
    ) -> Result<Duration, ferry_store::StoreError> {
        let seen = self
            .store
            .instance(instance)
            .await?
            .and_then(|i| i.last_seen_ms)
            .unwrap_or(0)
            .max(command.updated_ms);
        Ok(Duration::from_millis(
            now().millis().saturating_sub(seen).max(0) as u64,
        ))
    }

    async fn queue_command(
        &self,
        row: &DeploymentRow,
        instance: &str,
        event: &str,
    ) -> Result<(), ferry_store::StoreError> {
        let Some(inst) = self.store.instance(instance).await? else {
            return Err(ferry_store::StoreError::NotFound);
        };
        let at = now().millis();
        self.store
            .insert_command(&CommandRow {
                command_id: uuid::Uuid::new_v4().to_string(),
                deployment_id: row.deployment_id.clone(),
                instance_name: instance.to_owned(),
                host_arn: inst.iam_arn.clone(),
                command_name: event.to_owned(),
                status: "Pending".into(),
                created_ms: at,
                updated_ms: at,
                diagnostics: None,
            })
            .await?;
        self.poke_host(&inst.iam_arn);
        Ok(())
    }

    pub(crate) async fn save_target(
        &self,
        t: &InstanceTarget,
    ) -> Result<(), ferry_store::StoreError> {
        let status = serde_json::to_value(t.status.unwrap_or_default())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.store
            .put_target(
                t.deployment_id.as_deref().unwrap_or(""),
                t.target_id.as_deref().unwrap_or(""),
                &status,
                &serde_json::to_string(t).unwrap_or_default(),
            )
            .await
    }

    pub(crate) async fn save_info(
        &self,
        row: &DeploymentRow,
        info: &DeploymentInfo,
    ) -> Result<(), ferry_store::StoreError> {
        let status = serde_json::to_value(info.status.unwrap_or_default())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.store
            .save_deployment(
                &row.deployment_id,
                &status,
                &serde_json::to_string(info).unwrap_or_default(),
            )
            .await
    }

    /// Ends a deployment: its status, the group's last attempted/successful deployment and
    /// target revision, and an automatic rollback when its configuration asks for one.
    async fn finish(
        self: &Arc<Self>,
        row: &DeploymentRow,
        info: &mut DeploymentInfo,
        plan: &Plan,
        status: DeploymentStatus,
        error: Option<ErrorInformation>,
    ) -> Result<(), ferry_store::StoreError> {
        info.status = Some(status);
        info.complete_time = Some(now());
        if error.is_some() {
            info.error_information = error;
        }
        crate::record_outcome(self, row, info, plan).await?;
        self.save_info(row, info).await?;
        let _ = self.finished.send(row.deployment_id.clone());
        Ok(())
    }
}

fn count(targets: &[InstanceTarget], status: TargetStatus) -> usize {
    targets.iter().filter(|t| t.status == Some(status)).count()
}

/// An overview with every count at zero.
pub(crate) fn zero_overview() -> DeploymentOverview {
    DeploymentOverview {
        pending: Some(0),
        in_progress: Some(0),
        succeeded: Some(0),
        failed: Some(0),
        skipped: Some(0),
        ready: Some(0),
    }
}

fn overview_of(targets: &[InstanceTarget]) -> DeploymentOverview {
    let c = |s| Some(count(targets, s) as i64);
    DeploymentOverview {
        pending: c(TargetStatus::Pending),
        in_progress: c(TargetStatus::InProgress),
        succeeded: c(TargetStatus::Succeeded),
        failed: c(TargetStatus::Failed),
        skipped: c(TargetStatus::Skipped),
        ready: c(TargetStatus::Ready),
    }
}

/// Marks event `idx` failed (with `diag`) and every later pending event skipped.
fn fail_from(events: &mut [LifecycleEvent], idx: usize, diag: Option<Diagnostics>) {
    let at = now();
    if let Some(e) = events.get_mut(idx) {
        e.status = Some(LifecycleEventStatus::Failed);
        e.start_time.get_or_insert(at);
        e.end_time.get_or_insert(at);
        if diag.is_some() {
            e.diagnostics = diag;
        }
    }
    for e in events.iter_mut().skip(idx + 1) {
        if e.status == Some(LifecycleEventStatus::Pending) {
            e.status = Some(LifecycleEventStatus::Skipped);
        }
    }
}

fn skip_rest(t: &mut InstanceTarget) {
    for e in t.lifecycle_events.iter_mut().flatten() {
        if e.status == Some(LifecycleEventStatus::Pending) {
            e.status = Some(LifecycleEventStatus::Skipped);
        }
    }
}

/// The API's Diagnostics from an agent's diagnostics JSON.
pub(crate) fn diagnostics_of(payload: Option<&str>) -> Option<Diagnostics> {
    let v: serde_json::Value = serde_json::from_str(payload?).ok()?;
    let code = v.get("error_code").and_then(|c| c.as_i64()).unwrap_or(5);
    Some(Diagnostics {
        error_code: Some(match code {
            0 => LifecycleErrorCode::Success,
            1 => LifecycleErrorCode::ScriptMissing,
            2 => LifecycleErrorCode::ScriptNotExecutable,
            3 => LifecycleErrorCode::ScriptTimedOut,
            4 | 6 => LifecycleErrorCode::ScriptFailed,
            _ => LifecycleErrorCode::UnknownError,
        }),
        script_name: v
            .get("script_name")
            .and_then(|s| s.as_str())
            .map(str::to_owned),
        message: v.get("message").and_then(|s| s.as_str()).map(str::to_owned),
        log_tail: v.get("log").and_then(|s| s.as_str()).map(str::to_owned),
    })
}
