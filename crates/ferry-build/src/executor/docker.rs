//! The docker executor (cargo feature `docker`): each build runs in a container of the
//! project's `environment.image`, through the Docker Engine API on the engine's unix socket
//! (`DOCKER_HOST`, default `unix:///var/run/docker.sock`; Podman's Docker-compatible service
//! answers too).
//!
//! - **provision**: the image is used if the engine has it, else pulled; a failure to pull is
//!   the build's `BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE`. One container per build, started with
//!   a shell that only waits, the workspace mounted at the same path as on the host (so the
//!   runner's source, cache, report and artifact handling is unchanged), the host's network
//!   (so `AWS_ENDPOINT_URL` reaches Ferry at the same address), `privilegedMode` honoured.
//! - **run** / **capture**: one `exec` per process, with the build's environment except `PATH`,
//!   which is the image's. The exec's exit code comes from the engine once its output ends;
//!   when a daemon it started keeps the output open, the engine is asked whether the exec is
//!   still running, less and less often, and output is drained briefly after it ended.
//! - **cancel** (StopBuild, timeout): the container is killed, which ends every process of
//!   the build at once. **release**: the container is removed, killed first if needed.

use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, KillContainerOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{BoxFuture, Container, Executor, Proc, Provision, ProvisionError};
use crate::shell::Exit;

/// The PATH of a container whose image declares none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How long output is still read after an exec ended (a daemon may hold its output open).
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(300);
/// The first and the longest wait between "is it still running" questions while an exec is
/// silent.
const FIRST_CHECK: Duration = Duration::from_millis(50);
const LAST_CHECK: Duration = Duration::from_secs(1);
/// Per-request timeout of the engine API, in seconds (pulls may be slow).
const API_TIMEOUT_SECS: u64 = 3600;
/// The longest output line kept whole; longer lines are cut.
const MAX_LINE: usize = 64 * 1024;

/// Runs builds in containers of a Docker-compatible engine.
pub struct DockerExecutor {
    docker: Docker,
}

impl std::fmt::Debug for DockerExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerExecutor").finish_non_exhaustive()
    }
}

impl DockerExecutor {
    /// An executor for the engine at `DOCKER_HOST` (a unix socket). Nothing is contacted yet.
    pub fn from_env() -> Result<Self, String> {
        let host = std::env::var("DOCKER_HOST")
            .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned());
        if !host.starts_with("unix://") {
            return Err(format!(
                "DOCKER_HOST {host:?}: the docker executor talks to a local engine's unix socket"
            ));
        }
        let docker =
            Docker::connect_with_unix(&host, API_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
                .map_err(|e| format!("docker engine at {host}: {e}"))?;
        Ok(Self { docker })
    }

    /// The image's PATH, pulling the image first when the engine lacks it.
    async fn image_path(&self, image: &str) -> Result<String, ProvisionError> {
        let inspect = match self.docker.inspect_image(image).await {
            Ok(i) => i,
            Err(_) => {
                let options = CreateImageOptionsBuilder::new().from_image(image).build();
                let mut pull = self.docker.create_image(Some(options), None, None);
                while let Some(step) = pull.next().await {
                    step.map_err(|e| {
                        ProvisionError(format!(
                            "Unable to pull customer's container image {image}: {e}"
                        ))
                    })?;
                }
                self.docker.inspect_image(image).await.map_err(|e| {
                    ProvisionError(format!(
                        "Unable to pull customer's container image {image}: {e}"
                    ))
                })?
            }
        };
        let path = inspect
            .config
            .and_then(|c| c.env)
            .unwrap_or_default()
            .into_iter()
            .find_map(|kv| kv.strip_prefix("PATH=").map(str::to_owned));
        Ok(path.unwrap_or_else(|| DEFAULT_PATH.to_owned()))
    }
}

impl Executor for DockerExecutor {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn provision<'a>(
        &'a self,
        req: Provision<'a>,
    ) -> BoxFuture<'a, Result<Arc<dyn Container>, ProvisionError>> {
        Box::pin(async move {
            if req.image.trim().is_empty() {
                return Err(ProvisionError("The project names no image".into()));
            }
            let path = self.image_path(req.image).await?;
            let workspace = req.workspace.to_string_lossy().into_owned();
            let name = container_name(req.build_id);
            let body = ContainerCreateBody {
                image: Some(req.image.to_owned()),
                entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
                cmd: Some(vec![
                    "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done".into(),
                ]),
                working_dir: Some(workspace.clone()),
                labels: Some(
                    [("ferry.build-id".to_owned(), req.build_id.to_owned())]
                        .into_iter()
                        .collect(),
                ),
                host_config: Some(HostConfig {
                    binds: Some(vec![format!("{workspace}:{workspace}")]),
                    network_mode: Some("host".into()),
                    privileged: Some(req.privileged),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let options = CreateContainerOptionsBuilder::new().name(&name).build();
            let created = self
                .docker
                .create_container(Some(options), body)
                .await
                .map_err(|e| ProvisionError(format!("Cannot create the build container: {e}")))?;
            let container = DockerContainer {
                docker: self.docker.clone(),
                id: created.id,
                path,
            };
            if let Err(e) = self.docker.start_container(&container.id, None).await {
                container.remove().await;
                return Err(ProvisionError(format!(
                    "Cannot start the build container: {e}"
                )));
            }
            Ok(Arc::new(container) as Arc<dyn Container>)
        })
    }
}

/// A container name from a build id (`project:uuid`): the engine allows `[a-zA-Z0-9_.-]`.
fn container_name(build_id: &str) -> String {
    let safe: String = build_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("ferry-build-{safe}")
}

/// One build's container.
struct DockerContainer {
    docker: Docker,
    id: String,
    /// The image's PATH, which replaces the server's in the build environment.
    path: String,
}

/// Cuts a line longer than [`MAX_LINE`], as the local executor does.
fn cut(mut line: String) -> String {
    if line.len() > MAX_LINE {
        let mut end = MAX_LINE;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
    }
    line
}

/// Splits a stream's chunks into lines (one buffer per stream, so that stdout and stderr
/// lines are not mixed inside a line).
#[derive(Default)]
struct Lines {
    out: Vec<u8>,
    err: Vec<u8>,
}

impl Lines {
    fn push(&mut self, chunk: LogOutput, done: &mut Vec<String>) {
        let (buf, bytes) = match chunk {
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                (&mut self.out, message)
            }
            LogOutput::StdErr { message } => (&mut self.err, message),
            LogOutput::StdIn { .. } => return,
        };
        buf.extend_from_slice(&bytes);
        while let Some(at) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=at).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            done.push(cut(text.trim_end_matches('\r').to_owned()));
        }
        if buf.len() > MAX_LINE {
            let line: Vec<u8> = std::mem::take(buf);
            done.push(cut(String::from_utf8_lossy(&line).into_owned()));
        }
    }

    fn finish(&mut self, done: &mut Vec<String>) {
        for buf in [&mut self.out, &mut self.err] {
            if !buf.is_empty() {
                done.push(cut(String::from_utf8_lossy(buf).into_owned()));
                buf.clear();
            }
        }
    }
}

impl DockerContainer {
    fn exec_env(&self, p: &Proc<'_>) -> Vec<String> {
        p.env
            .iter()
            .map(|(k, v)| {
                if k == "PATH" {
                    format!("PATH={}", self.path)
                } else {
                    format!("{k}={v}")
                }
            })
            .collect()
    }

    /// Creates and starts one exec; returns its id and its output stream.
    async fn start(
        &self,
        p: &Proc<'_>,
        stderr: bool,
    ) -> std::io::Result<(
        String,
        std::pin::Pin<
            Box<dyn futures_util::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
        >,
    )> {
        let mut cmd = vec![p.program.to_owned()];
        cmd.extend(p.args.iter().cloned());
        let exec = self
            .docker
            .create_exec(
                &self.id,
                CreateExecOptions {
                    attach_stdout: Some(true),
                    attach_stderr: Some(stderr),
                    env: Some(self.exec_env(p)),
                    cmd: Some(cmd),
                    working_dir: Some(p.cwd.to_string_lossy().into_owned()),
                    user: p.user.map(str::to_owned),
                    ..Default::default()
                },
            )
            .await
            .map_err(io_err)?;
        match self
            .docker
            .start_exec(&exec.id, None)
            .await
            .map_err(io_err)?
        {
            StartExecResults::Attached { output, .. } => Ok((exec.id, output)),
            StartExecResults::Detached => Err(std::io::Error::other("the exec did not attach")),
        }
    }

    /// Whether the exec still runs, and its exit code once it does not.
    async fn state(&self, exec: &str) -> std::io::Result<(bool, i32)> {
        let info = self.docker.inspect_exec(exec).await.map_err(io_err)?;
        let code = info.exit_code.unwrap_or(-1);
        Ok((
            info.running.unwrap_or(false),
            i32::try_from(code).unwrap_or(-1),
        ))
    }

    async fn kill(&self) {
        let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
        let _ = self.docker.kill_container(&self.id, Some(options)).await;
    }

    async fn remove(&self) {
        let options = RemoveContainerOptionsBuilder::new().force(true).build();
        if let Err(e) = self.docker.remove_container(&self.id, Some(options)).await {
            tracing::warn!(container = %self.id, error = %e, "cannot remove a build container");
        }
    }
}

fn io_err(e: bollard::errors::Error) -> std::io::Error {
    std::io::Error::other(format!("docker engine: {e}"))
}

impl Container for DockerContainer {
    fn run<'a>(
        &'a self,
        p: Proc<'a>,
        out: &'a mpsc::Sender<String>,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, std::io::Result<Exit>> {
        Box::pin(async move {
            let (exec, mut output) = self.start(&p, true).await?;
            let mut lines = Lines::default();
            let mut ready = Vec::new();
            let mut check = FIRST_CHECK;
            let mut ended_at: Option<tokio::time::Instant> = None;
            loop {
                let wait = match ended_at {
                    Some(at) => at + DRAIN_AFTER_EXIT,
                    None => tokio::time::Instant::now() + check,
                };
                tokio::select! {
                    chunk = output.next() => match chunk {
                        Some(Ok(chunk)) => lines.push(chunk, &mut ready),
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "exec output ended with an error");
                            break;
                        }
                        None => break,
                    },
                    _ = cancel.cancelled() => {
                        self.kill().await;
                        return Ok(Exit::Cancelled);
                    }
                    _ = tokio::time::sleep_until(wait) => {
                        if ended_at.is_some() {
                            break;
                        }
                        let (running, _) = self.state(&exec).await?;
                        if running {
                            check = (check * 2).min(LAST_CHECK);
                        } else {
                            ended_at = Some(tokio::time::Instant::now());
                        }
                    }
                }
                for line in ready.drain(..) {
                    let _ = out.send(line).await;
                }
            }
            lines.finish(&mut ready);
            for line in ready.drain(..) {
                let _ = out.send(line).await;
            }
            // The output ended, so the process has (or is about to have) an exit code.
            for _ in 0..100 {
                let (running, code) = self.state(&exec).await?;
                if !running {
                    return Ok(Exit::Code(code));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(std::io::Error::other(
                "the exec's output ended but it still runs",
            ))
        })
    }

    fn capture<'a>(&'a self, p: Proc<'a>) -> BoxFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let (exec, mut output) = self.start(&p, false).await.ok()?;
            let mut bytes = Vec::new();
            while let Some(chunk) = output.next().await {
                match chunk.ok()? {
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        bytes.extend_from_slice(&message)
                    }
                    _ => {}
                }
            }
            for _ in 0..100 {
                let (running, code) = self.state(&exec).await.ok()?;
                if !running {
                    return (code == 0).then_some(bytes);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            None
        })
    }

    fn release(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move { self.remove().await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lines() {
        assert_eq!(container_name("web:1f2e-3d"), "ferry-build-web-1f2e-3d");
        let mut lines = Lines::default();
        let mut done = Vec::new();
        lines.push(
            LogOutput::StdOut {
                message: "a\nb".into(),
            },
            &mut done,
        );
        lines.push(
            LogOutput::StdErr {
                message: "err\r\n".into(),
            },
            &mut done,
        );
        lines.push(
            LogOutput::StdOut {
                message: "c\n".into(),
            },
            &mut done,
        );
        lines.push(
            LogOutput::StdOut {
                message: "tail".into(),
            },
            &mut done,
        );
        lines.finish(&mut done);
        assert_eq!(done, ["a", "err", "bc", "tail"]);
        let long = "x".repeat(MAX_LINE + 10);
        let mut done = Vec::new();
        lines.push(
            LogOutput::StdOut {
                message: long.into(),
            },
            &mut done,
        );
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].len(), MAX_LINE);
    }
}
