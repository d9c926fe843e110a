//! The local executor: commands run as processes on this node (as the `run-as` user when the
//! server is root), in the build's workspace with a clean environment: each started process
//! (a command's shell, or the build's attached shell driver, whose subshells share its group)
//! leads its own process group. Stop and timeout kill the group; release kills every group the
//! build started, taking daemons along (a daemon started in one phase stays up for the later
//! ones, as in CodeBuild).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Attached, BoxFuture, Container, Event, Executor, Proc, Provision, ProvisionError};
use crate::shell::Exit;

/// How long output is still read after a command's process exits (a daemon it started may
/// keep the pipe open; its later output is not waited for).
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(300);
/// The longest output line kept whole; longer lines are cut.
const MAX_LINE: usize = 64 * 1024;
/// Runs builds on this node.
#[derive(Debug, Default)]
pub struct LocalExecutor {
    /// Processes started ahead for the next build of a workspace, by workspace.
    ready: Mutex<HashMap<PathBuf, Prestarted>>,
}

/// A process started ahead of its build ([`Executor::prestart`]).
#[derive(Debug)]
struct Prestarted {
    program: String,
    args: Vec<String>,
    child: tokio::process::Child,
    output: tokio::net::unix::pipe::Receiver,
}

impl Executor for LocalExecutor {
    fn name(&self) -> &'static str {
        "local"
    }

    fn provision<'a>(
        &'a self,
        req: Provision<'a>,
    ) -> BoxFuture<'a, Result<Arc<dyn Container>, ProvisionError>> {
        Box::pin(async move {
            let ready = self
                .ready
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(req.workspace);
            Ok(Arc::new(LocalContainer {
                groups: Mutex::new(Vec::new()),
                found: Mutex::new(HashMap::new()),
                ready: Mutex::new(ready),
            }) as Arc<dyn Container>)
        })
    }

    fn prestart(&self, workspace: &std::path::Path, p: Proc<'_>) {
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        if p.user.is_some() || ready.contains_key(workspace) {
            return;
        }
        let mut cmd = process(resolve(p.program, p.env), &p);
        cmd.stdin(Stdio::piped());
        if let Ok((child, output)) = start_piped(cmd) {
            ready.insert(
                workspace.to_owned(),
                Prestarted {
                    program: p.program.to_owned(),
                    args: p.args.to_vec(),
                    child,
                    output,
                },
            );
        }
    }
}

/// One build's processes on this node.
struct LocalContainer {
    /// Process groups started so far.
    groups: Mutex<Vec<u32>>,
    /// The process started ahead for this build's workspace, until attached.
    ready: Mutex<Option<Prestarted>>,
    /// Programs found on a `PATH`, by `(program, PATH)`: a build starts the same shell for
    /// every command.
    found: Mutex<HashMap<(String, String), PathBuf>>,
}

impl LocalContainer {
    fn command(&self, p: &Proc<'_>) -> std::io::Result<Command> {
        let mut cmd = process(self.find(p.program, p.env), p);
        if let Some(user) = p.user {
            let (uid, gid) = run_as(user)?;
            // The standard library also drops root's supplementary groups.
            cmd.uid(uid).gid(gid);
        }
        Ok(cmd)
    }
}

impl LocalContainer {
    /// [`start_piped`], remembering the process group.
    fn spawn(
        &self,
        cmd: Command,
    ) -> std::io::Result<(tokio::process::Child, tokio::net::unix::pipe::Receiver)> {
        let (child, output) = start_piped(cmd)?;
        self.remember(&child);
        Ok((child, output))
    }

    /// Counts a process's group among the build's.
    fn remember(&self, child: &tokio::process::Child) {
        if let Some(p) = child.id() {
            self.groups
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(p);
        }
    }

    /// [`resolve`], remembered for the build (a program not found is looked for again).
    fn find(&self, program: &str, env: &[(String, String)]) -> PathBuf {
        if program.contains('/') {
            return program.into();
        }
        let key = (program.to_owned(), search_path(env).to_owned());
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = found.get(&key) {
            return p.clone();
        }
        let p = resolve(program, env);
        if p.is_absolute() {
            found.insert(key, p.clone());
        }
        p
    }
}

impl Container for LocalContainer {
    fn run<'a>(
        &'a self,
        p: Proc<'a>,
        out: &'a mpsc::Sender<String>,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, std::io::Result<Exit>> {
        Box::pin(async move {
            let (mut child, pipe_out) = self.spawn(self.command(&p)?)?;
            let pid = child.id();
            let (line_tx, mut line_rx) = mpsc::channel::<String>(256);
            let reader = spawn_reader(pipe_out, line_tx, Some(MAX_LINE));
            let exit = loop {
                tokio::select! {
                    status = child.wait() => {
                        break Exit::Code(code_of(Ok(status?)));
                    }
                    line = line_rx.recv() => {
                        if let Some(l) = line {
                            let _ = out.send(l).await;
                        }
                    }
                    _ = cancel.cancelled() => {
                        if let Some(pid) = pid {
                            kill_group_of(pid, Some(&mut child)).await;
                        }
                        let _ = child.wait().await;
                        break Exit::Cancelled;
                    }
                }
            };
            // Output still in the pipes; a daemon holding them open is not waited for.
            let deadline = tokio::time::sleep(DRAIN_AFTER_EXIT);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    line = line_rx.recv() => match line {
                        Some(l) => { let _ = out.send(l).await; }
                        None => break,
                    },
                    _ = &mut deadline => break,
                }
            }
            reader.abort();
            Ok(exit)
        })
    }

    fn capture<'a>(&'a self, p: Proc<'a>) -> BoxFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let mut cmd = self.command(&p).ok()?;
            cmd.stdout(Stdio::piped()).stderr(Stdio::null());
            let out = cmd.output().await.ok()?;
            out.status.success().then_some(out.stdout)
        })
    }

    fn attach<'a>(&'a self, p: Proc<'a>) -> BoxFuture<'a, Option<Box<dyn Attached>>> {
        Box::pin(async move {
            let ready = self
                .ready
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .filter(|r| {
                    p.user.is_none()
                        && p.env.is_empty()
                        && r.program == p.program
                        && r.args == p.args
                });
            let (mut child, pipe_out) = match ready {
                // Started ahead with the same program, arguments and (empty) environment.
                Some(r) => {
                    self.remember(&r.child);
                    (r.child, r.output)
                }
                None => {
                    let mut cmd = self.command(&p).ok()?;
                    cmd.stdin(Stdio::piped());
                    self.spawn(cmd).ok()?
                }
            };
            let stdin = child.stdin.take()?;
            let pgid = child.id();
            let (line_tx, lines) = mpsc::channel::<String>(256);
            // Lines are passed whole: the reader of an attached process finds its own
            // markers in them before cutting them.
            let reader = spawn_reader(pipe_out, line_tx, None);
            Some(Box::new(LocalAttached {
                child,
                stdin: Some(stdin),
                lines,
                reader,
                pgid,
                exit: None,
                drain_until: None,
            }) as Box<dyn Attached>)
        })
    }

    fn release(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // A process started ahead and never used ends with its input closed.
            self.ready.lock().unwrap_or_else(|e| e.into_inner()).take();
            let groups =
                std::mem::take(&mut *self.groups.lock().unwrap_or_else(|e| e.into_inner()));
            for g in groups {
                if group_alive(g) {
                    kill_group(g).await;
                }
            }
        })
    }
}

/// A long-lived process of one build (its shell driver).
struct LocalAttached {
    child: tokio::process::Child,
    /// `None` once closed.
    stdin: Option<tokio::process::ChildStdin>,
    lines: mpsc::Receiver<String>,
    reader: tokio::task::JoinHandle<()>,
    pgid: Option<u32>,
    /// Its exit status, once it exited.
    exit: Option<i32>,
    drain_until: Option<tokio::time::Instant>,
}

impl Attached for LocalAttached {
    fn send<'a>(&'a mut self, bytes: &'a [u8]) -> BoxFuture<'a, std::io::Result<()>> {
        Box::pin(async move {
            use tokio::io::AsyncWriteExt;
            match self.stdin.as_mut() {
                Some(stdin) => stdin.write_all(bytes).await,
                None => Err(std::io::ErrorKind::BrokenPipe.into()),
            }
        })
    }

    fn next(&mut self) -> BoxFuture<'_, Event> {
        Box::pin(async move {
            loop {
                if let Some(code) = self.exit {
                    // After the exit, lines still in the pipe for a short while; a daemon
                    // holding it open is not waited for.
                    let until = *self
                        .drain_until
                        .get_or_insert_with(|| tokio::time::Instant::now() + DRAIN_AFTER_EXIT);
                    return match tokio::time::timeout_at(until, self.lines.recv()).await {
                        Ok(Some(l)) => Event::Line(l),
                        _ => Event::Exited(code),
                    };
                }
                tokio::select! {
                    line = self.lines.recv() => match line {
                        Some(l) => return Event::Line(l),
                        None => self.exit = Some(code_of(self.child.wait().await)),
                    },
                    status = self.child.wait() => self.exit = Some(code_of(status)),
                }
            }
        })
    }

    fn kill(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(pid) = self.pgid {
                kill_group_of(pid, Some(&mut self.child)).await;
            }
            let status = self.child.wait().await;
            self.exit.get_or_insert(code_of(status));
        })
    }

    fn close(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.stdin = None;
            match tokio::time::timeout(DRAIN_AFTER_EXIT, self.child.wait()).await {
                Ok(status) => {
                    self.exit.get_or_insert(code_of(status));
                }
                Err(_) => self.kill().await,
            }
        })
    }
}

impl Drop for LocalAttached {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// `p` as a command of `program` (found already): exactly its environment, its directory, no
/// input, its own process group. An absolute program lets the standard library start it with
/// posix_spawn (a vfork) instead of a fork of the whole server; it only can when no PATH
/// search is needed.
fn process(program: PathBuf, p: &Proc<'_>) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(p.args)
        .env_clear()
        .envs(p.env.iter().map(|(k, v)| (k, v)))
        .current_dir(p.cwd)
        .stdin(Stdio::null())
        .process_group(0)
        .kill_on_drop(false);
    cmd
}

/// Starts `cmd` with standard output and error on one pipe, so lines arrive in the order
/// they were written and one reader serves both.
fn start_piped(
    mut cmd: Command,
) -> std::io::Result<(tokio::process::Child, tokio::net::unix::pipe::Receiver)> {
    let (pipe_in, pipe_out) = tokio::net::unix::pipe::pipe()?;
    let pipe_in = pipe_in.into_blocking_fd()?;
    cmd.stdout(Stdio::from(pipe_in.try_clone()?))
        .stderr(Stdio::from(pipe_in));
    let child = cmd.spawn()?;
    // The command holds the pipe's writing end until dropped: no end of output before.
    drop(cmd);
    Ok((child, pipe_out))
}

/// A process's exit status as shells report it (a signal death is 128 + the signal; an
/// error waiting counts as killed).
fn code_of(status: std::io::Result<std::process::ExitStatus>) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)),
        Err(_) => 128 + 9,
    }
}

/// `program` as an absolute path found on the `PATH` of `env` (itself when it has a slash or
/// is not found; the spawn then reports the error).
fn resolve(program: &str, env: &[(String, String)]) -> std::path::PathBuf {
    if program.contains('/') {
        return program.into();
    }
    std::env::split_paths(search_path(env))
        .map(|dir| dir.join(program))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .unwrap_or_else(|| program.into())
}

/// The `PATH` of `env`, or the usual one when it has none.
fn search_path(env: &[(String, String)]) -> &str {
    env.iter()
        .find(|(k, _)| k == "PATH")
        .map_or("/usr/local/bin:/usr/bin:/bin", |(_, v)| v.as_str())
}

/// Reads `stream` line by line into `tx`, each line cut to `max` bytes if given.
fn spawn_reader(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    tx: mpsc::Sender<String>,
    max: Option<usize>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if buf.last() == Some(&b'\n') {
                        buf.pop();
                    }
                    if let Some(max) = max {
                        buf.truncate(max);
                    }
                    if tx
                        .send(String::from_utf8_lossy(&buf).into_owned())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    })
}

/// Whether a process group still has members.
fn group_alive(pgid: u32) -> bool {
    let Ok(id) = i32::try_from(pgid) else {
        return false;
    };
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(id), None).is_ok()
}

fn signal_group(pgid: u32, sig: nix::sys::signal::Signal) {
    if let Ok(id) = i32::try_from(pgid) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(id), sig);
    }
}

/// Sends TERM, then (after up to half a second) KILL, to a process group.
async fn kill_group(pgid: u32) {
    kill_group_of(pgid, None).await;
}

/// [`kill_group`] for the group `leader` leads: the leader is reaped as soon as it ends (a
/// zombie still counts as a member of its group).
async fn kill_group_of(pgid: u32, mut leader: Option<&mut tokio::process::Child>) {
    signal_group(pgid, nix::sys::signal::Signal::SIGTERM);
    for _ in 0..50 {
        if let Some(child) = leader.as_deref_mut() {
            let _ = child.try_wait();
        }
        if !group_alive(pgid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    signal_group(pgid, nix::sys::signal::Signal::SIGKILL);
}

/// The uid and gid a `run-as` user name (or a numeric uid) stands for. Only a server running
/// as root can run commands as another user.
fn run_as(user: &str) -> std::io::Result<(u32, u32)> {
    use nix::unistd::{Uid, User};
    let found = match user.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid))
            .ok()
            .flatten()
            .map_or((uid, uid), |u| (u.uid.as_raw(), u.gid.as_raw())),
        Err(_) => match User::from_name(user) {
            Ok(Some(u)) => (u.uid.as_raw(), u.gid.as_raw()),
            _ => {
                return Err(std::io::Error::other(format!(
                    "run-as user {user} does not exist on this host"
                )));
            }
        },
    };
    let me = nix::unistd::geteuid();
    if !me.is_root() && me.as_raw() != found.0 {
        return Err(std::io::Error::other(format!(
            "run-as {user} needs the Ferry server to run as root"
        )));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A build whose workspace has a driver started ahead runs its commands in it; one whose
    /// shell differs starts its own.
    #[tokio::test]
    async fn a_driver_started_ahead_runs_the_next_build_of_its_workspace() {
        use crate::executor::{Executor, Provision};
        use crate::shell::{Exit, ShellState};
        let dir = tempfile::tempdir().unwrap();
        let (src, tmp) = (dir.path().join("src"), dir.path().join("tmp"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&tmp).unwrap();
        let exec = LocalExecutor::default();
        let (program, args) = crate::shell::default_driver(&tmp);
        let ahead = |exec: &LocalExecutor| {
            exec.prestart(
                dir.path(),
                Proc {
                    program: &program,
                    args: &args,
                    env: &[],
                    cwd: &src,
                    command: "",
                    user: None,
                },
            )
        };
        let env = vec![
            ("PATH".to_owned(), std::env::var("PATH").unwrap()),
            ("GREETING".to_owned(), "hi there".to_owned()),
        ];
        let (tx, mut rx) = mpsc::channel(64);
        let cancel = CancellationToken::new();
        let provision = Provision {
            build_id: "b",
            workspace: dir.path(),
            image: "",
            privileged: false,
        };
        for (shell, from_ahead) in [(None, true), (Some("bash"), false)] {
            ahead(&exec);
            let pid = exec.ready.lock().unwrap()[dir.path()].child.id().unwrap();
            let place = exec.provision(provision.clone()).await.unwrap();
            let mut st = ShellState::new(shell, src.clone(), tmp.clone()).unwrap();
            let exit = st
                .run(&*place, "echo \"$$ $GREETING\"", &env, &tx, &cancel)
                .await
                .unwrap();
            assert_eq!(exit, Exit::Code(0));
            let line = rx.recv().await.unwrap();
            assert_eq!(
                line == format!("{pid} hi there"),
                from_ahead,
                "{shell:?}: {line} (driver started ahead: {pid})"
            );
            assert!(line.ends_with(" hi there"), "{line}");
            st.close().await;
            place.release().await;
        }
    }

    #[test]
    fn programs_are_found_on_the_commands_path() {
        let env = vec![("PATH".to_owned(), "/nonexistent:/bin:/usr/bin".to_owned())];
        let sh = resolve("sh", &env);
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{sh:?}");
        assert_eq!(resolve("./x", &env), std::path::PathBuf::from("./x"));
        assert_eq!(
            resolve("no-such-program-here", &env),
            std::path::PathBuf::from("no-such-program-here")
        );
    }
}
