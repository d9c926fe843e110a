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
