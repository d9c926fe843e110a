//! The Install lifecycle event (reference §4.4): remove what the group's previous install
//! created (per its cleanup file), copy the new bundle's `files` into place (planned and
//! checked first, see `copy_plan.rs`), write the new cleanup file, then apply the
//! `permissions` (see `permissions.rs`).

use crate::appspec::{AppSpec, FileExistsBehavior};
use crate::copy_plan::{Planner, Step};
use crate::permissions::{self, Installed};
use crate::{cleanup, copy_plan};
use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

/// Everything one Install needs.
#[derive(Debug, Clone)]
pub struct InstallRequest {
    /// The unpacked bundle (`.../deployment-archive`).
    pub archive_dir: PathBuf,
    pub appspec: AppSpec,
    /// The behaviour in force (the appspec's if it sets one, else the deployment's).
    pub file_exists_behavior: FileExistsBehavior,
    /// The group's `<deployment-group-id>-cleanup` file.
    pub cleanup_file: PathBuf,
    /// Destinations must lie inside one of these (`/` in production).
    pub allowed_roots: Vec<PathBuf>,
}

/// What an Install did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallReport {
    /// Paths the previous install had created and this one removed.
    pub removed: Vec<PathBuf>,
    /// Directories and files this install created, in creation order.
    pub created: Vec<PathBuf>,
    /// Existing files left alone because of RETAIN.
    pub retained: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(
        "The deployment failed because a specified file already exists at this location: {}",
        .0.display()
    )]
    FileExists(PathBuf),
    #[error("The files section names the source {0:?}, which is outside the bundle")]
    SourceOutsideBundle(String),
    #[error("The files section names the source {0:?}, which the bundle does not contain")]
    SourceMissing(String),
    #[error(
        "The files section names the destination {0:?}; it must be an absolute path inside the directories this agent may install to"
    )]
    DestinationNotAllowed(String),
    #[error("Cannot install into {}: it exists and is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("Cannot install {}: a directory is in the way", .0.display())]
    NotAFile(PathBuf),
    #[error("The bundle directory {} is a symbolic link; only files may be links", .0.display())]
    DirectoryLink(PathBuf),
    #[error("Cannot install {:?}: file names with line breaks are not supported", .0)]
    UnsupportedName(PathBuf),
    #[error("The files section installs {} twice", .0.display())]
    InstalledTwice(PathBuf),
    #[error("The permissions for {object} use {what}, which this agent does not support")]
    UnsupportedPermission { object: String, what: &'static str },
    #[error("The permissions object {0:?} must be an absolute path without `..`")]
    InvalidPermissionObject(String),
    #[error(
        "The permissions object {} is neither a directory nor a file this deployment installed",
        .0.display()
    )]
    PermissionObjectNotInstalled(PathBuf),
    #[error("The permissions pattern {pattern:?} is not a valid glob: {message}")]
    InvalidPattern { pattern: String, message: String },
    #[error("The permissions name the user {0:?}, which does not exist on this host")]
    UnknownUser(String),
    #[error("The permissions name the group {0:?}, which does not exist on this host")]
    UnknownGroup(String),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl InstallError {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Run an Install; the file work happens on tokio's blocking pool.
pub async fn install(request: InstallRequest) -> Result<InstallReport, InstallError> {
    tokio::task::spawn_blocking(move || install_blocking(&request))
        .await
        .unwrap_or_else(|e| Err(InstallError::io(Path::new("install"), io::Error::other(e))))
}

/// The synchronous body of [`install`].
pub fn install_blocking(request: &InstallRequest) -> Result<InstallReport, InstallError> {
    let rules = permissions::compile(&request.appspec.permissions)?;
    let previous = cleanup::read(&request.cleanup_file)?;
    let removed = cleanup::remove_listed(&previous);
    // What was not removed (a directory scripts put files in) is no longer ours.
    match std::fs::remove_file(&request.cleanup_file) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(InstallError::io(&request.cleanup_file, e));
        }
        _ => {}
    }
    let previous: HashSet<PathBuf> = previous.into_iter().collect();
    let plan = Planner {
        archive_dir: &request.archive_dir,
        allowed_roots: &request.allowed_roots,
        behavior: request.file_exists_behavior,
        previous: &previous,
    }
    .plan(&request.appspec.files)?;

    let mut created = Vec::new();
    let copied = copy_plan::execute(&plan.steps, &mut created);
    cleanup::write(&request.cleanup_file, &created)?;
    copied?;

    let installed: Vec<Installed> = plan
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::Dir {
                path,
                installed: true,
            } => Some(Installed {
                path: path.clone(),
                is_dir: true,
            }),
            Step::File { to, .. } => Some(Installed {
                path: to.clone(),
                is_dir: false,
            }),
            Step::Dir { .. } => None,
        })
        .collect();
    permissions::apply(&rules, &installed)?;
    Ok(InstallReport {
        removed,
        created,
        retained: plan.retained,
    })
}

#[cfg(test)]
#[path = "install_tests.rs"]
mod tests;
