//! IAM and STS with the real clients against `ferry serve`: boto3 breadth and bad input
//! (`tests/e2e/iam_sts.py`), and the CLI flow a build or a pipeline action goes through —
//! `aws sts assume-role`, then calls signed with the temporary credentials — on SQLite and,
//! when configured, PostgreSQL.

mod common;

use std::process::Command;

use common::{Server, backends};

#[test]
fn boto3_iam_and_sts() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("iam_sts.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn aws_cli_assume_role_then_use_temporary_credentials() {
    for db in backends() {
        let s = Server::start(db);
        let me = s.aws_json(&["sts", "get-caller-identity"]);
        assert_eq!(me["Account"], s.account.as_str());
        let user = s.aws_json(&["iam", "create-user", "--user-name", "ci"]);
        assert_eq!(
            user["User"]["Arn"],
            format!("arn:aws:iam::{}:user/ci", s.account)
        );
        let role = s.aws_json(&[
            "iam",
            "create-role",
            "--role-name",
            "pipeline",
            "--assume-role-policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codepipeline.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        ]);
        let arn = role["Role"]["Arn"].as_str().unwrap().to_owned();
        let assumed = s.aws_json(&[
            "sts",
            "assume-role",
            "--role-arn",
            &arn,
            "--role-session-name",
            "deploy-7",
        ]);
        let c = &assumed["Credentials"];
        let temp = |args: &[&str], token: Option<&str>| {
            let mut cmd = Command::new("aws");
            s.aws_env(&mut cmd);
            cmd.env("AWS_ACCESS_KEY_ID", c["AccessKeyId"].as_str().unwrap())
                .env(
                    "AWS_SECRET_ACCESS_KEY",
                    c["SecretAccessKey"].as_str().unwrap(),
                );
            if let Some(t) = token {
                cmd.env("AWS_SESSION_TOKEN", t);
            }
            cmd.args(["--output", "json"]).args(args).output().unwrap()
        };
        let token = c["SessionToken"].as_str().unwrap();
        let who = temp(&["sts", "get-caller-identity"], Some(token));
        assert!(
            who.status.success(),
            "{}",
            String::from_utf8_lossy(&who.stderr)
        );
        let who: serde_json::Value = serde_json::from_slice(&who.stdout).unwrap();
        assert_eq!(
            who["Arn"],
            format!("arn:aws:sts::{}:assumed-role/pipeline/deploy-7", s.account)
        );
        let mb = temp(&["s3", "mb", "s3://pipeline-artifacts"], Some(token));
        assert!(
            mb.status.success(),
            "{}",
            String::from_utf8_lossy(&mb.stderr)
        );
        let repo = temp(
            &[
                "codecommit",
                "create-repository",
                "--repository-name",
                "svc",
            ],
            Some(token),
        );
        assert!(
            repo.status.success(),
            "{}",
            String::from_utf8_lossy(&repo.stderr)
        );
        let refused = temp(&["sts", "get-caller-identity"], None);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("InvalidClientTokenId"));
        let forged = temp(&["s3", "ls"], Some("not-the-token"));
        assert!(!forged.status.success());
    }
}
