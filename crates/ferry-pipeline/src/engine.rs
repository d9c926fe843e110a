//! The pipeline engine of one node. A scheduler claims pipelines that have active executions
//! (a lease in the store, so one node drives a pipeline) and runs one driver per pipeline.
//! A driver repeats: under the pipeline's lock, load its active executions, apply the rules
//! (`step.rs`), save what changed and start the actions due (or resume the ones a restart
//! interrupted); then wait for an action's progress, a poke from the API (approval, stop,
//! transition, new execution) or a tick (approval timeouts, the lease). Nothing waits on a
//! timer to notice work: starting an execution or finishing an action wakes the driver.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use ferry_model::codepipeline::{
    ActionCategory, PipelineDeclaration, Result as FailureResult, StageRetryMode, TransitionState,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::actions::{self, ActionJob, Progress};
use crate::record::{ExecRecord, Position, status};
use crate::service::{PipelineService, now_ms};
use crate::variables;

/// How long a node's claim on a pipeline lasts without renewal.
const LEASE: Duration = Duration::from_secs(30);
/// How often a driver looks even when nothing woke it (approval timeouts, lease renewal).
const TICK: Duration = Duration::from_secs(1);

impl PipelineService {
    /// Starts the scheduler (and, through it, the drivers) on `tasks` until `stop`.
    pub fn start(self: &Arc<Self>, tasks: &TaskTracker, stop: CancellationToken) {
        let me = self.clone();
        let tracker = tasks.clone();
        let halt = stop.clone();
        tasks.spawn(async move { me.schedule(tracker, halt).await });
        let me = self.clone();
        tasks.spawn(async move { crate::triggers::listen(me, stop).await });
    }

    async fn schedule(self: Arc<Self>, tasks: TaskTracker, stop: CancellationToken) {
        loop {
            match self.store.pipelines_with_active_executions().await {
                Ok(names) => {
                    for name in names {
                        let fresh = !self
                            .driving
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .contains(&name);
                        if !fresh {
                            continue;
                        }
                        let at = now_ms();
                        let won = self
                            .store
                            .lease_pipeline(
                                &name,
                                &self.settings.node_id,
                                at,
                                at + LEASE.as_millis() as i64,
                            )
                            .await
                            .unwrap_or(false);
                        if !won {
                            continue;
                        }
                        self.driving
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(name.clone());
                        let me = self.clone();
                        let halt = stop.clone();
                        let inner = tasks.clone();
                        tasks.spawn(async move { me.drive(name, inner, halt).await });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "looking for pipelines to drive"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    async fn drive(self: Arc<Self>, name: String, tasks: TaskTracker, stop: CancellationToken) {
        let (tx, mut rx) = mpsc::channel::<Progress>(64);
        let mut running: HashSet<String> = HashSet::new();
        let wake = self.driver_wake(&name);
        let mut renewed = now_ms();
        loop {
            match self
                .step_once(&name, &tx, &mut running, &tasks, &stop)
                .await
            {
                Ok(Some(failed)) => self.on_failure(&name, failed).await,
                Ok(None) => break,
                Err(e) => tracing::warn!(pipeline = %name, error = %e.message, "pipeline step"),
            }
            if now_ms() - renewed > (LEASE / 3).as_millis() as i64 {
                let at = now_ms();
                let kept = self
                    .store
                    .lease_pipeline(
                        &name,
                        &self.settings.node_id,
                        at,
                        at + LEASE.as_millis() as i64,
                    )
                    .await
                    .unwrap_or(false);
                if !kept {
                    tracing::warn!(pipeline = %name, "lost the lease on a pipeline");
                    break;
                }
                renewed = at;
            }
            tokio::select! {
                msg = rx.recv() => {
                    if let Some(msg) = msg {
                        if let Progress::Finished { action_id, .. } = &msg {
                            running.remove(action_id);
                        }
                        if let Err(e) = self.apply(&name, msg).await {
                            tracing::warn!(pipeline = %name, error = %e.message, "recording an action's progress");
                        }
                    }
                }
                _ = wake.notified() => {}
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.cancelled() => break,
            }
        }
        self.driving
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&name);
        let _ = self
            .store
            .release_pipeline(&name, &self.settings.node_id)
            .await;
        // An execution that started while the driver was leaving is picked up again.
        self.wake.notify_one();
    }

    /// What a stage's `onFailure` asks for when it fails, but for `RETRY` (see
    /// `retried_at_once`): a rollback to the latest execution that succeeded in the stage
    /// (`ROLLBACK`).
    async fn on_failure(self: &Arc<Self>, name: &str, failed: Vec<(String, String)>) {
        if failed.is_empty() {
            return;
        }
        let Ok((_, stored)) = self.stored(name).await else {
            return;
        };
        for (_, stage) in failed {
            let Some(rule) = stored
                .pipeline
                .stages
                .iter()
                .find(|s| s.name == stage)
                .and_then(|s| s.on_failure.clone())
            else {
                continue;
            };
            // RETRY is done in the pass that saw the failure (`retried_at_once`).
            let outcome = match rule.result {
                Some(FailureResult::Rollback) => self
                    .rollback_stage(name, &stage, None, "AutomatedRollback")
                    .await
                    .map(|_| ()),
                _ => Ok(()),
            };
            if let Err(e) = outcome {
                tracing::warn!(pipeline = %name, stage = %stage, error = %e.message, "onFailure");
            }
        }
    }

    /// Retries stage `stage` of execution `exec`, failed in this pass, when its `onFailure`
    /// asks for an automatic retry not yet spent; whether it did. `stored` holds the
    /// pipeline's executions as stored (those in `execs` are taken from `execs`).
    fn retried_at_once(
        &self,
        current: &crate::service::Stored,
        version: i64,
        execs: &mut [ExecRecord],
        stored: &[ExecRecord],
        exec: &str,
        stage: &str,
    ) -> bool {
        let Some((index, rule)) = retry_rule(current, stage) else {
            return false;
        };
        let Some(at) = execs.iter().position(|e| e.id == exec) else {
            return false;
        };
        if execs[at].auto_retries >= 1 {
            return false;
        }
        let mode = rule
            .retry_configuration
            .as_ref()
            .and_then(|c| c.retry_mode)
            .unwrap_or(StageRetryMode::FailedActions);
        let mut all = execs.to_vec();
        all.extend(
            stored
                .iter()
                .filter(|o| !execs.iter().any(|e| e.id == o.id))
                .cloned(),
        );
        let mut e = execs[at].clone();
        match crate::retry::retry_in_place(
            &mut e,
            &all,
            stage,
            index,
            version,
            mode,
            true,
            now_ms(),
        ) {
            Ok(()) => {
                execs[at] = e;
                true
            }
            Err(err) => {
                tracing::warn!(pipeline = %current.pipeline.name, stage = %stage, error = %err.message, "onFailure retry");
                false
            }
        }
    }

    /// One pass of the rules: the stages that failed in it, or `None` when the pipeline has
    /// nothing active left.
    async fn step_once(
        self: &Arc<Self>,
        name: &str,
        tx: &mpsc::Sender<Progress>,
        running: &mut HashSet<String>,
        tasks: &TaskTracker,
        stop: &CancellationToken,
    ) -> Result<Option<Vec<(String, String)>>, ferry_wire::AwsError> {
        let lock = self.lock(name);
        let _guard = lock.lock().await;
        let mut execs = self.records(name, true).await?;
        if execs.is_empty() {
            return Ok(None);
        }
        let Ok((version, current)) = self.stored(name).await else {
            return Ok(None);
        };
        let mut decls: BTreeMap<i64, PipelineDeclaration> = BTreeMap::new();
        for v in execs
            .iter()
            .map(|e| e.pipeline_version)
            .collect::<BTreeSet<_>>()
        {
            if let Some(d) = self.declaration_at(name, v).await? {
                decls.insert(v, d);
            }
        }
        let disabled: BTreeSet<String> = self
            .store
            .transitions(name)
            .await
            .map_err(ferry_wire::AwsError::internal)?
            .into_iter()
            .filter(|(_, doc)| {
                serde_json::from_str::<TransitionState>(doc).is_ok_and(|t| t.enabled == Some(false))
            })
            .map(|(stage, _)| stage)
            .collect();
        let mode = crate::step::mode_of(&current.pipeline);
        let mut new_id = || uuid::Uuid::new_v4().to_string();
        let outcome = crate::step::step(
            &|e: &ExecRecord| decls.get(&e.pipeline_version),
            &mode,
            &disabled,
            &mut execs,
            now_ms(),
            &mut new_id,
        );
        let mut changed = outcome.changed;
        let mut failed_stages = outcome.failed_stages;
        // A stage whose onFailure is RETRY is retried before the failure is saved, so the
        // execution stays in progress, as on AWS; the retry's actions start below.
        // The retry's checks look at finished executions too (one that entered the stage
        // later forbids it), read only when a failed stage asks for a retry.
        let wants_retry = failed_stages
            .iter()
            .any(|(_, stage)| retry_rule(&current, stage).is_some());
        let stored = if wants_retry {
            self.records(name, false).await?
        } else {
            Vec::new()
        };
        failed_stages.retain(|(exec, stage)| {
            !self.retried_at_once(&current, version, &mut execs, &stored, exec, stage)
        });
        // Start what is due: new actions, and in-progress ones nobody runs (after a restart).
        for e in execs.iter_mut() {
            let Position::Running { stage } = e.position else {
                continue;
            };
            let Some(decl) = decls.get(&e.pipeline_version) else {
                continue;
            };
            let Some(stage_decl) = decl.stages.get(stage) else {
                continue;
            };
            let due: Vec<String> = e
                .stages
                .last()
                .map(|s| {
                    s.actions
                        .iter()
                        .filter(|a| a.status == status::IN_PROGRESS && !running.contains(&a.id))
                        .map(|a| a.id.clone())
                        .collect()
                })
                .unwrap_or_default();
            for action_id in due {
                let Some(rec) = e.action_mut(&action_id) else {
                    continue;
                };
                let Some(mut d) = stage_decl
                    .actions
                    .iter()
                    .find(|d| d.name == rec.name)
                    .cloned()
                else {
                    continue;
                };
                let is_approval = d.action_type_id.category == ActionCategory::Approval;
                if is_approval && rec.token.is_some() {
                    continue;
                }
                let snapshot = e.clone();
                let config = d.configuration.clone().unwrap_or_default();
                let resolved = match variables::resolve_all(&config, &snapshot)
                    .and_then(|r| variables::resolve_compute(&mut d, &snapshot).map(|()| r))
                {
                    Ok(r) => r,
                    Err(missing) => {
                        let rec = e.action_mut(&action_id).expect("found above");
                        fail(
                            rec,
                            format!("The variable reference #{{{missing}}} cannot be resolved"),
                        );
                        changed.insert(e.id.clone());
                        self.poke(name);
                        continue;
                    }
                };
                if is_approval {
                    let rec = e.action_mut(&action_id).expect("found above");
                    rec.token = Some(uuid::Uuid::new_v4().to_string());
                    rec.resolved_configuration = resolved;
                    changed.insert(e.id.clone());
                    continue;
                }
                let mut inputs = Vec::new();
                let mut missing = None;
                for a in d.input_artifacts.iter().flatten() {
                    match snapshot.artifacts.get(&a.name) {
                        Some(loc) => inputs.push((a.name.clone(), loc.clone())),
                        None => missing = Some(a.name.clone()),
                    }
                }
                let rec = e.action_mut(&action_id).expect("found above");
                if let Some(m) = missing {
                    fail(rec, format!("The input artifact {m} was not produced"));
                    changed.insert(e.id.clone());
                    self.poke(name);
                    continue;
                }
                if rec.output_artifacts.is_empty() {
                    rec.output_artifacts = d
                        .output_artifacts
                        .iter()
                        .flatten()
                        .map(|a| {
                            (
                                a.name.clone(),
                                actions::output_key(
                                    &current_bucket(&current.pipeline),
                                    name,
                                    &a.name,
                                ),
                            )
                        })
                        .collect();
                }
                rec.resolved_configuration = resolved.clone();
                rec.input_artifacts = inputs.clone();
                let outputs = rec.output_artifacts.clone();
                let source_override = snapshot.source_overrides.get(&rec.name).cloned();
                let external_id = rec.external_id.clone();
                changed.insert(e.id.clone());
                let job = ActionJob {
                    svc: self.clone(),
                    pipeline: name.to_owned(),
                    execution_id: e.id.clone(),
                    stage: stage_decl.name.clone(),
                    action_id: action_id.clone(),
                    declaration: d,
                    config: resolved,
                    inputs,
                    outputs,
                    source_override,
                    external_id,
                    stop: stop.clone(),
                };
                running.insert(action_id.clone());
                let tx = tx.clone();
                let (exec_id, id) = (e.id.clone(), action_id.clone());
                tasks.spawn(async move {
                    // None: the node is stopping; the action stays in progress and the next
                    // start re-attaches to its build or deployment by the recorded id.
                    let Some(result) = actions::run(job).await else {
                        return;
                    };
                    let _ = tx
                        .send(Progress::Finished {
                            execution_id: exec_id,
                            action_id: id,
                            result,
                        })
                        .await;
                });
            }
        }
        for e in execs.iter().filter(|e| changed.contains(&e.id)) {
            self.save(e).await?;
        }
        Ok(Some(failed_stages))
    }

    /// Records what a running action reported.
    pub(crate) async fn apply(
        self: &Arc<Self>,
        name: &str,
        msg: Progress,
    ) -> Result<(), ferry_wire::AwsError> {
        let lock = self.lock(name);
        let _guard = lock.lock().await;
        let (exec_id, action_id) = match &msg {
            Progress::Started {
                execution_id,
                action_id,
                ..
            }
            | Progress::Finished {
                execution_id,
                action_id,
                ..
            } => (execution_id.clone(), action_id.clone()),
        };
        let Some(mut e) = self.load(&exec_id).await? else {
            return Ok(());
        };
        let namespace = self.namespace_of(&e, &action_id).await;
        let now = now_ms();
        let Some(rec) = e.action_mut(&action_id) else {
            return Ok(());
        };
        if rec.status != status::IN_PROGRESS {
            return Ok(()); // abandoned or timed out meanwhile
        }
        let mut produced = Vec::new();
        let mut vars = BTreeMap::new();
        let mut revision = None;
        match msg {
            Progress::Started {
                external_id, url, ..
            } => {
                rec.external_id = Some(external_id);
                rec.external_url = url;
            }
            Progress::Finished { result, .. } => {
                rec.status = if result.succeeded {
                    status::SUCCEEDED.into()
                } else {
                    status::FAILED.into()
                };
                rec.summary = result.summary;
                if result.external_id.is_some() {
                    rec.external_id = result.external_id;
                }
                if let Some((code, message)) = result.error {
                    rec.error_code = Some(code);
                    rec.error_message = Some(message);
                }
                if result.succeeded {
                    rec.output_artifacts = result.outputs.clone();
                    rec.output_variables = result.variables.clone();
                    produced = result.outputs;
                    vars = result.variables;
                    revision = result.source_revision;
                }
            }
        }
        rec.updated_ms = now;
        for (n, loc) in produced {
            e.artifacts.insert(n, loc);
        }
        if let Some(ns) = namespace
            && !vars.is_empty()
        {
            e.variables.insert(ns, vars);
        }
        if let Some(r) = revision {
            e.source_revisions.push(r);
        }
        e.updated_ms = now;
        self.save(&e).await?;
        self.driver_wake(name).notify_one();
        Ok(())
    }

    /// The namespace the declaration gives the action `action_id` ran.
    async fn namespace_of(&self, e: &ExecRecord, action_id: &str) -> Option<String> {
        let rec = e.actions().find(|a| a.id == action_id)?;
        let decl = self
            .declaration_at(&e.pipeline, e.pipeline_version)
            .await
            .ok()??;
        decl.stages
            .iter()
            .find(|s| s.name == rec.stage)?
            .actions
            .iter()
            .find(|a| a.name == rec.name)?
            .namespace
            .clone()
    }
}

/// The artifact store bucket of a declaration.
pub(crate) fn current_bucket(d: &PipelineDeclaration) -> String {
    d.artifact_store
        .as_ref()
        .map(|s| s.location.clone())
        .or_else(|| {
            d.artifact_stores
                .as_ref()
                .and_then(|m| m.values().next().map(|s| s.location.clone()))
        })
        .unwrap_or_default()
}

fn fail(rec: &mut crate::record::ActionRecord, message: String) {
    rec.status = status::FAILED.into();
    rec.error_code = Some("JobFailed".into());
    rec.error_message = Some(message);
    rec.updated_ms = now_ms();
}

/// Stage `stage`'s position and its `onFailure` rule, when that rule is RETRY.
fn retry_rule<'a>(
    current: &'a crate::service::Stored,
    stage: &str,
) -> Option<(usize, &'a ferry_model::codepipeline::FailureConditions)> {
    let index = current
        .pipeline
        .stages
        .iter()
        .position(|s| s.name == stage)?;
    let rule = current.pipeline.stages[index].on_failure.as_ref()?;
    (rule.result == Some(FailureResult::Retry)).then_some((index, rule))
}
