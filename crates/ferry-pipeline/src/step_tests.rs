use super::*;
use std::collections::BTreeMap;

use crate::record::{ExecRecord, Position};

/// Source (one action) → Build (two actions at runOrder 1, one at 2) → Deploy.
fn decl(mode: ExecutionMode) -> PipelineDeclaration {
    let action = |name: &str, category: &str, order: i32| {
        serde_json::json!({"name": name, "runOrder": order,
            "actionTypeId": {"category": category, "owner": "AWS", "provider": "X", "version": "1"}})
    };
    serde_json::from_value(serde_json::json!({
        "name": "p", "roleArn": "arn:aws:iam::123456789012:role/r",
        "executionMode": serde_json::to_value(mode).unwrap(),
        "stages": [
            {"name": "Source", "actions": [action("src", "Source", 1)]},
            {"name": "Build", "actions": [action("a", "Build", 1), action("b", "Test", 1), action("c", "Build", 2)]},
            {"name": "Approve", "actions": [action("ok", "Approval", 1)]},
        ]
    }))
    .unwrap()
}

fn exec(id: &str, at: i64) -> ExecRecord {
    ExecRecord {
        id: id.into(),
        pipeline: "p".into(),
        pipeline_version: 1,
        status: status::IN_PROGRESS.into(),
        status_summary: None,
        trigger_type: "StartPipelineExecution".into(),
        trigger_detail: None,
        execution_mode: "SUPERSEDED".into(),
        started_ms: at,
        updated_ms: at,
        position: Position::Waiting { stage: 0 },
        stages: Vec::new(),
        artifacts: BTreeMap::new(),
        variables: BTreeMap::new(),
        pipeline_variables: BTreeMap::new(),
        source_overrides: BTreeMap::new(),
        source_revisions: Vec::new(),
        stop: None,
        execution_type: "STANDARD".into(),
        rollback_target: None,
        only_stage: None,
        auto_retries: 0,
    }
}

struct World {
    decl: PipelineDeclaration,
    mode: ExecutionMode,
    disabled: BTreeSet<String>,
    execs: Vec<ExecRecord>,
    next: u32,
    now: i64,
}

impl World {
    fn new(mode: ExecutionMode) -> Self {
        Self {
            decl: decl(mode),
            mode,
            disabled: BTreeSet::new(),
            execs: Vec::new(),
            next: 0,
            now: 1000,
        }
    }

    fn step(&mut self) -> Vec<(String, String)> {
        self.now += 1;
        let decl = &self.decl;
        let next = &mut self.next;
        let mut new_id = || {
            *next += 1;
            format!("act-{next}")
        };
        step(
            &|_| Some(decl),
            &self.mode,
            &self.disabled,
            &mut self.execs,
            self.now,
            &mut new_id,
        )
        .start
    }

    fn get(&self, id: &str) -> &ExecRecord {
        self.execs.iter().find(|e| e.id == id).unwrap()
    }

    /// Ends every in-progress action of `id` with `result`.
    fn finish_all(&mut self, id: &str, result: &str) {
        let e = self.execs.iter_mut().find(|e| e.id == id).unwrap();
        for s in &mut e.stages {
            for a in &mut s.actions {
                if a.status == status::IN_PROGRESS {
                    a.status = result.into();
                }
            }
        }
    }

    fn names(&self, started: &[(String, String)]) -> Vec<String> {
        started
            .iter()
            .map(|(e, a)| {
                let rec = self.get(e);
                let name = rec.actions().find(|x| &x.id == a).unwrap().name.clone();
                format!("{e}:{name}")
            })
            .collect()
    }
}

#[test]
fn an_execution_runs_stages_and_run_order_groups_in_order() {
    let mut w = World::new(ExecutionMode::Superseded);
    w.execs.push(exec("e1", 1));
    let s = w.step();
    assert_eq!(w.names(&s), ["e1:src"]);
    w.finish_all("e1", status::SUCCEEDED);
    let s = w.step();
    assert_eq!(w.names(&s), ["e1:a", "e1:b"], "runOrder 1 runs in parallel");
    w.finish_all("e1", status::SUCCEEDED);
    let s = w.step();
    assert_eq!(w.names(&s), ["e1:c"], "then runOrder 2");
    w.finish_all("e1", status::SUCCEEDED);
    let s = w.step();
    assert_eq!(w.names(&s), ["e1:ok"]);
    w.finish_all("e1", status::SUCCEEDED);
    assert!(w.step().is_empty());
    let e = w.get("e1");
    assert_eq!(e.status, status::SUCCEEDED);
    assert_eq!(e.position, Position::Done);
    assert!(e.stages.iter().all(|s| s.status == status::SUCCEEDED));
}

#[test]
fn a_failed_action_fails_the_stage_after_its_siblings_and_starts_nothing_later() {
    let mut w = World::new(ExecutionMode::Superseded);
    w.execs.push(exec("e1", 1));
    w.step();
    w.finish_all("e1", status::SUCCEEDED);
    let s = w.step();
    let a = s[0].1.clone();
    w.execs[0].action_mut(&a).unwrap().status = status::FAILED.into();
    assert!(
        w.step().is_empty(),
        "the sibling still runs: nothing settles"
    );
    assert_eq!(w.get("e1").status, status::IN_PROGRESS);
    w.finish_all("e1", status::SUCCEEDED);
    assert!(w.step().is_empty(), "runOrder 2 never starts");
    let e = w.get("e1");
    assert_eq!(e.status, status::FAILED);
    assert_eq!(e.stage("Build").unwrap().status, status::FAILED);
    assert!(
        e.status_summary
            .as_deref()
            .unwrap()
            .contains("in stage Build failed")
    );
}

#[test]
fn superseded_mode_keeps_one_waiting_execution_per_stage() {
    let mut w = World::new(ExecutionMode::Superseded);
    w.execs.push(exec("e1", 1));
    w.step();
    // e1 holds Source; e2 then e3 arrive: e2 waits, then e3 replaces it.
    w.execs.push(exec("e2", 2));
    assert!(w.step().is_empty());
    assert_eq!(w.get("e2").position, Position::Waiting { stage: 0 });
    w.execs.push(exec("e3", 3));
    assert!(w.step().is_empty());
    assert_eq!(w.get("e2").status, status::SUPERSEDED);
    assert_eq!(w.get("e3").position, Position::Waiting { stage: 0 });
    // e1 moves on to Build; e3 enters Source at once.
    w.finish_all("e1", status::SUCCEEDED);
    let s = w.step();
    assert_eq!(w.names(&s), ["e1:a", "e1:b", "e3:src"]);
}

#[test]
fn queued_mode_admits_waiting_executions_in_arrival_order() {
    let mut w = World::new(ExecutionMode::Queued);
    for (i, id) in ["e1", "e2", "e3"].iter().enumerate() {
        w.execs.push(exec(id, i as i64));
    }
    let s = w.step();
    assert_eq!(w.names(&s), ["e1:src"]);
    w.finish_all("e1", status::SUCCEEDED);
    let s = w.step();
    assert_eq!(w.names(&s), ["e1:a", "e1:b", "e2:src"]);
    assert_eq!(
        w.get("e3").status,
        status::IN_PROGRESS,
        "nobody is superseded"
    );
    w.finish_all("e2", status::SUCCEEDED);
    let s = w.step();
    assert_eq!(
        w.names(&s),
        ["e3:src"],
        "e2 waits for Build, e3 enters Source"
    );
    assert_eq!(w.get("e2").position, Position::Waiting { stage: 1 });
}

#[test]
fn parallel_mode_has_no_stage_locks() {
    let mut w = World::new(ExecutionMode::Parallel);
    w.execs.push(exec("e1", 1));
    w.execs.push(exec("e2", 2));
    let s = w.step();
    assert_eq!(w.names(&s), ["e1:src", "e2:src"]);
}

#[test]
fn a_disabled_transition_holds_executions_until_enabled() {
    let mut w = World::new(ExecutionMode::Superseded);
    w.disabled.insert("Build".into());
    w.execs.push(exec("e1", 1));
    w.step();
    w.finish_all("e1", status::SUCCEEDED);
    assert!(w.step().is_empty());
    assert_eq!(w.get("e1").position, Position::Waiting { stage: 1 });
    w.disabled.clear();
    let s = w.step();
    assert_eq!(w.names(&s), ["e1:a", "e1:b"]);
}

#[test]
fn stop_waits_for_running_actions_and_abandon_does_not() {
    let mut w = World::new(ExecutionMode::Superseded);
    w.execs.push(exec("e1", 1));
    w.step();
    w.execs[0].stop = Some((false, Some("enough".into())));
    w.step();
    assert_eq!(w.get("e1").status, status::STOPPING);
    w.finish_all("e1", status::SUCCEEDED);
    assert!(w.step().is_empty(), "nothing new starts");
    assert_eq!(w.get("e1").status, status::STOPPED);
    assert_eq!(w.get("e1").status_summary.as_deref(), Some("enough"));

    let mut w = World::new(ExecutionMode::Superseded);
    w.execs.push(exec("e2", 1));
    w.step();
    w.execs[0].stop = Some((true, None));
    w.step();
    let e = w.get("e2");
    assert_eq!(e.status, status::STOPPED);
    assert_eq!(e.stages[0].actions[0].status, status::ABANDONED);
}

#[test]
fn a_manual_approval_times_out() {
    let mut w = World::new(ExecutionMode::Superseded);
    w.execs.push(exec("e1", 1));
    for _ in 0..3 {
        w.step();
        w.finish_all("e1", status::SUCCEEDED);
    }
    let s = w.step();
    assert_eq!(w.names(&s), ["e1:ok"]);
    w.now += APPROVAL_TIMEOUT_MS + 10;
    w.step();
    let e = w.get("e1");
    assert_eq!(e.status, status::FAILED);
    let ok = e.stage("Approve").unwrap();
    assert_eq!(
        ok.actions[0].error_message.as_deref(),
        Some("The approval request timed out")
    );
}
