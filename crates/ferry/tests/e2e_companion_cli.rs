//! The real `aws` CLI against `ferry serve` for the companion services: CloudWatch Logs
//! (groups, streams, events, reads the way `aws logs tail` does them, and a follow loop while
//! events are appended), SSM Parameter Store (SecureString with and without decryption) and
//! Secrets Manager. Each test runs on SQLite and, when configured, PostgreSQL.
//!
//! aws-cli v1 (what the machine has) has no `aws logs tail` (that is a v2 customization); its
//! `--since 1h` is FilterLogEvents from one hour ago, paginated by nextToken, and `--follow`
//! polls FilterLogEvents from the newest timestamp seen, dropping event ids already printed.
//! The tests drive exactly those calls through the v1 CLI.

mod common;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Server, backends};
use serde_json::Value;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn messages(v: &Value) -> Vec<String> {
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect()
}

fn put_events(s: &Server, group: &str, stream: &str, events: &[(i64, &str)]) -> Value {
    let json: Vec<Value> = events
        .iter()
        .map(|(ts, m)| serde_json::json!({"timestamp": ts, "message": m}))
        .collect();
    s.aws_json(&[
        "logs",
        "put-log-events",
        "--log-group-name",
        group,
        "--log-stream-name",
        stream,
        "--log-events",
        &Value::Array(json).to_string(),
    ])
}

#[test]
fn aws_cli_logs_put_read_tail_and_follow() {
    for db in backends() {
        let s = Server::start(db);
        s.aws_json(&["logs", "create-log-group", "--log-group-name", "/ferry/cli"]);
        s.aws_error(
            &["logs", "create-log-group", "--log-group-name", "/ferry/cli"],
            "ResourceAlreadyExistsException",
        );
        for stream in ["api", "worker"] {
            s.aws_json(&[
                "logs",
                "create-log-stream",
                "--log-group-name",
                "/ferry/cli",
                "--log-stream-name",
                stream,
            ]);
        }
        let now = now_ms();
        let old = now - 2 * 3_600_000;
        put_events(&s, "/ferry/cli", "api", &[(old, "two hours ago")]);
        let r = put_events(
            &s,
            "/ferry/cli",
            "api",
            &[
                (now - 3000, "GET / 200"),
                (now - 2000, "ERROR upstream timeout"),
                (now - 1000, "GET /health 200"),
            ],
        );
        assert!(r.get("rejectedLogEventsInfo").is_none(), "{r}");
        put_events(&s, "/ferry/cli", "worker", &[(now - 2500, "job 7 started")]);
        s.aws_error(
            &[
                "logs",
                "put-log-events",
                "--log-group-name",
                "/ferry/cli",
                "--log-stream-name",
                "nope",
                "--log-events",
                "timestamp=1,message=x",
            ],
            "ResourceNotFoundException",
        );

        // get-log-events: from the head, then the same forward token once nothing is left.
        let head = s.aws_json(&[
            "logs",
            "get-log-events",
            "--log-group-name",
            "/ferry/cli",
            "--log-stream-name",
            "api",
            "--start-from-head",
        ]);
        assert_eq!(
            messages(&head),
            [
                "two hours ago",
                "GET / 200",
                "ERROR upstream timeout",
                "GET /health 200"
            ]
        );
        let token = head["nextForwardToken"].as_str().unwrap().to_owned();
        let rest = s.aws_json(&[
            "logs",
            "get-log-events",
            "--log-group-name",
            "/ferry/cli",
            "--log-stream-name",
            "api",
            "--next-token",
            &token,
        ]);
        assert!(messages(&rest).is_empty());
        assert_eq!(rest["nextForwardToken"], token.as_str());

        // `tail --since 1h`: FilterLogEvents from an hour ago, interleaved, paginated by the
        // CLI one event per page (so the nextToken loop is exercised).
        let since = (now - 3_600_000).to_string();
        let tail = s.aws_json(&[
            "logs",
            "filter-log-events",
            "--log-group-name",
            "/ferry/cli",
            "--start-time",
            &since,
            "--page-size",
            "1",
        ]);
        assert_eq!(
            messages(&tail),
            [
                "GET / 200",
                "job 7 started",
                "ERROR upstream timeout",
                "GET /health 200"
            ]
        );
        assert_eq!(tail["events"][1]["logStreamName"], "worker");
        let errors = s.aws_json(&[
            "logs",
            "filter-log-events",
            "--log-group-name",
            "/ferry/cli",
            "--start-time",
            &since,
            "--filter-pattern",
            "ERROR",
        ]);
        assert_eq!(messages(&errors), ["ERROR upstream timeout"]);
        let phrase = s.aws_json(&[
            "logs",
            "filter-log-events",
            "--log-group-name",
            "/ferry/cli",
            "--filter-pattern",
            "\"job 7\"",
            "--log-stream-name-prefix",
            "wor",
        ]);
        assert_eq!(messages(&phrase), ["job 7 started"]);

        // `tail --follow`: a polling loop of filter-log-events from the newest timestamp seen,
        // running while events are appended, then killed.
        let script = format!(
            "since={since}; while true; do \
               aws --output text logs filter-log-events --log-group-name /ferry/cli \
                 --start-time $since --query 'events[].[timestamp,eventId,message]' \
                 | while IFS=$'\\t' read -r ts id msg; do \
                     [ -n \"$id\" ] || continue; \
                     grep -qx \"$id\" seen 2>/dev/null && continue; echo \"$id\" >> seen; \
                     echo \"$msg\"; \
                   done; \
               sleep 0.3; done"
        );
        let work = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("bash");
        s.aws_env(&mut cmd);
        let mut follow = cmd
            .arg("-c")
            .arg(&script)
            .current_dir(work.path())
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        put_events(
            &s,
            "/ferry/cli",
            "api",
            &[(now_ms(), "appended while following 1")],
        );
        std::thread::sleep(Duration::from_millis(600));
        put_events(
            &s,
            "/ferry/cli",
            "worker",
            &[(now_ms(), "appended while following 2")],
        );
        std::thread::sleep(Duration::from_millis(2500));
        // Stop the loop (its own process group: bash and the aws it is running), then read
        // what it printed.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", follow.id())])
            .status();
        let _ = follow.wait();
        let mut out = String::new();
        follow
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let lines: Vec<&str> = out.lines().collect();
        for want in [
            "GET / 200",
            "ERROR upstream timeout",
            "appended while following 1",
            "appended while following 2",
        ] {
            assert_eq!(
                lines.iter().filter(|l| **l == want).count(),
                1,
                "{want:?} once in the follow output:\n{out}"
            );
        }
        assert!(!out.contains("two hours ago"), "{out}");

        // Streams by last event, retention, deletion.
        let streams = s.aws_json(&[
            "logs",
            "describe-log-streams",
            "--log-group-name",
            "/ferry/cli",
            "--order-by",
            "LastEventTime",
            "--descending",
        ]);
        assert_eq!(streams["logStreams"][0]["logStreamName"], "worker");
        s.aws_json(&[
            "logs",
            "put-retention-policy",
            "--log-group-name",
            "/ferry/cli",
            "--retention-in-days",
            "7",
        ]);
        let groups = s.aws_json(&[
            "logs",
            "describe-log-groups",
            "--log-group-name-prefix",
            "/ferry",
        ]);
        assert_eq!(groups["logGroups"][0]["retentionInDays"], 7);
        s.aws_json(&["logs", "delete-log-group", "--log-group-name", "/ferry/cli"]);
        s.aws_error(
            &["logs", "delete-log-group", "--log-group-name", "/ferry/cli"],
            "ResourceNotFoundException",
        );
    }
}

#[test]
fn aws_cli_parameters_and_secrets() {
    for db in backends() {
        let s = Server::start(db);
        let plain = "cli-Secure-Value-20417";
        let put = s.aws_json(&[
            "ssm",
            "put-parameter",
            "--name",
            "/cli/db/password",
            "--type",
            "SecureString",
            "--value",
            plain,
        ]);
        assert_eq!(put["Version"], 1);
        let got = s.aws_json(&[
            "ssm",
            "get-parameter",
            "--name",
            "/cli/db/password",
            "--with-decryption",
        ]);
        assert_eq!(got["Parameter"]["Value"], plain);
        assert_eq!(got["Parameter"]["Type"], "SecureString");
        let sealed = s.aws_json(&["ssm", "get-parameter", "--name", "/cli/db/password"]);
        assert_ne!(sealed["Parameter"]["Value"], plain);
        s.aws_error(
            &[
                "ssm",
                "put-parameter",
                "--name",
                "/cli/db/password",
                "--type",
                "SecureString",
                "--value",
                "x",
            ],
            "ParameterAlreadyExists",
        );
        s.aws_json(&[
            "ssm",
            "put-parameter",
            "--name",
            "/cli/db/host",
            "--type",
            "String",
            "--value",
            "db.internal",
        ]);
        let by_path = s.aws_json(&[
            "ssm",
            "get-parameters-by-path",
            "--path",
            "/cli",
            "--recursive",
            "--with-decryption",
            "--page-size",
            "1",
        ]);
        let names: Vec<&str> = by_path["Parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["/cli/db/host", "/cli/db/password"]);
        s.aws_error(
            &["ssm", "get-parameter", "--name", "/cli/missing"],
            "ParameterNotFound",
        );

        let created = s.aws_json(&[
            "secretsmanager",
            "create-secret",
            "--name",
            "cli/token",
            "--secret-string",
            "tok-1",
        ]);
        let arn = created["ARN"].as_str().unwrap().to_owned();
        assert!(
            arn.starts_with(&format!(
                "arn:aws:secretsmanager:us-east-1:{}:secret:cli/token-",
                s.account
            )),
            "{arn}"
        );
        let v = s.aws_json(&[
            "secretsmanager",
            "get-secret-value",
            "--secret-id",
            "cli/token",
        ]);
        assert_eq!(v["SecretString"], "tok-1");
        assert_eq!(v["VersionStages"], serde_json::json!(["AWSCURRENT"]));
        s.aws_json(&[
            "secretsmanager",
            "put-secret-value",
            "--secret-id",
            &arn,
            "--secret-string",
            "tok-2",
        ]);
        let v = s.aws_json(&["secretsmanager", "get-secret-value", "--secret-id", &arn]);
        assert_eq!(v["SecretString"], "tok-2");
        let prev = s.aws_json(&[
            "secretsmanager",
            "get-secret-value",
            "--secret-id",
            "cli/token",
            "--version-stage",
            "AWSPREVIOUS",
        ]);
        assert_eq!(prev["SecretString"], "tok-1");
        let listed = s.aws_json(&["secretsmanager", "list-secrets"]);
        assert_eq!(listed["SecretList"][0]["Name"], "cli/token");
        s.aws_error(
            &[
                "secretsmanager",
                "create-secret",
                "--name",
                "cli/token",
                "--secret-string",
                "x",
            ],
            "ResourceExistsException",
        );
        s.aws_json(&[
            "secretsmanager",
            "delete-secret",
            "--secret-id",
            "cli/token",
            "--recovery-window-in-days",
            "7",
        ]);
        s.aws_error(
            &[
                "secretsmanager",
                "get-secret-value",
                "--secret-id",
                "cli/token",
            ],
            "InvalidRequestException",
        );
        s.aws_json(&[
            "secretsmanager",
            "restore-secret",
            "--secret-id",
            "cli/token",
        ]);
        s.aws_json(&[
            "secretsmanager",
            "delete-secret",
            "--secret-id",
            "cli/token",
            "--force-delete-without-recovery",
        ]);
        s.aws_error(
            &[
                "secretsmanager",
                "get-secret-value",
                "--secret-id",
                "cli/token",
            ],
            "ResourceNotFoundException",
        );
    }
}
