//! The agent loop (reference §4.8, §4.9): register the host, then poll the command plane and
//! carry out each command with [`Agent`].
//!
//! Start-up: `GetCallerIdentity` gives the ARN the host is known by (its `HostIdentifier`); the
//! instance is registered under its name with that ARN (an existing registration is accepted
//! when it is this name with this ARN) and its tags are brought to the configured set. A
//! command found in the tracking file `<root>/ongoing-command.json` was cut short by a restart
//! and is reported `Failed` with error code 7.
//!
//! Each command: `GetDeploymentSpecification`, `PutHostCommandAcknowledgement` (with whether
//! the command is a no-op), and only when the service answers `InProgress`: download the
//! bundle (DownloadBundle), [`Agent::execute`] while `PostHostCommandUpdate` goes out as a
//! heartbeat every ten seconds and with new script output at most once a second, then
//! `PutHostCommandComplete`. Errors back off exponentially up to 30 s; a stop request
//! interrupts the loop, and a command cut short is reported `Failed`.

use crate::client::{
    Client, ClientError, CommandStatus, HostCommand, IamIdentity, InstanceInfo, Tag,
};
use crate::diagnostics::{Diagnostics, ErrorCode};
use crate::hooks::{OutputLine, OutputStream};
use crate::lifecycle::Agent;
use crate::spec::DeploymentSpec;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// The tracking file's name under the agent's root.
pub const TRACKING_FILE: &str = "ongoing-command.json";

/// The most script output one update carries (older output is dropped first).
const MAX_UPDATE_LOG_BYTES: usize = 64 * 1024;

/// Exceptions meaning the registration exists already (for this host or another).
const ALREADY_REGISTERED: [&str; 3] = [
    "InstanceNameAlreadyRegisteredException",
    "IamUserArnAlreadyRegisteredException",
    "IamSessionArnAlreadyRegisteredException",
];

/// How the loop behaves.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The on-premises instance name to register.
    pub instance_name: String,
    /// The instance's tags: exactly these after start-up.
    pub tags: Vec<Tag>,
    /// How often a running command reports that it is alive.
    pub heartbeat_interval: Duration,
    /// How often new script output is sent, at most.
    pub log_interval: Duration,
    /// The shortest time between two polls, should the server answer them at once.
    pub min_poll_interval: Duration,
    /// The first delay after an error; it doubles up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// How long reporting an interrupted command may take when stopping.
    pub stop_report_timeout: Duration,
}

impl RunnerConfig {
    pub fn new(instance_name: impl Into<String>) -> Self {
        Self {
            instance_name: instance_name.into(),
            tags: Vec::new(),
            heartbeat_interval: Duration::from_secs(10),
            log_interval: Duration::from_secs(1),
            min_poll_interval: Duration::from_secs(1),
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            stop_report_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{0}")]
    Registration(String),
    #[error("{0}")]
    Protocol(String),
    #[error("tracking file {path}: {source}")]
    Tracking { path: PathBuf, source: io::Error },
}

impl RunnerError {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Client(e) if e.is_transient())
    }
}

/// A stop request: set once, seen by every clone. Dropping the sender counts as a stop.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A stop handle (send `true` to stop) and the matching [`Shutdown`].
    pub fn channel() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    pub fn is_set(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Resolves once a stop is requested.
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// Exponential back-off between failed attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            next: first,
        }
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next.min(self.max);
        self.next = (delay * 2).min(self.max);
        delay
    }

    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// Tags to remove and tags to add so that an instance tagged `current` ends up tagged exactly
/// `wanted` (a changed value is a removal plus an addition).
pub fn tag_diff(current: &[Tag], wanted: &[Tag]) -> (Vec<Tag>, Vec<Tag>) {
    let mut remove: Vec<Tag> = current
        .iter()
        .filter(|t| !wanted.contains(t))
        .cloned()
        .collect();
    let mut add: Vec<Tag> = wanted
        .iter()
        .filter(|t| !current.contains(t))
        .cloned()
        .collect();
    for list in [&mut remove, &mut add] {
        list.sort();
        list.dedup();
    }
    (remove, add)
}

/// Whether an existing registration is this host's: the same name, the same ARN, not
/// deregistered.
pub fn check_registration(info: &InstanceInfo, name: &str, arn: &str) -> Result<(), String> {
    if info.instance_name.as_deref() != Some(name) {
        return Err(format!(
            "the service answered for instance {:?} when asked about {name:?}",
            info.instance_name.as_deref().unwrap_or("")
        ));
    }
    if info.is_deregistered() {
        return Err(format!(
            "the on-premises instance {name} is deregistered; choose another --name"
        ));
    }
    match info.arn() {
        Some(registered) if registered == arn => Ok(()),
        Some(registered) => Err(format!(
            "the on-premises instance {name} is registered with {registered}, not with this host's credentials ({arn}); deregister it or choose another --name"
        )),
        None => Err(format!(
            "the on-premises instance {name} is registered without an IAM ARN"
        )),
    }
}

/// Whether a downloaded object's ETag is the one the deployment names (quotes ignored).
pub fn check_etag(expected: Option<&str>, actual: Option<&str>) -> Result<(), String> {
    let Some(expected) = expected.map(|e| e.trim().trim_matches('"')) else {
        return Ok(());
    };
    match actual.map(|a| a.trim().trim_matches('"')) {
        Some(actual) if actual == expected => Ok(()),
        Some(actual) => Err(format!(
            "The bundle's ETag {actual} does not match the ETag {expected} of the deployment's revision: the object changed since the deployment was created"
        )),
        None => Err(format!(
            "The server sent the bundle without an ETag; the deployment's revision has ETag {expected}"
        )),
    }
}

/// What the tracking file holds while a command runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OngoingCommand {
    host_command_identifier: String,
    command_name: String,
    deployment_execution_id: String,
}

/// Script output waiting to be sent with the next update.
#[derive(Debug, Default)]
struct PendingLog(String);

impl PendingLog {
    fn push(&mut self, line: &OutputLine) {
        let tag = match line.stream {
            OutputStream::Stdout => "[stdout]",
            OutputStream::Stderr => "[stderr]",
        };
        self.0.push_str(tag);
        self.0.push_str(&line.line);
        self.0.push('\n');
        if self.0.len() > MAX_UPDATE_LOG_BYTES {
            let mut cut = self.0.len() - MAX_UPDATE_LOG_BYTES;
            while !self.0.is_char_boundary(cut) {
                cut += 1;
            }
            self.0.drain(..cut);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The update payload for the pending lines, emptying the buffer.
    fn take_payload(&mut self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let log = std::mem::take(&mut self.0);
        Some(serde_json::json!({ "log": log }).to_string())
    }
}

type UpdateFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<CommandStatus>, ClientError>> + 'a>>;

/// The agent loop.
#[derive(Debug)]
pub struct Runner {
    client: Client,
    agent: Agent,
    config: RunnerConfig,
}

impl Runner {
    pub fn new(client: Client, agent: Agent, config: RunnerConfig) -> Self {
        Self {
            client,
            agent,
            config,
        }
    }

    fn tracking_file(&self) -> PathBuf {
        self.agent.layout.root().join(TRACKING_FILE)
    }

    /// Register, recover, then poll until `shutdown`. Returns an error only for what retrying
    /// cannot fix (credentials refused, the name taken by another host).
    pub async fn run(&self, shutdown: Shutdown) -> Result<(), RunnerError> {
        let Some(host) = self
            .retrying("registration", &shutdown, || self.register())
            .await?
        else {
            return Ok(());
        };
        tracing::info!(instance = %self.config.instance_name, host_identifier = %host, "registered; polling for commands");
        if self
            .retrying("reporting the interrupted command", &shutdown, || {
                self.recover()
            })
            .await?
            .is_none()
        {
            return Ok(());
        }
        self.poll_loop(&host, &shutdown).await;
        tracing::info!("agent stopped");
        Ok(())
    }

    /// Register the instance (or accept this host's existing registration) and set its tags.
    /// Returns the host identifier (the caller's ARN).
    pub async fn register(&self) -> Result<String, RunnerError> {
        let arn = self.client.get_caller_identity().await?;
        let identity = IamIdentity::from_caller_arn(&arn);
        let name = self.config.instance_name.as_str();
        match self
            .client
            .register_on_premises_instance(name, &identity)
            .await
        {
            Ok(()) => {
                tracing::info!(instance = name, arn = %arn, "registered the on-premises instance")
            }
            Err(e) if e.code().is_some_and(|c| ALREADY_REGISTERED.contains(&c)) => {
                let info = match self.client.get_on_premises_instance(name).await {
                    Ok(info) => info,
                    Err(get) if get.code() == Some("InstanceNotRegisteredException") => {
                        return Err(RunnerError::Registration(format!(
                            "cannot register {name}: {e} (the identity {arn} is registered for another instance; deregister it or use other credentials)"
                        )));
                    }
                    Err(get) => return Err(get.into()),
                };
                check_registration(&info, name, &arn).map_err(|why| {
                    RunnerError::Registration(format!("cannot register {name}: {why}"))
                })?;
                tracing::info!(instance = name, arn = %arn, "the on-premises instance was registered already");
            }
            Err(e) => return Err(e.into()),
        }
        let info = self.client.get_on_premises_instance(name).await?;
        let (remove, add) = tag_diff(&info.tags, &self.config.tags);
        if !remove.is_empty() {
            self.client
                .remove_tags_from_on_premises_instances(&remove, &[name])
                .await?;
        }
        if !add.is_empty() {
            self.client
                .add_tags_to_on_premises_instances(&add, &[name])
                .await?;
        }
        Ok(arn)
    }

    /// Report the command a previous run left in the tracking file as failed after a restart.
    async fn recover(&self) -> Result<(), RunnerError> {
        let path = self.tracking_file();
        let text = match tokio::fs::read_to_string(&path).await {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(RunnerError::Tracking { path, source }),
        };
        match serde_json::from_str::<OngoingCommand>(&text) {
            Ok(ongoing) => {
                tracing::warn!(command = %ongoing.command_name, id = %ongoing.host_command_identifier,
                    "a command was running when the agent stopped; reporting it failed");
                let diagnostics = Diagnostics {
                    error_code: ErrorCode::FailedAfterRestart,
                    script_name: String::new(),
                    message: format!(
                        "The agent restarted while running {}; the command did not finish",
                        ongoing.command_name
                    ),
                    log: String::new(),
                };
                match self
                    .client
                    .put_host_command_complete(
                        &ongoing.host_command_identifier,
                        false,
                        &diagnostics,
                    )
                    .await
                {
                    Ok(()) => {}
                    Err(e) if e.is_transient() => return Err(e.into()),
                    Err(e) => tracing::warn!(error = %e, "the service refused the report"),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "ignoring an unreadable tracking file")
            }
        }
        self.untrack().await;
        Ok(())
    }

    /// Run `attempt` until it succeeds, fails for good, or a stop is requested (`None`).
    async fn retrying<T, F, Fut>(
        &self,
        what: &str,
        shutdown: &Shutdown,
        mut attempt: F,
    ) -> Result<Option<T>, RunnerError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RunnerError>>,
    {
        let mut backoff = Backoff::new(self.config.first_backoff, self.config.max_backoff);
        loop {
            let result = tokio::select! {
                r = attempt() => r,
                () = shutdown.wait() => return Ok(None),
            };
            match result {
                Ok(value) => return Ok(Some(value)),
                Err(e) if e.is_transient() => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?delay, "{what} failed; retrying");
                    if !sleep_or_stop(delay, shutdown).await {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn poll_loop(&self, host: &str, shutdown: &Shutdown) {
        let mut backoff = Backoff::new(self.config.first_backoff, self.config.max_backoff);
        while !shutdown.is_set() {
            let started = Instant::now();
            let polled = tokio::select! {
                r = self.client.poll_host_command(host) => r,
                () = shutdown.wait() => return,
            };
            let (handled, idle) = match polled {
                Ok(None) => (Ok(()), true),
                Ok(Some(command)) => (self.handle(host, command, shutdown).await, false),
                Err(e) => (Err(e.into()), false),
            };
            let delay = match handled {
                // After a command the next one is asked for at once; an empty answer that came
                // back sooner than the server's long poll is spaced out.
                Ok(()) if !idle => {
                    backoff.reset();
                    Duration::ZERO
                }
                Ok(()) => {
                    backoff.reset();
                    (started + self.config.min_poll_interval)
                        .saturating_duration_since(Instant::now())
                }
                Err(e) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?delay, "command plane error");
                    delay
                }
            };
            if !sleep_or_stop(delay, shutdown).await {
                return;
            }
        }
    }

    /// One command, from its specification to its completion report.
    async fn handle(
        &self,
        host: &str,
        command: HostCommand,
        shutdown: &Shutdown,
    ) -> Result<(), RunnerError> {
        if command.host_identifier != host {
            return Err(RunnerError::Protocol(format!(
                "the service sent a command for host {:?} to {host}",
                command.host_identifier
            )));
        }
        if command.command_name.is_empty() {
            return Err(RunnerError::Protocol(format!(
                "the service sent command {} without a name",
                command.host_command_identifier
            )));
        }
        let name = command.command_name.as_str();
        let id = command.host_command_identifier.as_str();
        tracing::info!(command = name, id, execution = %command.deployment_execution_id, "received a command");
        let envelope = tokio::select! {
            r = self.client.get_deployment_specification(&command.deployment_execution_id, host) => r?,
            () = shutdown.wait() => return Ok(()),
        };
        let spec = envelope.deployment_spec();
        let is_noop = match &spec {
            Ok(spec) => self.agent.is_noop(name, spec).await,
            Err(_) => false,
        };
        let status = tokio::select! {
            r = self.client.put_host_command_acknowledgement(id, is_noop) => r?,
            () = shutdown.wait() => return Ok(()),
        };
        match status {
            CommandStatus::InProgress => {}
            CommandStatus::Failed if is_noop => {
                tracing::info!(
                    command = name,
                    id,
                    "the service failed a no-op command; reporting it done"
                );
                return self
                    .client
                    .put_host_command_complete(id, true, &Diagnostics::success())
                    .await
                    .map_err(Into::into);
            }
            other => {
                tracing::info!(command = name, id, status = ?other, "not running the command");
                return Ok(());
            }
        }
        self.track(&command).await;
        let (diagnostics, interrupted) = match spec {
            Err(e) => (Diagnostics::unknown_error(e.to_string()), false),
            Ok(spec) => match self.execute(&command, &spec, shutdown).await {
                Some(diagnostics) => (diagnostics, false),
                None => (
                    Diagnostics::unknown_error(format!(
                        "The agent was stopped while running {name}"
                    )),
                    true,
                ),
            },
        };
        tracing::info!(command = name, id, error_code = diagnostics.error_code as u8, message = %diagnostics.message, "command finished");
        self.complete(id, &diagnostics, interrupted, shutdown).await
    }

    /// Download (for DownloadBundle) and execute, with heartbeats and output updates; `None`
    /// when a stop request interrupted it.
    async fn execute(
        &self,
        command: &HostCommand,
        spec: &DeploymentSpec,
        shutdown: &Shutdown,
    ) -> Option<Diagnostics> {
        let name = command.command_name.as_str();
        let id = command.host_command_identifier.as_str();
        let (tx, mut lines) = mpsc::unbounded_channel();
        let work = async move {
            let bundle = if name == "DownloadBundle" {
                match self.download(spec).await {
                    Ok(path) => Some(path),
                    Err(failure) => return failure,
                }
            } else {
                None
            };
            self.agent
                .execute(name, spec, bundle.as_deref(), Some(tx))
                .await
        };
        let mut work = std::pin::pin!(work);
        let mut pending = PendingLog::default();
        let mut lines_open = true;
        let mut last_update = Instant::now();
        let mut in_flight: Option<UpdateFuture<'_>> = None;
        loop {
            let interval = if pending.is_empty() {
                self.config.heartbeat_interval
            } else {
                self.config.log_interval
            };
            tokio::select! {
                diagnostics = &mut work => {
                    // The last lines go out before the completion report.
                    let grace = self.config.stop_report_timeout;
                    if let Some(update) = in_flight.take() {
                        let _ = tokio::time::timeout(grace, update).await;
                    }
                    while let Ok(line) = lines.try_recv() {
                        pending.push(&line);
                    }
                    if let Some(payload) = pending.take_payload() {
                        let update = self.client.post_host_command_update(id, None, Some(&payload));
                        match tokio::time::timeout(grace, update).await {
                            Ok(Ok(_)) => {}
                            Ok(Err(e)) => tracing::warn!(command = name, id, error = %e, "progress update failed"),
                            Err(_) => tracing::warn!(command = name, id, "progress update timed out"),
                        }
                    }
                    return Some(diagnostics);
                }
                line = lines.recv(), if lines_open => match line {
                    Some(line) => pending.push(&line),
                    None => lines_open = false,
                },
                () = tokio::time::sleep_until(last_update + interval), if in_flight.is_none() => {
                    let payload = pending.take_payload();
                    in_flight = Some(Box::pin(async move {
                        self.client
                            .post_host_command_update(id, None, payload.as_deref())
                            .await
                    }));
                    last_update = Instant::now();
                }
                sent = async { in_flight.as_mut().expect("guarded").await }, if in_flight.is_some() => {
                    in_flight = None;
                    match sent {
                        Ok(Some(status @ (CommandStatus::Failed | CommandStatus::Succeeded))) => {
                            tracing::warn!(command = name, id, ?status, "the service no longer expects this command; it runs on");
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(command = name, id, error = %e, "progress update failed"),
                    }
                }
                () = shutdown.wait() => return None,
            }
        }
    }

    /// Fetch the deployment's S3 bundle into its deployment directory.
    async fn download(&self, spec: &DeploymentSpec) -> Result<PathBuf, Diagnostics> {
        let s3 = match &spec.revision.s3_revision {
            Some(s3) if spec.revision.revision_type == "S3" => s3,
            _ => {
                return Err(Diagnostics::unknown_error(format!(
                    "Revisions of type {} are not supported by this agent",
                    spec.revision.revision_type
                )));
            }
        };
        let dir = self.agent.deployment_dir(spec)?;
        tokio::fs::create_dir_all(dir.path())
            .await
            .map_err(|e| Diagnostics::unknown_error(format!("{}: {e}", dir.path().display())))?;
        let path = dir.bundle_file(s3.bundle_type);
        let location = format!("s3://{}/{}", s3.bucket, s3.key);
        let info = self
            .client
            .get_object(&s3.bucket, &s3.key, s3.version.as_deref(), &path)
            .await
            .map_err(|e| {
                Diagnostics::unknown_error(format!("Cannot download the bundle {location}: {e}"))
            })?;
        if let Err(message) = check_etag(s3.etag.as_deref(), info.etag.as_deref()) {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(Diagnostics::unknown_error(message));
        }
        tracing::info!(bundle = %location, bytes = info.bytes, "downloaded the bundle");
        Ok(path)
    }

    /// Report the outcome, retrying while the service cannot be reached. A stop request
    /// leaves a report in flight `stop_report_timeout` to finish and cancels further
    /// attempts; whatever was not reported stays in the tracking file for the next start.
    async fn complete(
        &self,
        id: &str,
        diagnostics: &Diagnostics,
        interrupted: bool,
        shutdown: &Shutdown,
    ) -> Result<(), RunnerError> {
        let succeeded = diagnostics.is_success() && !interrupted;
        let mut backoff = Backoff::new(self.config.first_backoff, self.config.max_backoff);
        loop {
            let attempt = self
                .client
                .put_host_command_complete(id, succeeded, diagnostics);
            let Some(result) = self.with_stop_grace(attempt, shutdown).await else {
                tracing::warn!(id, "stopped before the command's result was reported");
                return Ok(());
            };
            match result {
                Ok(()) => {
                    self.untrack().await;
                    return Ok(());
                }
                Err(e) if e.is_transient() && !shutdown.is_set() => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?delay, "cannot report the command's result; retrying");
                    if !sleep_or_stop(delay, shutdown).await {
                        return Ok(());
                    }
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, id, "stopped before the command's result was reported");
                    return Ok(());
                }
                Err(e) => {
                    self.untrack().await;
                    return Err(e.into());
                }
            }
        }
    }

    /// `fut`'s output; once a stop is requested it gets `stop_report_timeout` more, then
    /// `None`.
    async fn with_stop_grace<T>(
        &self,
        fut: impl Future<Output = T>,
        shutdown: &Shutdown,
    ) -> Option<T> {
        let mut fut = std::pin::pin!(fut);
        tokio::select! {
            out = &mut fut => Some(out),
            () = shutdown.wait() => tokio::time::timeout(self.config.stop_report_timeout, fut).await.ok(),
        }
    }

    async fn track(&self, command: &HostCommand) {
        let ongoing = OngoingCommand {
            host_command_identifier: command.host_command_identifier.clone(),
            command_name: command.command_name.clone(),
            deployment_execution_id: command.deployment_execution_id.clone(),
        };
        let path = self.tracking_file();
        let contents = serde_json::to_vec(&ongoing).expect("tracking record serialises");
        let target = path.clone();
        let written = tokio::task::spawn_blocking(move || {
            crate::fsutil::write_atomically(&target, &contents)
        })
        .await
        .map_err(io::Error::other)
        .flatten();
        if let Err(e) = written {
            tracing::warn!(error = %e, path = %path.display(), "cannot write the tracking file");
        }
    }

    async fn untrack(&self) {
        let path = self.tracking_file();
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                tracing::warn!(error = %e, path = %path.display(), "cannot remove the tracking file");
            }
            _ => {}
        }
    }
}

/// Sleep for `delay`; `false` when a stop request came first.
async fn sleep_or_stop(delay: Duration, shutdown: &Shutdown) -> bool {
    if delay.is_zero() {
        return !shutdown.is_set();
    }
    tokio::select! {
        () = tokio::time::sleep(delay) => !shutdown.is_set(),
        () = shutdown.wait() => false,
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
