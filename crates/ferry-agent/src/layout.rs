//! The agent's files under its root directory (reference §4.4):
//!
//! ```text
//! <root>/<deployment-group-id>/<deployment-id>/bundle.<ext>
//!                                             /deployment-archive/   (the unpacked bundle)
//!                                             /logs/scripts.log
//! <root>/deployment-instructions/<deployment-group-id>_most_recent_install      (a deployment dir path)
//!                               /<deployment-group-id>_last_successful_install  (a deployment dir path)
//!                               /<deployment-group-id>-cleanup                  (files the last install created)
//! ```
//!
//! Ids are checked so that none can name a path outside the root; old deployment directories
//! are pruned per group.

use crate::bundle::BundleType;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Deployment directories kept per deployment group (the agent's `max_revisions`).
pub const DEFAULT_MAX_REVISIONS: usize = 5;

const INSTRUCTIONS_DIR: &str = "deployment-instructions";

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("invalid {what} {value:?}: it must be a non-empty name without '/'")]
    InvalidId { what: &'static str, value: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LayoutError + '_ {
    move |source| LayoutError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The agent's root directory (`/opt/codedeploy-agent/deployment-root` for the stock agent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

/// One deployment's directory, `<root>/<deployment-group-id>/<deployment-id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentDir {
    path: PathBuf,
}

impl DeploymentDir {
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Where the bundle is unpacked.
    pub fn archive_dir(&self) -> PathBuf {
        self.path.join("deployment-archive")
    }
    pub fn logs_dir(&self) -> PathBuf {
        self.path.join("logs")
    }
    pub fn script_log(&self) -> PathBuf {
        self.logs_dir().join("scripts.log")
    }
    /// Where a downloaded bundle of `kind` is kept.
    pub fn bundle_file(&self, kind: BundleType) -> PathBuf {
        self.path.join(format!("bundle.{}", kind.extension()))
    }
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn instructions_dir(&self) -> PathBuf {
        self.root.join(INSTRUCTIONS_DIR)
    }

    pub fn group_dir(&self, group_id: &str) -> Result<PathBuf, LayoutError> {
        check_id("deployment group id", group_id)?;
        if group_id == INSTRUCTIONS_DIR {
            return Err(LayoutError::InvalidId {
                what: "deployment group id",
                value: group_id.to_owned(),
            });
        }
        Ok(self.root.join(group_id))
    }

    pub fn deployment(
        &self,
        group_id: &str,
        deployment_id: &str,
    ) -> Result<DeploymentDir, LayoutError> {
        check_id("deployment id", deployment_id)?;
        Ok(DeploymentDir {
            path: self.group_dir(group_id)?.join(deployment_id),
        })
    }

    /// The list of files and directories the group's last install created.
    pub fn cleanup_file(&self, group_id: &str) -> Result<PathBuf, LayoutError> {
        self.instruction(group_id, "-cleanup")
    }

    /// Record `dir` as the group's most recent install (end of DownloadBundle).
    pub async fn record_most_recent(
        &self,
        group_id: &str,
        dir: &DeploymentDir,
    ) -> Result<(), LayoutError> {
        self.record(group_id, "_most_recent_install", dir).await
    }

    /// Record `dir` as the group's last successful install (end of Install).
    pub async fn record_last_successful(
        &self,
        group_id: &str,
        dir: &DeploymentDir,
    ) -> Result<(), LayoutError> {
        self.record(group_id, "_last_successful_install", dir).await
    }

    pub async fn most_recent(&self, group_id: &str) -> Result<Option<DeploymentDir>, LayoutError> {
        self.recorded(group_id, "_most_recent_install").await
    }

    pub async fn last_successful(
        &self,
        group_id: &str,
    ) -> Result<Option<DeploymentDir>, LayoutError> {
        self.recorded(group_id, "_last_successful_install").await
    }

    /// Remove the group's oldest deployment directories so that at most `max_revisions` remain,
    /// never `current` nor the last successful install. Returns what was removed.
    pub async fn prune(
        &self,
        group_id: &str,
        current: &DeploymentDir,
        max_revisions: usize,
    ) -> Result<Vec<PathBuf>, LayoutError> {
        let group_dir = self.group_dir(group_id)?;
        let keep = self.last_successful(group_id).await?;
        let mut dirs: Vec<(SystemTime, PathBuf)> = Vec::new();
        let mut entries = match tokio::fs::read_dir(&group_dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&group_dir)(e)),
        };
        while let Some(entry) = entries.next_entry().await.map_err(io_err(&group_dir))? {
            let meta = entry.metadata().await.map_err(io_err(&entry.path()))?;
            if meta.is_dir() {
                dirs.push((
                    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    entry.path(),
                ));
            }
        }
        dirs.sort_by(|a, b| b.cmp(a));
        let mut removed = Vec::new();
        for (_, path) in dirs.into_iter().skip(max_revisions) {
            let protected = path == current.path || keep.as_ref().is_some_and(|k| k.path == path);
            if !protected {
                tokio::fs::remove_dir_all(&path)
                    .await
                    .map_err(io_err(&path))?;
                removed.push(path);
            }
        }
        Ok(removed)
    }

    fn instruction(&self, group_id: &str, suffix: &str) -> Result<PathBuf, LayoutError> {
        self.group_dir(group_id)?;
        Ok(self.instructions_dir().join(format!("{group_id}{suffix}")))
    }

    async fn record(
        &self,
        group_id: &str,
        suffix: &str,
        dir: &DeploymentDir,
    ) -> Result<(), LayoutError> {
        let file = self.instruction(group_id, suffix)?;
        let contents = dir.path.as_os_str().as_encoded_bytes().to_vec();
        let target = file.clone();
        tokio::task::spawn_blocking(move || crate::fsutil::write_atomically(&target, &contents))
            .await
            .map_err(io::Error::other)
            .flatten()
            .map_err(io_err(&file))
    }

    /// The deployment directory a record names; `None` when there is no record or it does not
    /// name a deployment directory of this group (a stale or hand-edited file is ignored).
    async fn recorded(
        &self,
        group_id: &str,
        suffix: &str,
    ) -> Result<Option<DeploymentDir>, LayoutError> {
        let file = self.instruction(group_id, suffix)?;
        let text = match tokio::fs::read_to_string(&file).await {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&file)(e)),
        };
        let path = PathBuf::from(text.trim_end_matches(['\n', '\r']));
        let group_dir = self.group_dir(group_id)?;
        let deployment_id = path
            .strip_prefix(&group_dir)
            .ok()
            .and_then(|rest| rest.to_str())
            .filter(|id| check_id("deployment id", id).is_ok());
        match deployment_id {
            Some(id) => self.deployment(group_id, id).map(Some),
            None => {
                tracing::warn!(file = %file.display(), recorded = %path.display(),
                    "ignoring a record that names no deployment directory of its group");
                Ok(None)
            }
        }
    }
}

/// Ids become single path components: non-empty, no `/` or NUL, not `.` or `..`.
fn check_id(what: &'static str, id: &str) -> Result<(), LayoutError> {
    let bad =
        id.is_empty() || id == "." || id == ".." || id.contains(['/', '\0']) || id.len() > 255;
    if bad {
        return Err(LayoutError::InvalidId {
            what,
            value: id.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
