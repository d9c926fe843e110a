//! Bare repositories on disk. Reads (refs, commits, trees, blobs, differences) and object
//! writes run in-process with gitoxide (`objects`, `write`); `git` itself runs only for
//! creating repositories, the transport, and a few ref edits.

mod commit;
pub mod merge;
pub mod objects;
pub mod write;

pub use commit::{CommitInfo, Person};
pub use objects::OpenRepos;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use tokio::process::Command;

/// Errors from git operations.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git {0}: {1}")]
    Command(String, String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("not found")]
    NotFound,
    #[error("ref changed concurrently or exists already")]
    RefConflict,
}

/// Where bare repositories live and which `git` runs on them.
#[derive(Clone)]
pub struct GitRepos {
    root: PathBuf,
    git: PathBuf,
    pub(crate) open: Arc<OpenRepos>,
}

impl std::fmt::Debug for GitRepos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitRepos")
            .field("root", &self.root)
            .finish()
    }
}

impl GitRepos {
    /// Repositories under `root`, run with the `git` found on `PATH`.
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(Self {
            root,
            git: PathBuf::from("git"),
            open: Arc::default(),
        })
    }

    /// The directory of repository `id`.
    pub fn path(&self, id: &str) -> PathBuf {
        self.root.join(format!("{id}.git"))
    }

    /// The directory holding every repository.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A `git` command with a clean environment, run in repository `id`.
    pub fn command(&self, id: &str) -> Command {
        let mut cmd = Command::new(&self.git);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", self.path(id))
            .env("GIT_DIR", self.path(id))
            .current_dir(self.path(id))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Creates an empty bare repository for `id` (a fresh id: nothing else refers to it).
    pub async fn init(&self, id: &str) -> Result<(), GitError> {
        let dir = self.path(id);
        let out = Command::new(&self.git)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args(["init", "--quiet", "--bare", "--initial-branch=main"])
            .arg(&dir)
            .kill_on_drop(true)
            .output()
            .await?;
        if !out.status.success() {
            return Err(GitError::Command(
                "init".into(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        // Partial clones and the per-repo settings Ferry relies on.
        for (k, v) in [
            ("uploadpack.allowFilter", "true"),
            ("receive.fsckObjects", "false"),
            ("gc.auto", "0"),
        ] {
            self.run(id, &["config", k, v]).await?;
        }
        Ok(())
    }

    /// Runs `f` on repository `id` on the blocking pool (gitoxide calls are synchronous).
    pub async fn with<T: Send + 'static>(
        &self,
        id: &str,
        f: impl FnOnce(&gix::Repository) -> Result<T, GitError> + Send + 'static,
    ) -> Result<T, GitError> {
        let this = self.clone();
        let id = id.to_owned();
        tokio::task::spawn_blocking(move || this.with_local(&id, f))
            .await
            .map_err(|e| GitError::Command("blocking task".into(), e.to_string()))?
    }

    /// Removes repository `id` from disk (absent is fine).
    pub async fn remove(&self, id: &str) -> Result<(), GitError> {
        self.open.forget(id);
        match tokio::fs::remove_dir_all(self.path(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Runs a git command and returns its standard output.
    pub async fn run(&self, id: &str, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let out = self
            .command(id)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .await?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(GitError::Command(
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            ))
        }
    }

    /// Every ref (`refs/heads/*`, `refs/tags/*`, ...) with the object it points at.
    pub async fn refs(&self, id: &str) -> Result<Vec<(String, String)>, GitError> {
        self.with(id, objects::refs).await
    }

    /// Branch names with their tips, sorted by name.
    pub async fn branches(&self, id: &str) -> Result<Vec<(String, String)>, GitError> {
        let mut out: Vec<(String, String)> = self
            .refs(id)
            .await?
            .into_iter()
            .filter_map(|(name, sha)| {
                name.strip_prefix("refs/heads/")
                    .map(|b| (b.to_owned(), sha))
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// The tip of a branch, if it exists.
    pub async fn branch(&self, id: &str, branch: &str) -> Result<Option<String>, GitError> {
        let full = format!("refs/heads/{branch}");
        Ok(self
            .refs(id)
            .await?
            .into_iter()
            .find(|(n, _)| *n == full)
            .map(|(_, sha)| sha))
    }

    /// Reads a commit by full id; `NotFound` when there is no such commit.
    pub async fn commit(&self, id: &str, sha: &str) -> Result<CommitInfo, GitError> {
        let sha = sha.to_owned();
        self.with(id, move |repo| objects::commit(repo, &sha)).await
    }

    /// Creates a branch at `sha`; `RefConflict` when it exists already.
    pub async fn create_branch(&self, id: &str, branch: &str, sha: &str) -> Result<(), GitError> {
        let full = format!("refs/heads/{branch}");
        // An empty old value makes git refuse when the ref exists.
        match self
            .run(id, &["update-ref", "--no-deref", &full, sha, ""])
            .await
        {
            Ok(_) => Ok(()),
            Err(GitError::Command(..)) => Err(GitError::RefConflict),
            Err(e) => Err(e),
        }
    }

    /// Deletes a branch if it still points at `expected`.
    pub async fn delete_branch(
        &self,
        id: &str,
        branch: &str,
        expected: &str,
    ) -> Result<(), GitError> {
        let full = format!("refs/heads/{branch}");
        match self
            .run(id, &["update-ref", "--no-deref", "-d", &full, expected])
            .await
        {
            Ok(_) => Ok(()),
            Err(GitError::Command(..)) => Err(GitError::RefConflict),
            Err(e) => Err(e),
        }
    }

    /// Points `HEAD` at a branch, so clones check it out.
    pub async fn set_head(&self, id: &str, branch: &str) -> Result<(), GitError> {
        self.run(
            id,
            &["symbolic-ref", "HEAD", &format!("refs/heads/{branch}")],
        )
        .await
        .map(drop)
    }
}
