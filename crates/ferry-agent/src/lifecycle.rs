//! The command dispatcher the agent's polling loop calls: one lifecycle command for one
//! deployment, carried out with the revision the reference (§4.2) says it uses, and answered
//! with [`Diagnostics`]. `DownloadBundle` unpacks a bundle the caller has downloaded, records
//! the most recent install and prunes old ones; `Install` installs and records the last
//! successful install; every other event runs the appspec's scripts.

use crate::appspec::{self, AppSpec, FileExistsBehavior, SCRIPTABLE_EVENTS};
use crate::bundle::{self, UnpackLimits};
use crate::diagnostics::Diagnostics;
use crate::extract::relative_path;
use crate::hooks::{self, DEFAULT_KILL_GRACE, EventRun, OutputLine};
use crate::install::{self, InstallRequest};
use crate::layout::{DEFAULT_MAX_REVISIONS, DeploymentDir, Layout};
use crate::spec::DeploymentSpec;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// How this host carries out commands.
#[derive(Debug, Clone)]
pub struct Agent {
    pub layout: Layout,
    /// Where `files` destinations may be (`/` by default).
    pub allowed_roots: Vec<PathBuf>,
    /// Deployment directories kept per deployment group.
    pub max_revisions: usize,
    pub unpack_limits: UnpackLimits,
    /// Time between `TERM` and `KILL` for a timed-out script.
    pub kill_grace: Duration,
}

/// A command the service sends, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    DownloadBundle,
    Install,
    /// A scriptable event: a standard one or a custom one the deployment declares.
    Hook(&'a str),
}

impl<'a> Command<'a> {
    pub fn parse(name: &'a str, spec: &DeploymentSpec) -> Option<Self> {
        match name {
            "DownloadBundle" => Some(Self::DownloadBundle),
            "Install" => Some(Self::Install),
            _ if SCRIPTABLE_EVENTS.contains(&name)
                || spec.custom_events().iter().any(|e| e == name) =>
            {
                Some(Self::Hook(name))
            }
            _ => None,
        }
    }
}

/// Which install's bundle a hook takes its appspec and scripts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Current,
    LastSuccessful,
    MostRecent,
}

fn hook_source(event: &str, spec: &DeploymentSpec) -> Source {
    let rollback = spec.is_blue_green_rollback();
    match event {
        "BeforeBlockTraffic" | "AfterBlockTraffic" if rollback => Source::MostRecent,
        "BeforeAllowTraffic" | "AfterAllowTraffic" if rollback => Source::LastSuccessful,
        "ApplicationStop" | "BeforeBlockTraffic" | "AfterBlockTraffic" => Source::LastSuccessful,
        _ => Source::Current,
    }
}

impl Agent {
    /// An agent keeping its files under `root`, with the stock agent's defaults.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            layout: Layout::new(root),
            allowed_roots: vec![PathBuf::from("/")],
            max_revisions: DEFAULT_MAX_REVISIONS,
            unpack_limits: UnpackLimits::default(),
            kill_grace: DEFAULT_KILL_GRACE,
        }
    }

    /// The deployment's directory; the caller downloads the bundle to its
    /// [`DeploymentDir::bundle_file`].
    pub fn deployment_dir(&self, spec: &DeploymentSpec) -> Result<DeploymentDir, Diagnostics> {
        self.layout
            .deployment(&spec.deployment_group_id, &spec.deployment_id)
            .map_err(|e| Diagnostics::unknown_error(e.to_string()))
    }

    /// Carry out `command`. `bundle` is the downloaded bundle file (for `DownloadBundle`);
    /// `output` receives script output lines as they come.
    pub async fn execute(
        &self,
        command: &str,
        spec: &DeploymentSpec,
        bundle: Option<&Path>,
        output: Option<mpsc::UnboundedSender<OutputLine>>,
    ) -> Diagnostics {
        let result = match Command::parse(command, spec) {
            Some(Command::DownloadBundle) => self.download_bundle(spec, bundle).await,
            Some(Command::Install) => self.install(spec).await,
            Some(Command::Hook(event)) => self.hook(event, spec, output).await,
            None => Err(Diagnostics::unknown_error(format!(
                "Unknown lifecycle command {command:?}"
            ))),
        };
        result.unwrap_or_else(|failure| failure)
    }

    /// Whether `command` has nothing to do: a hook with no scripts in the appspec it would use
    /// (or no such appspec). DownloadBundle and Install never are; when in doubt (an unreadable
    /// appspec) the answer is no, so that the error shows when the command runs.
    pub async fn is_noop(&self, command: &str, spec: &DeploymentSpec) -> bool {
        let Some(Command::Hook(event)) = Command::parse(command, spec) else {
            return false;
        };
        match self.hook_bundle(event, spec).await {
            Ok(None) => true,
            Ok(Some(dir)) => load_appspec(&dir.archive_dir(), spec)
                .await
                .is_ok_and(|appspec| appspec.scripts(event).is_empty()),
            Err(_) => false,
        }
    }

    async fn download_bundle(
        &self,
        spec: &DeploymentSpec,
        bundle: Option<&Path>,
    ) -> Result<Diagnostics, Diagnostics> {
        let bundle = bundle.ok_or_else(|| {
            Diagnostics::unknown_error("DownloadBundle needs the downloaded bundle file")
        })?;
        let kind = spec.bundle_type().ok_or_else(|| {
            Diagnostics::unknown_error(format!(
                "Revisions of type {} are not supported by this agent",
                spec.revision.revision_type
            ))
        })?;
        let dir = self.deployment_dir(spec)?;
        let archive = dir.archive_dir();
        // A retried DownloadBundle starts from scratch.
        match tokio::fs::remove_dir_all(&archive).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(io_failure(&archive, e));
            }
            _ => {}
        }
        bundle::unpack(bundle, kind, &archive, self.unpack_limits)
            .await
            .map_err(|e| {
                Diagnostics::unknown_error(format!(
                    "The deployment failed because the revision is invalid: {e}"
                ))
            })?;
        load_appspec(&archive, spec).await?;
        let group = &spec.deployment_group_id;
        self.layout
            .record_most_recent(group, &dir)
            .await
            .map_err(|e| Diagnostics::unknown_error(e.to_string()))?;
        if let Err(e) = self.layout.prune(group, &dir, self.max_revisions).await {
            tracing::warn!(error = %e, "cannot prune old deployment directories");
        }
        Ok(Diagnostics::success())
    }

    async fn install(&self, spec: &DeploymentSpec) -> Result<Diagnostics, Diagnostics> {
        let dir = self.deployment_dir(spec)?;
        let appspec = load_appspec(&dir.archive_dir(), spec).await?;
        let group = &spec.deployment_group_id;
        let request = InstallRequest {
            archive_dir: dir.archive_dir(),
            file_exists_behavior: appspec
                .file_exists_behavior
                .or(spec.file_exists_behavior())
                .unwrap_or(FileExistsBehavior::Disallow),
            appspec,
            cleanup_file: self
                .layout
                .cleanup_file(group)
                .map_err(|e| Diagnostics::unknown_error(e.to_string()))?,
            allowed_roots: self.allowed_roots.clone(),
        };
        install::install(request)
            .await
            .map_err(|e| Diagnostics::unknown_error(e.to_string()))?;
        self.layout
            .record_last_successful(group, &dir)
            .await
            .map_err(|e| Diagnostics::unknown_error(e.to_string()))?;
        Ok(Diagnostics::success())
    }

    async fn hook(
        &self,
        event: &str,
        spec: &DeploymentSpec,
        output: Option<mpsc::UnboundedSender<OutputLine>>,
    ) -> Result<Diagnostics, Diagnostics> {
        let Some(source) = self.hook_bundle(event, spec).await? else {
            return Ok(Diagnostics::success());
        };
        let archive = source.archive_dir();
        let appspec = load_appspec(&archive, spec).await?;
        let scripts = appspec.scripts(event);
        if scripts.is_empty() {
            return Ok(Diagnostics::success());
        }
        let current = self.deployment_dir(spec)?;
        let env = spec.hook_env();
        let run = EventRun {
            event,
            archive_dir: &archive,
            script_log: &current.script_log(),
            env: &env,
            output,
            kill_grace: self.kill_grace,
        };
        Ok(hooks::run_event(&run, scripts).await)
    }

    /// The deployment whose bundle `event` uses; `None` when that is a previous install and
    /// there is none (or its bundle is gone).
    async fn hook_bundle(
        &self,
        event: &str,
        spec: &DeploymentSpec,
    ) -> Result<Option<DeploymentDir>, Diagnostics> {
        let group = &spec.deployment_group_id;
        let recorded = match hook_source(event, spec) {
            Source::Current => return self.deployment_dir(spec).map(Some),
            Source::LastSuccessful => self.layout.last_successful(group).await,
            Source::MostRecent => self.layout.most_recent(group).await,
        };
        let recorded = recorded.map_err(|e| Diagnostics::unknown_error(e.to_string()))?;
        Ok(match recorded {
            Some(dir) if tokio::fs::metadata(dir.archive_dir()).await.is_ok() => Some(dir),
            _ => None,
        })
    }
}

/// The appspec of an unpacked bundle (`appspec.yml`, else `appspec.yaml`, unless the
/// deployment names another file).
async fn load_appspec(archive: &Path, spec: &DeploymentSpec) -> Result<AppSpec, Diagnostics> {
    let name = spec.appspec_filename();
    let rel = relative_path(Path::new(name))
        .filter(|rel| !rel.as_os_str().is_empty())
        .ok_or_else(|| {
            Diagnostics::unknown_error(format!(
                "The AppSpec file name {name:?} is not a path inside the revision"
            ))
        })?;
    let mut candidates = vec![archive.join(&rel)];
    if spec.app_spec_filename.is_none() {
        candidates.push(archive.join("appspec.yaml"));
    }
    for path in &candidates {
        match tokio::fs::read_to_string(path).await {
            Ok(text) => {
                return appspec::parse(&text, spec.custom_events()).map_err(|e| {
                    Diagnostics::unknown_error(format!(
                        "The deployment failed because the AppSpec file {name} in the revision is invalid: {e}"
                    ))
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_failure(path, e)),
        }
    }
    Err(Diagnostics::unknown_error(format!(
        "The CodeDeploy agent did not find an AppSpec file within the unpacked revision directory at revision-relative path \"{name}\". The revision was unpacked to directory \"{}\", and the AppSpec file was expected but not found at path \"{}\".",
        archive.display(),
        candidates[0].display()
    )))
}

fn io_failure(path: &Path, e: io::Error) -> Diagnostics {
    Diagnostics::unknown_error(format!("{}: {e}", path.display()))
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
