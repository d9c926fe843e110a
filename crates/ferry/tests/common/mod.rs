//! End-to-end harness: spawns the real `ferry serve` binary on a free loopback port with a
//! fresh data dir (on SQLite, or on a new PostgreSQL database when `FERRY_TEST_POSTGRES_URL`
//! is set), and runs the real `aws` CLI, `git` and Python/boto3 against it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const AKID: &str = "AKIAFERRYTESTROOT001";
pub const SECRET: &str = "ferryTestSecretKey0000000000000000000001";

/// Which databases to run a test on: SQLite always, PostgreSQL when configured.
pub fn backends() -> Vec<Option<String>> {
    let mut v = vec![None];
    if let Ok(url) = std::env::var("FERRY_TEST_POSTGRES_URL") {
        v.push(Some(new_pg_database(&url)));
    }
    v
}

fn new_pg_database(admin: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(ferry_store::testing::new_postgres_database(admin))
        .expect("create PostgreSQL database")
}

/// A running `ferry serve`.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    /// `host:port` of git over SSH.
    pub ssh_addr: String,
    pub account: String,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub home: tempfile::TempDir,
    _data: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts a server on a new data dir.
    pub fn start(database_url: Option<String>) -> Self {
        Self::start_with_env(database_url, &[])
    }

    /// Starts a server on a new data dir with extra environment variables.
    pub fn start_with_env(database_url: Option<String>, env: &[(&str, &str)]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("data");
        let mut s = Self::launch(&dir, database_url, env);
        s._data = Some(data);
        s
    }

    /// Starts a server on an existing (or new) data dir.
    pub fn start_on(dir: &Path, database_url: Option<String>) -> Self {
        Self::launch(dir, database_url, &[])
    }

    fn launch(dir: &Path, database_url: Option<String>, env: &[(&str, &str)]) -> Self {
        Self::launch_at(dir, database_url, env, "127.0.0.1:0")
    }

    fn launch_at(
        dir: &Path,
        database_url: Option<String>,
        env: &[(&str, &str)],
        listen: &str,
    ) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
        cmd.args([
            "serve",
            "--listen",
            listen,
            "--ssh-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir)
        .env("FERRY_ROOT_ACCESS_KEY_ID", AKID)
        .env("FERRY_ROOT_SECRET_ACCESS_KEY", SECRET)
        .env("FERRY_LOG", "warn")
        .env_remove("FERRY_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(url) = &database_url {
            cmd.args(["--database-url", url]);
        }
        let mut child = cmd.spawn().expect("spawn ferry serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut url = String::new();
        let mut account = String::new();
        let mut ssh_addr = String::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("Ferry SSH listening on ") {
                ssh_addr = rest.trim().to_owned();
            }
            if let Some(rest) = line.strip_prefix("Ferry listening on ") {
                let (u, a) = rest.split_once(" (account ").unwrap();
                url = u.to_owned();
                account = a.trim_end_matches(')').to_owned();
                break;
            }
        }
        assert!(!url.is_empty(), "ferry serve did not start");
        std::thread::spawn(move || for _ in lines {});
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join(".gitconfig"),
            "[user]\n\tname = Ferry Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
        )
        .unwrap();
        Self {
            child: Some(child),
            url,
            ssh_addr,
            account,
            data_dir: dir.to_owned(),
            database_url,
            home,
            _data: None,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// Stops the server with SIGTERM and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let status = c.wait().unwrap();
            assert!(status.success(), "ferry serve exited with {status}");
        }
    }

    /// Stops and starts again on the same data dir, database and address (clients and
    /// agents holding the URL reach the new process).
    pub fn restart(&mut self) {
        self.stop();
        let data = self._data.take();
        let listen = self.url.trim_start_matches("http://").to_owned();
        let mut next = Self::launch_at(
            &self.data_dir.clone(),
            self.database_url.clone(),
            &[],
            &listen,
        );
        next._data = data;
        std::mem::swap(self, &mut next);
        // `next` is now the stopped server; its temp dirs other than data are dropped.
    }

    /// Environment for AWS clients: root credentials, no user config.
    pub fn aws_env(&self, cmd: &mut Command) {
        cmd.env("AWS_ACCESS_KEY_ID", AKID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_ENDPOINT_URL", &self.url)
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("HOME", self.home.path())
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
    }

    /// Runs the `aws` CLI.
    pub fn aws(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("aws");
        self.aws_env(&mut cmd);
        cmd.args(["--output", "json"]).args(args);
        cmd.output().expect("run aws")
    }

    /// Runs the `aws` CLI and parses its JSON output; panics on failure.
    pub fn aws_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.aws(args);
        assert!(
            out.status.success(),
            "aws {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return serde_json::Value::Null;
        }
        serde_json::from_slice(&out.stdout).expect("aws printed JSON")
    }

    /// Runs `aws` expecting the error `code`.
    pub fn aws_error(&self, args: &[&str], code: &str) {
        let out = self.aws(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "aws {args:?} succeeded, expected {code}"
        );
        assert!(
            err.contains(&format!("({code})")),
            "aws {args:?}: expected {code}, got {err}"
        );
    }

    /// A `git` command with this test's HOME (and so its ~/.gitconfig) and AWS credentials.
    pub fn git(&self, dir: &Path) -> Command {
        let mut cmd = Command::new("git");
        self.aws_env(&mut cmd);
        cmd.current_dir(dir)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GIT_DIR");
        cmd
    }

    /// Runs git and returns its output; panics on failure.
    pub fn git_ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.git(dir).args(args).output().expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Configures the `aws codecommit credential-helper` for git in this test's HOME.
    pub fn use_credential_helper(&self) {
        let home = self.home.path();
        self.git_ok(
            home,
            &[
                "config",
                "--global",
                "credential.helper",
                "!aws codecommit credential-helper --ignore-host-check $@",
            ],
        );
        self.git_ok(
            home,
            &["config", "--global", "credential.UseHttpPath", "true"],
        );
    }

    /// Runs a Python script from `tests/e2e/` with the endpoint and credentials in its
    /// environment (`FERRY_URL`, `AWS_*`); panics unless it exits 0.
    pub fn python(&self, script: &str, extra_env: &[(&str, &str)]) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/e2e")
            .join(script);
        let mut cmd = Command::new("python3");
        self.aws_env(&mut cmd);
        cmd.arg(&path)
            .env("FERRY_URL", &self.url)
            .env("FERRY_ACCOUNT", &self.account)
            .env("FERRY_DATA_DIR", &self.data_dir)
            .env("FERRY_BIN", env!("CARGO_BIN_EXE_ferry"));
        if let Some(url) = &self.database_url {
            cmd.env("FERRY_DATABASE_URL", url);
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run python3");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{script} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs `ferry admin ...` on this server's data dir.
    pub fn admin(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
        cmd.arg("admin").arg("--data-dir").arg(&self.data_dir);
        if let Some(url) = &self.database_url {
            cmd.args(["--database-url", url]);
        }
        cmd.args(args);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "ferry admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
