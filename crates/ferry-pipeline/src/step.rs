//! The execution rules, as a pure function over a pipeline's active executions: which
//! execution enters which stage (stage locks, SUPERSEDED / QUEUED / PARALLEL), which action
//! group starts next inside a stage (`runOrder`), when a stage and an execution succeed, fail or
//! stop, and when a manual approval times out. The engine applies a step, persists what
//! changed and starts the actions it names; running them is not this module's business.

use std::collections::BTreeSet;

use ferry_model::codepipeline::{ActionCategory, ExecutionMode, PipelineDeclaration};

use crate::record::{ActionRecord, ExecRecord, Position, StageRecord, status};

/// A manual approval's default timeout (7 days).
pub const APPROVAL_TIMEOUT_MS: i64 = 7 * 24 * 3600 * 1000;

/// What a step changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Action executions to start, as `(execution id, action execution id)`.
    pub start: Vec<(String, String)>,
    /// Executions whose record changed.
    pub changed: BTreeSet<String>,
    /// Stages that failed in this step, as `(execution id, stage name)` (for `onFailure`).
    pub failed_stages: Vec<(String, String)>,
}

/// The execution mode a declaration asks for (SUPERSEDED by default).
pub fn mode_of(decl: &PipelineDeclaration) -> ExecutionMode {
    decl.execution_mode.unwrap_or(ExecutionMode::Superseded)
}

/// Advances `execs` (a pipeline's active executions, any order) as far as they can go now.
/// `decl_of` gives the declaration each execution runs (its pipeline version); `disabled`
/// names stages whose inbound transition is disabled; `new_id` makes action execution ids.
pub fn step<'d>(
    decl_of: &dyn Fn(&ExecRecord) -> Option<&'d PipelineDeclaration>,
    mode: &ExecutionMode,
    disabled: &BTreeSet<String>,
    execs: &mut [ExecRecord],
    now: i64,
    new_id: &mut dyn FnMut() -> String,
) -> Outcome {
    let mut out = Outcome::default();
    execs.sort_by(|a, b| (a.started_ms, &a.id).cmp(&(b.started_ms, &b.id)));
    // Each pass may free a stage or finish one; a few passes reach the fixed point.
    for _ in 0..64 {
        let before = out.changed.len() + out.start.len();
        let mut moved = false;
        for e in execs.iter_mut() {
            let Some(decl) = decl_of(e) else {
                continue;
            };
            moved |= advance_running(decl, e, now, new_id, &mut out);
        }
        moved |= admit_waiting(decl_of, mode, disabled, execs, now, new_id, &mut out);
        if !moved && out.changed.len() + out.start.len() == before {
            break;
        }
    }
    out
}

fn touch(e: &mut ExecRecord, now: i64, out: &mut Outcome) {
    e.updated_ms = now;
    out.changed.insert(e.id.clone());
}

fn finish(e: &mut ExecRecord, status_: &str, summary: Option<String>, now: i64, out: &mut Outcome) {
    e.status = status_.to_owned();
    if summary.is_some() {
        e.status_summary = summary;
    }
    e.position = Position::Done;
    touch(e, now, out);
}

/// A running stage: start its next action group, or settle the stage.
fn advance_running(
    decl: &PipelineDeclaration,
    e: &mut ExecRecord,
    now: i64,
    new_id: &mut dyn FnMut() -> String,
    out: &mut Outcome,
) -> bool {
    let Position::Running { stage: index } = e.position else {
        return false;
    };
    let Some(stage) = decl.stages.get(index) else {
        finish(
            e,
            status::FAILED,
            Some("The pipeline structure changed".into()),
            now,
            out,
        );
        return true;
    };
    let abandon = matches!(e.stop, Some((true, _)));
    let stopping = e.stop.is_some();
    // Manual approvals that waited too long fail.
    let mut moved = false;
    if let Some(rec) = e.stages.last_mut() {
        for a in rec
            .actions
            .iter_mut()
            .filter(|a| a.status == status::IN_PROGRESS)
        {
            let declared = stage.actions.iter().find(|d| d.name == a.name);
            let is_approval =
                declared.is_some_and(|d| d.action_type_id.category == ActionCategory::Approval);
            let timeout = declared
                .and_then(|d| d.timeout_in_minutes)
                .map_or(APPROVAL_TIMEOUT_MS, |m| i64::from(m) * 60_000);
            if abandon {
                a.status = status::ABANDONED.into();
                a.token = None;
                a.updated_ms = now;
                moved = true;
            } else if is_approval && now - a.started_ms > timeout {
                a.status = status::FAILED.into();
                a.token = None;
                a.error_code = Some("JobFailed".into());
                a.error_message = Some("The approval request timed out".into());
                a.updated_ms = now;
                moved = true;
            }
        }
    }
    if moved {
        touch(e, now, out);
    }
    let Some(rec) = e.stages.last() else {
        return false;
    };
    if rec.actions.iter().any(|a| a.status == status::IN_PROGRESS) {
        if stopping && e.status != status::STOPPING {
            e.status = status::STOPPING.into();
            if let Some(r) = e.stages.last_mut() {
                r.status = status::STOPPING.into();
            }
            touch(e, now, out);
            return true;
        }
        return moved;
    }
    let failed = rec
        .actions
        .iter()
        .find(|a| a.status == status::FAILED || a.status == status::ABANDONED)
        .map(|a| a.name.clone());
    if stopping {
        if let Some(r) = e.stages.last_mut() {
            r.status = status::STOPPED.into();
        }
        let reason = e.stop.as_ref().and_then(|(_, r)| r.clone());
        finish(e, status::STOPPED, reason, now, out);
        return true;
    }
    if let Some(name) = failed {
        if let Some(r) = e.stages.last_mut() {
            r.status = status::FAILED.into();
        }
        let summary = format!("The action {name} in stage {} failed", stage.name);
        out.failed_stages.push((e.id.clone(), stage.name.clone()));
        finish(e, status::FAILED, Some(summary), now, out);
        return true;
    }
    let done_order = rec.actions.iter().map(|a| a.run_order).max().unwrap_or(0);
    let next_order = stage
        .actions
        .iter()
        .map(|a| a.run_order.unwrap_or(1))
        .filter(|o| *o > done_order)
        .min();
    match next_order {
        Some(order) => {
            let stage_name = stage.name.clone();
            for a in stage
                .actions
                .iter()
                .filter(|a| a.run_order.unwrap_or(1) == order)
            {
                let id = new_id();
                let rec = ActionRecord {
                    id: id.clone(),
                    stage: stage_name.clone(),
                    name: a.name.clone(),
                    run_order: order,
                    status: status::IN_PROGRESS.into(),
                    started_ms: now,
                    updated_ms: now,
                    ..Default::default()
                };
                if let Some(r) = e.stages.last_mut() {
                    r.actions.push(rec);
                }
                out.start.push((e.id.clone(), id));
            }
            touch(e, now, out);
        }
        None => {
            if let Some(r) = e.stages.last_mut() {
                r.status = status::SUCCEEDED.into();
            }
            if index + 1 >= decl.stages.len() || e.only_stage == Some(index) {
                finish(e, status::SUCCEEDED, None, now, out);
            } else {
                e.position = Position::Waiting { stage: index + 1 };
                touch(e, now, out);
            }
        }
    }
    true
}

/// Executions waiting before a stage: stop them, supersede them, or let one (or, in
/// PARALLEL mode, all) in.
fn admit_waiting<'d>(
    decl_of: &dyn Fn(&ExecRecord) -> Option<&'d PipelineDeclaration>,
    mode: &ExecutionMode,
    disabled: &BTreeSet<String>,
    execs: &mut [ExecRecord],
    now: i64,
    new_id: &mut dyn FnMut() -> String,
    out: &mut Outcome,
) -> bool {
    let mut moved = false;
    for e in execs.iter_mut() {
        if matches!(e.position, Position::Waiting { .. }) && e.stop.is_some() {
            let reason = e.stop.as_ref().and_then(|(_, r)| r.clone());
            finish(e, status::STOPPED, reason, now, out);
            moved = true;
        }
    }
    // Stage names each execution is running (the locks), and who waits where.
    let running: BTreeSet<String> = execs
        .iter()
        .filter_map(|e| match e.position {
            Position::Running { stage } => decl_of(e)
                .and_then(|d| d.stages.get(stage))
                .map(|s| s.name.clone()),
            _ => None,
        })
        .collect();
    let mut waiting: Vec<(String, usize)> = Vec::new(); // (stage name, exec index)
    for (i, e) in execs.iter().enumerate() {
        if let Position::Waiting { stage } = e.position
            && let Some(s) = decl_of(e).and_then(|d| d.stages.get(stage))
        {
            waiting.push((s.name.clone(), i));
        }
    }
    let stages: BTreeSet<String> = waiting.iter().map(|(s, _)| s.clone()).collect();
    for name in stages {
        let mut here: Vec<usize> = waiting
            .iter()
            .filter(|(s, _)| *s == name)
            .map(|(_, i)| *i)
            .collect();
        // `execs` is sorted oldest first, so `here` is too.
        if *mode == ExecutionMode::Superseded && here.len() > 1 {
            let newest = here[here.len() - 1];
            for &i in &here[..here.len() - 1] {
                let by = execs[newest].id.clone();
                finish(
                    &mut execs[i],
                    status::SUPERSEDED,
                    Some(format!("Superseded by execution {by}")),
                    now,
                    out,
                );
            }
            here = vec![newest];
            moved = true;
        }
        if disabled.contains(&name) {
            continue;
        }
        let admitted: Vec<usize> = match mode {
            ExecutionMode::Parallel => here,
            _ if running.contains(&name) => Vec::new(),
            ExecutionMode::Superseded => here.last().copied().into_iter().collect(),
            _ => here.first().copied().into_iter().collect(),
        };
        for i in admitted {
            let e = &mut execs[i];
            let Position::Waiting { stage } = e.position else {
                continue;
            };
            e.position = Position::Running { stage };
            e.stages.push(StageRecord {
                name: name.clone(),
                status: status::IN_PROGRESS.into(),
                actions: Vec::new(),
            });
            touch(e, now, out);
            if let Some(decl) = decl_of(e) {
                advance_running(decl, e, now, new_id, out);
            }
            moved = true;
        }
    }
    moved
}

#[cfg(test)]
#[path = "step_tests.rs"]
mod tests;
