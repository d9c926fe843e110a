//! boto3 breadth and bad-input coverage (`tests/e2e/codecommit_api.py`) against `ferry serve`,
//! on SQLite and, when configured, PostgreSQL.

mod common;

#[test]
fn boto3_codecommit_api_and_bad_input() {
    for db in common::backends() {
        let s = common::Server::start(db);
        let out = s.python("codecommit_api.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn boto3_codecommit_files_and_commits() {
    for db in common::backends() {
        let s = common::Server::start(db);
        let out = s.python("codecommit_content.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn boto3_codecommit_pull_request_life_cycle() {
    for db in common::backends() {
        let s = common::Server::start(db);
        s.admin(&["create-user", "bob"]);
        let key = s.admin(&["create-access-key", "bob"]);
        let field = |name: &str| {
            key.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap()
                .trim()
                .to_owned()
        };
        let (akid, secret) = (
            field("aws_access_key_id = "),
            field("aws_secret_access_key = "),
        );
        let out = s.python(
            "codecommit_pulls.py",
            &[("BOB_AKID", &akid), ("BOB_SECRET", &secret)],
        );
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}
