//! Running the scripts of one lifecycle event (reference §4.3): each script from the unpacked
//! bundle, in order, in its own process group, with the deployment's variables in its
//! environment, its output logged (and optionally streamed), under its timeout; the first
//! failure ends the event. The outcome is a [`Diagnostics`].

use crate::appspec::HookScript;
use crate::diagnostics::{Diagnostics, ErrorCode};
use crate::extract::relative_path;
pub use crate::script_log::OutputStream;
use crate::script_log::ScriptLog;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Time a timed-out script's process group gets between `TERM` and `KILL`.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(5);

/// Output lines longer than this are split.
const MAX_LINE_BYTES: u64 = 64 * 1024;

/// The deployment facts scripts see as environment variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookEnv {
    pub deployment_id: String,
    pub application_name: String,
    pub deployment_group_name: String,
    pub deployment_group_id: String,
    /// Set for S3 revisions.
    pub bundle: Option<S3BundleEnv>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3BundleEnv {
    pub bucket: String,
    pub key: String,
    /// Only for versioned buckets.
    pub version: Option<String>,
    /// When the deployment names one.
    pub etag: Option<String>,
}

impl HookEnv {
    /// The variables for a script of `event`.
    pub fn vars(&self, event: &str) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("LIFECYCLE_EVENT", event.to_owned()),
            ("DEPLOYMENT_ID", self.deployment_id.clone()),
            ("APPLICATION_NAME", self.application_name.clone()),
            ("DEPLOYMENT_GROUP_NAME", self.deployment_group_name.clone()),
            ("DEPLOYMENT_GROUP_ID", self.deployment_group_id.clone()),
        ];
        if let Some(bundle) = &self.bundle {
            vars.push(("BUNDLE_BUCKET", bundle.bucket.clone()));
            vars.push(("BUNDLE_KEY", bundle.key.clone()));
            if let Some(version) = &bundle.version {
                vars.push(("BUNDLE_VERSION", version.clone()));
            }
            if let Some(etag) = &bundle.etag {
                vars.push(("BUNDLE_ETAG", etag.clone()));
            }
        }
        vars
    }
}

/// One line of script output, as streamed to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// The script's location in the bundle.
    pub script: String,
    pub stream: OutputStream,
    pub line: String,
}

/// Where and how an event's scripts run.
#[derive(Debug, Clone)]
pub struct EventRun<'a> {
    pub event: &'a str,
    /// The unpacked bundle the scripts come from.
    pub archive_dir: &'a Path,
    /// The current deployment's `logs/scripts.log`.
    pub script_log: &'a Path,
    pub env: &'a HookEnv,
    /// Receives every output line as it is read.
    pub output: Option<mpsc::UnboundedSender<OutputLine>>,
    pub kill_grace: Duration,
}

/// One script to run: an appspec [`HookScript`] with its timeout as a [`Duration`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSpec<'a> {
    pub location: &'a str,
    pub timeout: Duration,
    pub runas: Option<&'a str>,
    pub sudo: bool,
}

impl<'a> From<&'a HookScript> for ScriptSpec<'a> {
    fn from(script: &'a HookScript) -> Self {
        Self {
            location: &script.location,
            timeout: Duration::from_secs(script.timeout_secs),
            runas: script.runas.as_deref(),
            sudo: script.sudo,
        }
    }
}

/// Run the appspec scripts of one event.
pub async fn run_event(run: &EventRun<'_>, scripts: &[HookScript]) -> Diagnostics {
    run_scripts(run, scripts.iter().map(ScriptSpec::from)).await
}

/// Run scripts in order until one fails.
pub async fn run_scripts<'s>(
    run: &EventRun<'_>,
    scripts: impl IntoIterator<Item = ScriptSpec<'s>>,
) -> Diagnostics {
    let mut log = match ScriptLog::open(run.script_log).await {
        Ok(log) => log,
        Err(e) => {
            return Diagnostics::unknown_error(format!(
                "Cannot open the script log {}: {e}",
                run.script_log.display()
            ));
        }
    };
    log.header(&format!("LifecycleEvent - {}", run.event)).await;
    for script in scripts {
        log.header(&format!("Script - {}", script.location)).await;
        if let Err((error_code, message)) = run_script(run, &script, &mut log).await {
            return Diagnostics {
                error_code,
                script_name: script.location.to_owned(),
                message,
                log: log.tail().to_owned(),
            };
        }
    }
    Diagnostics::success()
}

type Failure = (ErrorCode, String);

async fn run_script(
    run: &EventRun<'_>,
    script: &ScriptSpec<'_>,
    log: &mut ScriptLog,
) -> Result<(), Failure> {
    let path = script_path(run.archive_dir, script.location).await?;
    let argv = command_line(&path, script.runas, script.sudo);
    let mut command = tokio::process::Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .envs(run.env.vars(run.event))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| {
        (
            ErrorCode::UnknownError,
            format!(
                "Script at specified location: {} could not be started: {e}",
                script.location
            ),
        )
    })?;
    let pid = child.id().and_then(|id| i32::try_from(id).ok());
    // If this run is abandoned (the agent stops), the script's whole group goes with it.
    let mut group_guard = GroupGuard(pid.map(Pid::from_raw));
    let (tx, mut lines) = mpsc::channel(64);
    let readers = [
        tokio::spawn(read_lines(
            child.stdout.take(),
            OutputStream::Stdout,
            tx.clone(),
        )),
        tokio::spawn(read_lines(child.stderr.take(), OutputStream::Stderr, tx)),
    ];
    let mut watch = Watch {
        run,
        script,
        log,
        child: &mut child,
        lines: &mut lines,
        exited: None,
        output_open: true,
    };
    let finished = watch.until(Instant::now() + script.timeout).await;
    let end = match (finished, watch.exited.take()) {
        (true, Some(status)) => End::Exited(status),
        (false, Some(_)) => End::OutputsLeftOpen,
        (_, None) => {
            // TERM the group, give it the grace period to exit and close its output, then
            // KILL whatever is left of it.
            let group = pid.map(Pid::from_raw);
            if let Some(group) = group {
                let _ = killpg(group, Signal::SIGTERM);
            }
            watch.until(Instant::now() + run.kill_grace).await;
            if let Some(group) = group {
                let _ = killpg(group, Signal::SIGKILL);
            }
            let _ = watch.child.wait().await;
            End::TimedOut
        }
    };
    group_guard.0 = None;
    for reader in readers {
        reader.abort();
    }
    while let Ok((stream, line)) = lines.try_recv() {
        emit(run, script, log, stream, line).await;
    }
    outcome(script, end)
}

/// Kills a script's process group when dropped while still armed.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            let _ = killpg(group, Signal::SIGKILL);
        }
    }
}

/// How a script's run ended.
enum End {
    Exited(std::io::Result<ExitStatus>),
    /// Still running at its timeout.
    TimedOut,
    /// Exited, but its output was still open at its timeout.
    OutputsLeftOpen,
}

/// A running script: its exit and its output, followed together.
struct Watch<'w, 'r> {
    run: &'w EventRun<'r>,
    script: &'w ScriptSpec<'w>,
    log: &'w mut ScriptLog,
    child: &'w mut tokio::process::Child,
    lines: &'w mut mpsc::Receiver<(OutputStream, String)>,
    exited: Option<std::io::Result<ExitStatus>>,
    output_open: bool,
}

impl Watch<'_, '_> {
    /// Log output until the script has exited and closed its output (true) or `deadline`.
    async fn until(&mut self, deadline: Instant) -> bool {
        while self.exited.is_none() || self.output_open {
            tokio::select! {
                line = self.lines.recv(), if self.output_open => match line {
                    Some((stream, line)) => {
                        emit(self.run, self.script, self.log, stream, line).await;
                    }
                    None => self.output_open = false,
                },
                status = self.child.wait(), if self.exited.is_none() => {
                    self.exited = Some(status);
                }
                () = tokio::time::sleep_until(deadline) => return false,
            }
        }
        true
    }
}

/// What a script's end means.
fn outcome(script: &ScriptSpec<'_>, end: End) -> Result<(), Failure> {
    let location = script.location;
    let seconds = seconds(script.timeout);
    let status = match end {
        End::TimedOut => {
            return Err((
                ErrorCode::ScriptTimedOut,
                format!(
                    "Script at specified location: {location} failed to complete in {seconds} seconds"
                ),
            ));
        }
        End::OutputsLeftOpen => {
            return Err((
                ErrorCode::OutputsLeftOpen,
                format!(
                    "Script at specified location: {location} exited, but its standard output or error was still held open by a process it started after {seconds} seconds; redirect the output of background processes"
                ),
            ));
        }
        End::Exited(Ok(status)) => status,
        End::Exited(Err(e)) => {
            return Err((
                ErrorCode::UnknownError,
                format!("Script at specified location: {location}: cannot wait for it: {e}"),
            ));
        }
    };
    if status.success() {
        return Ok(());
    }
    let who = script
        .runas
        .map(|user| format!(" run as user {user}"))
        .unwrap_or_default();
    let how = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(code), _) => format!("failed with exit code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "failed".to_owned(),
    };
    Err((
        ErrorCode::ScriptFailed,
        format!("Script at specified location: {location}{who} {how}"),
    ))
}

async fn emit(
    run: &EventRun<'_>,
    script: &ScriptSpec<'_>,
    log: &mut ScriptLog,
    stream: OutputStream,
    line: String,
) {
    log.output(stream, &line).await;
    if let Some(output) = &run.output {
        let _ = output.send(OutputLine {
            script: script.location.to_owned(),
            stream,
            line,
        });
    }
}

async fn read_lines(
    pipe: Option<impl AsyncRead + Unpin>,
    stream: OutputStream,
    tx: mpsc::Sender<(OutputStream, String)>,
) {
    let Some(pipe) = pipe else { return };
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                let line = line.strip_suffix('\n').unwrap_or(&line);
                let line = line.strip_suffix('\r').unwrap_or(line).to_owned();
                if tx.send((stream, line)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The script file for `location`: inside the bundle, existing, and executable (made so if it
/// is not).
async fn script_path(archive: &Path, location: &str) -> Result<PathBuf, Failure> {
    let rel = relative_path(Path::new(location.trim_start_matches('/'))).ok_or_else(|| {
        (
            ErrorCode::UnknownError,
            format!("Script at specified location: {location} is outside the bundle"),
        )
    })?;
    let path = archive.join(rel);
    let missing = || {
        (
            ErrorCode::ScriptMissing,
            format!(
                "Script does not exist at specified location: {}",
                path.display()
            ),
        )
    };
    let resolved = tokio::fs::canonicalize(&path)
        .await
        .map_err(|_| missing())?;
    let archive = tokio::fs::canonicalize(archive)
        .await
        .map_err(|_| missing())?;
    if !resolved.starts_with(&archive) {
        return Err((
            ErrorCode::UnknownError,
            format!("Script at specified location: {location} is outside the bundle"),
        ));
    }
    let meta = tokio::fs::metadata(&resolved)
        .await
        .map_err(|_| missing())?;
    if !meta.is_file() {
        return Err(missing());
    }
    let mode = meta.permissions().mode();
    if mode & 0o111 == 0 {
        let executable = std::fs::Permissions::from_mode(mode | 0o111);
        tokio::fs::set_permissions(&resolved, executable)
            .await
            .map_err(|e| {
                (
                    ErrorCode::ScriptNotExecutable,
                    format!(
                        "Script at specified location: {location} is not executable and cannot be made so: {e}"
                    ),
                )
            })?;
    }
    Ok(path)
}

/// The command for a script: the path itself, `su <user> -c <path>` for `runas`, prefixed
/// with `sudo` for `sudo: true`.
pub fn command_line(path: &Path, runas: Option<&str>, sudo: bool) -> Vec<OsString> {
    let mut argv: Vec<OsString> = Vec::new();
    if sudo {
        argv.push("sudo".into());
    }
    match runas {
        Some(user) => {
            argv.extend(["su".into(), user.into(), "-c".into()]);
            argv.push(shell_quote(path));
        }
        None => argv.push(path.into()),
    }
    argv
}

/// `path` as one word for `su -c`'s shell.
fn shell_quote(path: &Path) -> OsString {
    let text = path.to_string_lossy();
    format!("'{}'", text.replace('\'', r"'\''")).into()
}

/// A timeout as people write it: `300`, or `0.5` for sub-second ones.
fn seconds(timeout: Duration) -> String {
    if timeout.subsec_nanos() == 0 {
        timeout.as_secs().to_string()
    } else {
        format!("{}", timeout.as_secs_f64())
    }
}

#[cfg(test)]
#[path = "hooks_tests.rs"]
mod tests;
