use super::*;
use std::fs;

/// `tmp/archive` holds the scripts, `tmp/logs/scripts.log` is the log.
struct Bundle {
    tmp: tempfile::TempDir,
    env: HookEnv,
}

impl Bundle {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("archive")).unwrap();
        Self {
            tmp,
            env: HookEnv {
                deployment_id: "d-TEST12345".into(),
                application_name: "app".into(),
                deployment_group_name: "group".into(),
                deployment_group_id: "dg-uuid".into(),
                bundle: None,
            },
        }
    }
    fn script(&self, location: &str, body: &str) {
        let path = self.tmp.path().join("archive").join(location);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }
    fn log(&self) -> String {
        fs::read_to_string(self.path("logs/scripts.log")).unwrap_or_default()
    }
    async fn run(&self, event: &str, scripts: &[ScriptSpec<'_>]) -> Diagnostics {
        self.run_with(event, scripts, None).await
    }
    async fn run_with(
        &self,
        event: &str,
        scripts: &[ScriptSpec<'_>],
        output: Option<mpsc::UnboundedSender<OutputLine>>,
    ) -> Diagnostics {
        let archive = self.path("archive");
        let log = self.path("logs/scripts.log");
        let run = EventRun {
            event,
            archive_dir: &archive,
            script_log: &log,
            env: &self.env,
            output,
            kill_grace: Duration::from_millis(300),
        };
        run_scripts(&run, scripts.iter().cloned()).await
    }
}

fn script(location: &str) -> ScriptSpec<'_> {
    ScriptSpec {
        location,
        timeout: Duration::from_secs(30),
        runas: None,
        sudo: false,
    }
}

fn with_timeout(location: &str, timeout: Duration) -> ScriptSpec<'_> {
    ScriptSpec {
        timeout,
        ..script(location)
    }
}

/// Whether a process is gone (or a zombie nobody reaps yet).
fn is_dead(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn success_logs_and_streams_output() {
    let b = Bundle::new();
    b.script(
        "scripts/a.sh",
        "echo out one\necho err one >&2\necho out two",
    );
    b.script("scripts/b.sh", "printf 'no newline'");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let d = b
        .run_with(
            "AfterInstall",
            &[script("scripts/a.sh"), script("/scripts/b.sh")],
            Some(tx),
        )
        .await;
    assert_eq!(d, Diagnostics::success());
    let log = b.log();
    let lines: Vec<&str> = log.lines().map(|l| &l[20..]).collect();
    assert_eq!(lines[0], "LifecycleEvent - AfterInstall");
    assert_eq!(lines[1], "Script - scripts/a.sh");
    let mut a_lines = lines[2..5].to_vec();
    a_lines.sort();
    assert_eq!(
        a_lines,
        ["[stderr]err one", "[stdout]out one", "[stdout]out two"]
    );
    assert_eq!(lines[5..], ["Script - /scripts/b.sh", "[stdout]no newline"]);
    let mut streamed = Vec::new();
    while let Ok(line) = rx.try_recv() {
        streamed.push(line);
    }
    assert_eq!(streamed.len(), 4);
    assert!(streamed.contains(&OutputLine {
        script: "scripts/a.sh".into(),
        stream: OutputStream::Stderr,
        line: "err one".into()
    }));
}

#[tokio::test]
async fn scripts_see_the_deployment_variables() {
    let mut b = Bundle::new();
    b.env.bundle = Some(S3BundleEnv {
        bucket: "bucket".into(),
        key: "app.zip".into(),
        version: None,
        etag: Some("abc".into()),
    });
    b.script(
        "env.sh",
        "echo \"$LIFECYCLE_EVENT|$DEPLOYMENT_ID|$APPLICATION_NAME|$DEPLOYMENT_GROUP_NAME|$DEPLOYMENT_GROUP_ID\"\n\
         echo \"$BUNDLE_BUCKET|$BUNDLE_KEY|${BUNDLE_VERSION-unset}|$BUNDLE_ETAG|$PATH\" | grep -q '^bucket|app.zip|unset|abc|/' || exit 9\n\
         [ -t 0 ] && exit 8; read x && exit 7; exit 0",
    );
    let d = b.run("ValidateService", &[script("env.sh")]).await;
    assert_eq!(d, Diagnostics::success(), "{}", b.log());
    assert!(
        b.log()
            .contains("[stdout]ValidateService|d-TEST12345|app|group|dg-uuid"),
        "{}",
        b.log()
    );
}

#[tokio::test]
async fn failure_reports_exit_code_and_stops_the_event() {
    let b = Bundle::new();
    b.script("fail.sh", "echo about to fail >&2\nexit 3");
    b.script("never.sh", &format!("touch {}", b.path("ran").display()));
    let d = b
        .run("ApplicationStart", &[script("fail.sh"), script("never.sh")])
        .await;
    assert_eq!(d.error_code, ErrorCode::ScriptFailed);
    assert_eq!(d.script_name, "fail.sh");
    assert_eq!(
        d.message,
        "Script at specified location: fail.sh failed with exit code 3"
    );
    assert_eq!(
        d.log,
        "LifecycleEvent - ApplicationStart\nScript - fail.sh\n[stderr]about to fail\n"
    );
    assert!(!b.path("ran").exists());
}

#[tokio::test]
async fn missing_and_escaping_scripts() {
    let b = Bundle::new();
    let d = b.run("BeforeInstall", &[script("scripts/nope.sh")]).await;
    assert_eq!(d.error_code, ErrorCode::ScriptMissing);
    assert_eq!(
        d.message,
        format!(
            "Script does not exist at specified location: {}",
            b.path("archive/scripts/nope.sh").display()
        )
    );
    fs::write(b.path("outside.sh"), "#!/bin/sh\n").unwrap();
    let d = b.run("BeforeInstall", &[script("../outside.sh")]).await;
    assert_eq!(d.error_code, ErrorCode::UnknownError, "{}", d.message);
    std::os::unix::fs::symlink(b.path("outside.sh"), b.path("archive/link.sh")).unwrap();
    let d = b.run("BeforeInstall", &[script("link.sh")]).await;
    assert_eq!(d.error_code, ErrorCode::UnknownError, "{}", d.message);
    fs::create_dir(b.path("archive/dir")).unwrap();
    let d = b.run("BeforeInstall", &[script("dir")]).await;
    assert_eq!(d.error_code, ErrorCode::ScriptMissing);
}

#[tokio::test]
async fn a_script_without_the_executable_bit_is_made_executable() {
    let b = Bundle::new();
    b.script("plain.sh", "echo ran");
    let path = b.path("archive/plain.sh");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let d = b.run("AfterInstall", &[script("plain.sh")]).await;
    assert_eq!(d, Diagnostics::success());
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o755
    );
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let b = Bundle::new();
    let pidfile = b.path("bg.pid");
    b.script(
        "hang.sh",
        &format!(
            "sleep 60 &\necho $! > {}\necho started\nsleep 60",
            pidfile.display()
        ),
    );
    let started = std::time::Instant::now();
    let d = b
        .run(
            "ValidateService",
            &[with_timeout("hang.sh", Duration::from_millis(800))],
        )
        .await;
    assert_eq!(d.error_code, ErrorCode::ScriptTimedOut, "{d:?}");
    assert_eq!(
        d.message,
        "Script at specified location: hang.sh failed to complete in 0.8 seconds"
    );
    assert!(d.log.contains("[stdout]started"), "{}", d.log);
    assert!(started.elapsed() < Duration::from_secs(5));
    let pid = fs::read_to_string(&pidfile).unwrap();
    // The kill is asynchronous: give the kernel a moment.
    for _ in 0..50 {
        if is_dead(&pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(is_dead(&pid), "background child {pid} survived");
}

#[tokio::test]
async fn term_is_followed_by_kill() {
    let b = Bundle::new();
    b.script("stubborn.sh", "trap '' TERM\nsleep 60");
    let started = std::time::Instant::now();
    let d = b
        .run(
            "ApplicationStop",
            &[with_timeout("stubborn.sh", Duration::from_millis(300))],
        )
        .await;
    assert_eq!(d.error_code, ErrorCode::ScriptTimedOut);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn outputs_left_open_do_not_hang_the_event() {
    let b = Bundle::new();
    let pidfile = b.path("bg.pid");
    // The background `sleep` inherits stdout and keeps it open after the script exits.
    b.script(
        "start.sh",
        &format!("sleep 30 &\necho $! > {}\necho started", pidfile.display()),
    );
    let started = std::time::Instant::now();
    let d = b
        .run(
            "ApplicationStart",
            &[with_timeout("start.sh", Duration::from_secs(1))],
        )
        .await;
    let elapsed = started.elapsed();
    let pid = fs::read_to_string(&pidfile).unwrap();
    let _ = std::process::Command::new("kill").arg(pid.trim()).status();
    assert_eq!(d.error_code, ErrorCode::OutputsLeftOpen, "{d:?}");
    assert!(d.message.contains("start.sh exited"), "{}", d.message);
    assert!(d.log.contains("[stdout]started"), "{}", d.log);
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[tokio::test]
async fn runas_goes_through_su() {
    if !Path::new("/bin/su").exists() && !Path::new("/usr/bin/su").exists() {
        return;
    }
    if !nix::unistd::getuid().is_root() {
        return; // su would ask for a password.
    }
    let b = Bundle::new();
    b.script("who.sh", "id -un\nexit 2");
    let spec = ScriptSpec {
        runas: Some("root"),
        ..script("who.sh")
    };
    let d = b.run("AfterInstall", &[spec]).await;
    assert_eq!(
        d.message,
        "Script at specified location: who.sh run as user root failed with exit code 2"
    );
    assert!(d.log.contains("[stdout]root"), "{}", d.log);
}

#[test]
fn command_lines() {
    let path = Path::new("/a/it's.sh");
    let line = |runas, sudo| -> Vec<String> {
        command_line(path, runas, sudo)
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    };
    assert_eq!(line(None, false), ["/a/it's.sh"]);
    assert_eq!(line(None, true), ["sudo", "/a/it's.sh"]);
    assert_eq!(
        line(Some("app"), false),
        ["su", "app", "-c", r"'/a/it'\''s.sh'"]
    );
    assert_eq!(
        line(Some("app"), true),
        ["sudo", "su", "app", "-c", r"'/a/it'\''s.sh'"]
    );
}

#[test]
fn appspec_scripts_convert_with_their_timeouts() {
    let hook = HookScript {
        location: "s.sh".into(),
        timeout_secs: 90,
        runas: Some("app".into()),
        sudo: true,
    };
    assert_eq!(
        ScriptSpec::from(&hook),
        ScriptSpec {
            location: "s.sh",
            timeout: Duration::from_secs(90),
            runas: Some("app"),
            sudo: true
        }
    );
    assert_eq!(seconds(Duration::from_secs(90)), "90");
}
