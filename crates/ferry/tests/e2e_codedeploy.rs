//! CodeDeploy with real `ferry agent` hosts and the real clients against `ferry serve`
//! (`tests/e2e/codedeploy_agents.py`): four agents in their own mount namespaces, rolling
//! deployments under four configurations with a failing host, automatic rollback, stop with
//! rollback, blue/green, impersonation refused, and `aws deploy push` / `create-deployment` /
//! `wait deployment-successful` / `get-deployment-instance` — on SQLite and, when
//! configured, PostgreSQL. Needs root (the agents' hosts are mount namespaces).

mod common;

use common::{Server, backends};

#[test]
fn agents_deploy_roll_back_and_answer_the_cli() {
    assert!(
        nix_is_root(),
        "the CodeDeploy end-to-end test needs root to give each agent its own mount namespace"
    );
    for db in backends() {
        let s = Server::start_with_env(db, &[("FERRY_DEPLOY_HEARTBEAT_SECS", "20")]);
        let out = s.python("codedeploy_agents.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn a_deployment_survives_a_server_restart_and_a_hostile_bundle_fails_cleanly() {
    for db in backends() {
        let mut s = Server::start(db);
        let out = s.python("codedeploy_restart.py", &[("PHASE", "start")]);
        let field = |name: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("{name} missing: {out}"))
                .to_owned()
        };
        let (agent, deployment) = (field("AGENT_PID="), field("DEPLOYMENT_ID="));
        s.restart();
        let out = s.python(
            "codedeploy_restart.py",
            &[("PHASE", "finish"), ("DEPLOYMENT_ID", &deployment)],
        );
        let _ = std::process::Command::new("kill").arg(&agent).status();
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn a_silent_agent_fails_its_instance_within_the_heartbeat_window() {
    for db in backends() {
        let s = Server::start_with_env(db, &[("FERRY_DEPLOY_HEARTBEAT_SECS", "2")]);
        let out = s.python("codedeploy_dead_agent.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn an_agent_registers_with_a_token_and_keeps_its_key() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codedeploy_token.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
