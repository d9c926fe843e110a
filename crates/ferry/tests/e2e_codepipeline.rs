//! CodePipeline with the real clients against `ferry serve` (`tests/e2e/codepipeline_flow.py`):
//! a pipeline from a Ferry repository through CodeBuild, a manual approval and CodeDeploy to a
//! `ferry agent` host, started by CreatePipeline and by a git push — on SQLite and, when
//! configured, PostgreSQL.

mod common;

use common::{Server, backends};

#[test]
fn a_push_flows_through_build_approval_and_deployment() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codepipeline_flow.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn execution_modes_push_filters_and_stage_retry() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codepipeline_modes.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn executions_survive_a_server_restart() {
    for db in backends() {
        let mut s = Server::start(db);
        let out = s.python("codepipeline_restart.py", &[("PHASE", "start")]);
        let field = |name: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("{name} missing: {out}"))
                .to_owned()
        };
        let keep = ["BUILDING=", "BUILD_ID=", "APPROVING=", "TOKEN="].map(field);
        s.restart();
        let out = s.python(
            "codepipeline_restart.py",
            &[
                ("PHASE", "finish"),
                ("BUILDING", &keep[0]),
                ("BUILD_ID", &keep[1]),
                ("APPROVING", &keep[2]),
                ("TOKEN", &keep[3]),
            ],
        );
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn the_readme_quickstart_serves_the_app_and_redeploys_on_a_commit() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("quickstart.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn stage_rollback_and_automatic_retry() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codepipeline_rollback.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn custom_actions_run_by_a_job_worker() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codepipeline_jobs.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn commands_clone_refs_batches_and_third_party_actions() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codepipeline_compute.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}
