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
