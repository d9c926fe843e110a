//! CodeBuild with the real clients against `ferry serve`: boto3 breadth and bad input with
//! builds that really run (`tests/e2e/codebuild_api.py`), the `aws codebuild` commands users
//! type, and a server restart in the middle of a build — on SQLite and, when configured,
//! PostgreSQL.

mod common;

use std::time::{Duration, Instant};

use common::{Server, backends};

#[test]
fn boto3_codebuild_projects_and_builds() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codebuild_api.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn the_fake_executor_runs_the_build_life_cycle_without_processes() {
    for db in backends() {
        let s = Server::start_with_env(db, &[("FERRY_BUILD_EXECUTOR", "fake")]);
        let out = s.python("codebuild_fake.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

/// Needs root (commands run as another user).
#[test]
fn run_as_runs_commands_as_another_user() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codebuild_run_as.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

/// Needs a Docker-compatible engine at `DOCKER_HOST` (`.ci/run` starts Podman's service).
#[test]
fn the_docker_executor_runs_builds_in_the_projects_image() {
    for db in backends() {
        let s = Server::start_with_env(db, &[("FERRY_BUILD_EXECUTOR", "docker")]);
        let out = s.python("codebuild_docker.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn real_world_buildspecs_pytest_npm_and_maven() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("codebuild_realworld.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
        let arn = out
            .lines()
            .find_map(|l| l.strip_prefix("TEST_REPORT_ARN="))
            .unwrap()
            .to_owned();
        let failed = s.aws_json(&[
            "codebuild",
            "describe-test-cases",
            "--report-arn",
            &arn,
            "--filter",
            "status=FAILED",
        ]);
        let cases = failed["testCases"].as_array().unwrap();
        assert_eq!(cases.len(), 1, "{failed}");
        assert_eq!(cases[0]["name"], "test_div_fails");
        let all = s.aws_json(&["codebuild", "describe-test-cases", "--report-arn", &arn]);
        assert_eq!(all["testCases"].as_array().unwrap().len(), 3);
        // The Maven build's jar, as users see it.
        let listed = s.aws(&["s3", "ls", "s3://jars/releases/greeter/"]);
        let text = String::from_utf8_lossy(&listed.stdout);
        assert!(text.contains("greeter-1.0.jar"), "{text}");
    }
}

fn wait_done(s: &Server, id: &str, within: Duration) -> serde_json::Value {
    let until = Instant::now() + within;
    loop {
        let got = s.aws_json(&["codebuild", "batch-get-builds", "--ids", id]);
        let b = got["builds"][0].clone();
        if b["buildComplete"] == true || Instant::now() > until {
            return b;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn aws_cli_runs_a_build_and_a_restart_never_leaves_one_in_progress() {
    for db in backends() {
        let mut s = Server::start(db);
        let spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"hello from $CODEBUILD_BUILD_ID\"\n      - sleep $NAP\n";
        s.aws_json(&[
            "codebuild",
            "create-project",
            "--name",
            "cli-demo",
            "--source",
            &serde_json::json!({"type": "NO_SOURCE", "buildspec": spec}).to_string(),
            "--artifacts",
            "type=NO_ARTIFACTS",
            "--environment",
            "type=LINUX_CONTAINER,image=aws/codebuild/standard:7.0,computeType=BUILD_GENERAL1_SMALL,environmentVariables=[{name=NAP,value=0}]",
            "--service-role",
            "arn:aws:iam::123456789012:role/cb",
        ]);
        let started = s.aws_json(&["codebuild", "start-build", "--project-name", "cli-demo"]);
        let id = started["build"]["id"].as_str().unwrap().to_owned();
        let b = wait_done(&s, &id, Duration::from_secs(30));
        assert_eq!(b["buildStatus"], "SUCCEEDED", "{b}");
        let events = s.aws_json(&[
            "logs",
            "get-log-events",
            "--log-group-name",
            "/aws/codebuild/cli-demo",
            "--log-stream-name",
            id.split(':').nth(1).unwrap(),
            "--start-from-head",
        ]);
        let text: Vec<&str> = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        assert!(
            text.iter().any(|l| *l == format!("hello from {id}")),
            "{text:?}"
        );

        // A restart in the middle of a build: the build ends FAILED with a phase context.
        let long = s.aws_json(&[
            "codebuild",
            "start-build",
            "--project-name",
            "cli-demo",
            "--environment-variables-override",
            "name=NAP,value=120",
        ]);
        let long_id = long["build"]["id"].as_str().unwrap().to_owned();
        let until = Instant::now() + Duration::from_secs(20);
        while s.aws_json(&["codebuild", "batch-get-builds", "--ids", &long_id])["builds"][0]["currentPhase"]
            != "BUILD"
        {
            assert!(Instant::now() < until, "build never reached BUILD");
            std::thread::sleep(Duration::from_millis(200));
        }
        s.restart();
        let b = wait_done(&s, &long_id, Duration::from_secs(20));
        assert_eq!(b["buildStatus"], "FAILED", "{b}");
        let build_phase = b["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["phaseType"] == "BUILD")
            .unwrap()
            .clone();
        assert_eq!(build_phase["phaseStatus"], "FAILED");
        assert!(
            build_phase["contexts"][0]["message"]
                .as_str()
                .unwrap()
                .contains("interrupted"),
            "{build_phase}"
        );
        let leftovers: Vec<_> = std::fs::read_dir(s.data_dir.join("builds"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(
            leftovers.is_empty(),
            "workspaces left behind: {leftovers:?}"
        );
        let ids = s.aws_json(&[
            "codebuild",
            "list-builds-for-project",
            "--project-name",
            "cli-demo",
        ]);
        assert_eq!(ids["ids"][0], long_id.as_str());
    }
}
