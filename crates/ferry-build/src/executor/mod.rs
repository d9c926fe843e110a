//! Executors: where a build's commands run. One trait, one life cycle, several places.
//!
//! Life cycle of one build, driven by the runner:
//! 1. **provision** (the PROVISIONING phase): the runner has made the build's workspace on this
//!    node (`<work>/<uuid>` with `src/`, `tmp/`, `home/`); the executor makes a place for
//!    commands that sees that workspace at the same path (the host itself, or a container
//!    with the workspace mounted) and returns it as a [`Container`].
//! 2. **run**, many times: one process per buildspec command (the shell and the generated
//!    script come from [`crate::shell`]), its output streamed line by line, its exit status
//!    returned; the cancellation token (StopBuild, the build timeout) kills the command's
//!    whole process tree and the run returns [`Exit::Cancelled`]. **capture** runs a short helper
//!    script the same way and returns its standard output (variable values, expansions).
//!    A place may also **attach** a long-lived process (the build's shell driver, which forks
//!    a subshell per command instead of starting a new shell); the shell falls back to `run`
//!    where it cannot. An executor may **prestart** that process while the node is idle, for
//!    the next build of a kept workspace to find running.
//! 3. **release** (FINALIZING, always, also after a fault): kills whatever the build left
//!    running (daemons included) and frees the place. The runner then removes the workspace.
//!
//! Source download, caches, reports and artifacts are handled by the runner on the workspace
//! itself, so an executor only ever starts processes.

#[cfg(feature = "docker")]
mod docker;
mod fake;
mod local;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[cfg(feature = "docker")]
pub use docker::DockerExecutor;
pub use fake::FakeExecutor;
pub use local::LocalExecutor;

use crate::shell::Exit;

/// A boxed future, so the traits stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a build asks of its place to run.
#[derive(Debug, Clone)]
pub struct Provision<'a> {
    pub build_id: &'a str,
    /// The workspace on this node (already created).
    pub workspace: &'a Path,
    /// The project's `environment.image`.
    pub image: &'a str,
    /// `environment.privilegedMode`.
    pub privileged: bool,
}

/// One process to start: `program args...` with exactly `env` as its environment.
#[derive(Debug, Clone)]
pub struct Proc<'a> {
    pub program: &'a str,
    pub args: &'a [String],
    pub env: &'a [(String, String)],
    pub cwd: &'a Path,
    /// The buildspec command this process runs (executors that run no shell read it).
    pub command: &'a str,
    /// `run-as`: the user the process runs as; `None` for the executor's own.
    pub user: Option<&'a str>,
}

/// Why provisioning failed (the build fails in PROVISIONING with this message).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProvisionError(pub String);

/// Makes places for builds to run.
pub trait Executor: Send + Sync + 'static {
    /// The name `--build-executor` takes.
    fn name(&self) -> &'static str;
    fn provision<'a>(
        &'a self,
        req: Provision<'a>,
    ) -> BoxFuture<'a, Result<Arc<dyn Container>, ProvisionError>>;
    /// Starts `p` ahead of any build, for the next build of `workspace` to
    /// [`Container::attach`] with exactly the same program and arguments (the shell driver,
    /// started while the node is idle, so that a build finds it running). Executors that keep
    /// nothing ahead ignore it.
    fn prestart(&self, workspace: &Path, p: Proc<'_>) {
        let _ = (workspace, p);
    }
}

/// The place one build's commands run, from provisioning to release.
pub trait Container: Send + Sync {
    /// Runs one process, sending its output lines (stdout and stderr in arrival order) to
    /// `out`, until it exits or `cancel` fires.
    fn run<'a>(
        &'a self,
        p: Proc<'a>,
        out: &'a mpsc::Sender<String>,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, std::io::Result<Exit>>;
    /// Runs one short process and returns its standard output, or `None` if it failed.
    fn capture<'a>(&'a self, p: Proc<'a>) -> BoxFuture<'a, Option<Vec<u8>>>;
    /// Kills everything still running and frees the place.
    fn release(&self) -> BoxFuture<'_, ()>;
    /// Starts `p` as a long-lived process the caller talks to ([`Attached`]), in its own
    /// process group that [`Container::release`] kills; `None` when this place cannot.
    fn attach<'a>(&'a self, p: Proc<'a>) -> BoxFuture<'a, Option<Box<dyn Attached>>> {
        let _ = p;
        Box::pin(async { None })
    }
}

/// What an attached process did next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// One line of its output (stdout and stderr, in arrival order), without the newline.
    Line(String),
    /// It exited with this status (a signal death counts as 128 + signal).
    Exited(i32),
}

/// A process started by [`Container::attach`]: the caller writes its standard input and
/// reads its output line by line.
pub trait Attached: Send + Sync {
    /// Writes `bytes` to the process's standard input.
    fn send<'a>(&'a mut self, bytes: &'a [u8]) -> BoxFuture<'a, std::io::Result<()>>;
    /// Its next output line, or its exit.
    fn next(&mut self) -> BoxFuture<'_, Event>;
    /// Kills its whole process group and waits for it.
    fn kill(&mut self) -> BoxFuture<'_, ()>;
    /// Closes its standard input and waits for it to exit (killing it if it does not soon).
    fn close(&mut self) -> BoxFuture<'_, ()>;
}

/// The executor named by `--build-executor`.
pub fn by_name(name: &str) -> Result<Arc<dyn Executor>, String> {
    match name {
        "" | "local" => Ok(Arc::new(LocalExecutor::default())),
        "fake" => Ok(Arc::new(FakeExecutor::default())),
        #[cfg(feature = "docker")]
        "docker" => Ok(Arc::new(DockerExecutor::from_env()?)),
        #[cfg(not(feature = "docker"))]
        "docker" => {
            Err("this ferry was built without the docker executor (cargo feature docker)".into())
        }
        other => Err(format!(
            "unknown build executor {other:?} (local, docker, fake)"
        )),
    }
}
