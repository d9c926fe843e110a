//! Build workspaces on this node: `<work>/<name>/` holding `src/`, `tmp/` and `home/`. A
//! finished build's workspace is emptied and kept for a later build, so a build usually starts
//! without making a directory: on ext4, making and removing directories and files is the
//! costliest file-system work a short build does. A workspace that cannot be emptied
//! completely (a `run-as` user's files, say) is removed instead, and never reused.
//!
//! Emptying waits for a quiet moment: workspaces given back are emptied together when no
//! build runs on the node ([`Workspaces::tidy`]), or one at a time when a build needs one
//! and none is ready, so the work is not done beside running builds when it need not be.
//! Emptying leaves only the shell's state files in `tmp/`, cut to nothing: nothing of one
//! build can be read by the next.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Emptied workspaces kept for later builds, at most.
const KEEP: usize = 32;
/// The directories every workspace has.
const PARTS: [&str; 3] = ["src", "tmp", "home"];

/// This node's workspaces.
#[derive(Debug)]
pub struct Workspaces {
    root: PathBuf,
    /// Emptied, ready for a build.
    free: Mutex<Vec<PathBuf>>,
    /// Given back and not emptied yet.
    used: Mutex<Vec<PathBuf>>,
    /// What was in the directory when the node started: workspaces of builds that cannot be
    /// running any more. Listed at once, so that builds started meanwhile are not among them.
    leftovers: Mutex<Vec<PathBuf>>,
}

impl Workspaces {
    pub fn new(root: PathBuf) -> Self {
        let leftovers = std::fs::read_dir(&root)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        Self {
            root,
            free: Mutex::new(Vec::new()),
            used: Mutex::new(Vec::new()),
            leftovers: Mutex::new(leftovers),
        }
    }

    /// Removes what earlier runs of this node left.
    pub async fn remove_leftovers(&self) {
        let old = std::mem::take(&mut *self.leftovers.lock().unwrap_or_else(|e| e.into_inner()));
        if !old.is_empty() {
            let _ = tokio::task::spawn_blocking(move || {
                for p in old {
                    let _ = remove(&p);
                }
            })
            .await;
        }
    }

    /// An empty workspace: a kept one, else one given back (emptied now), else a new one
    /// with its directories made.
    pub async fn take(&self) -> std::io::Result<PathBuf> {
        if let Some(ws) = lock(&self.free).pop() {
            return Ok(ws);
        }
        loop {
            let Some(ws) = lock(&self.used).pop() else {
                break;
            };
            if let Ok(ws) = blocking(move || empty_or_remove(ws)).await {
                return Ok(ws);
            }
        }
        let ws = self.root.join(uuid::Uuid::new_v4().simple().to_string());
        let made = ws.clone();
        blocking(move || {
            for part in PARTS {
                std::fs::create_dir_all(made.join(part))?;
            }
            Ok(())
        })
        .await?;
        Ok(ws)
    }

    /// The workspaces kept for later builds, emptied.
    pub fn kept(&self) -> Vec<PathBuf> {
        lock(&self.free).clone()
    }

    /// Takes back a workspace a build is done with, to be emptied and kept (or removed when
    /// as many are kept as may be).
    pub async fn give_back(&self, ws: PathBuf) {
        {
            let mut used = lock(&self.used);
            if used.len() + lock(&self.free).len() < KEEP {
                used.push(ws);
                return;
            }
        }
        let _ = blocking(move || std::fs::remove_dir_all(ws)).await;
    }

    /// Empties the workspaces given back (each kept, or removed if it cannot be emptied).
    pub async fn tidy(&self) {
        let used = std::mem::take(&mut *lock(&self.used));
        if used.is_empty() {
            return;
        }
        let emptied = blocking(move || {
            Ok(used
                .into_iter()
                .filter_map(|ws| empty_or_remove(ws).ok())
                .collect::<Vec<_>>())
        })
        .await
        .unwrap_or_default();
        lock(&self.free).extend(emptied);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs file-system work on the blocking threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(std::io::Error::other)?
}

/// `ws` emptied, or an error once it is removed (it could not be emptied).
fn empty_or_remove(ws: PathBuf) -> std::io::Result<PathBuf> {
    match empty(&ws) {
        Ok(()) => Ok(ws),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&ws);
            Err(e)
        }
    }
}

/// Removes everything a build left in `ws` but its directories and the shell's files, which
/// are cut to nothing; fails if anything stays.
fn empty(ws: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(ws)? {
        let entry = entry?;
        let name = entry.file_name();
        let part = PARTS.iter().any(|p| name == *p);
        if part && entry.file_type()?.is_dir() {
            continue;
        }
        remove(&entry.path())?;
    }
    for part in PARTS {
        let dir = ws.join(part);
        let meta = std::fs::symlink_metadata(&dir)?;
        if !meta.is_dir() {
            return Err(std::io::Error::other("not a directory"));
        }
        if meta.permissions().mode() & 0o7777 != 0o755 {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        }
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let kept = part == "tmp"
                && crate::shell::STATE_FILES
                    .iter()
                    .any(|f| entry.file_name() == *f)
                && entry.file_type()?.is_file()
                && entry.metadata()?.uid() == nix::unistd::geteuid().as_raw();
            if kept {
                // Cut to nothing (a file already empty is left alone).
                if entry.metadata()?.len() > 0 {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&path)?
                        .set_len(0)?;
                }
            } else {
                remove(&path)?;
            }
        }
    }
    Ok(())
}

/// Removes a file, a symbolic link or a whole directory.
fn remove(path: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path)?.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_workspace_comes_back_empty_and_is_reused() {
        let root = tempfile::tempdir().unwrap();
        let pool = Workspaces::new(root.path().to_owned());
        let ws = pool.take().await.unwrap();
        for p in PARTS {
            assert!(ws.join(p).is_dir());
        }
        std::fs::create_dir_all(ws.join("src/a/b")).unwrap();
        std::fs::write(ws.join("src/a/b/f"), "x").unwrap();
        std::fs::write(ws.join("src/.hidden"), "x").unwrap();
        std::fs::write(ws.join("home/.gitconfig"), "x").unwrap();
        std::fs::write(ws.join("tmp/vars.sh"), "SECRET='s'\n").unwrap();
        std::fs::write(ws.join("tmp/other"), "x").unwrap();
        std::fs::write(ws.join("build.log"), "x").unwrap();
        let outside = root.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep"), "x").unwrap();
        std::os::unix::fs::symlink(&outside, ws.join("src/link")).unwrap();
        pool.give_back(ws.clone()).await;
        let again = pool.take().await.unwrap();
        assert_eq!(again, ws, "the emptied workspace is taken again");
        let names = |d: &str| {
            let mut v: Vec<String> = std::fs::read_dir(ws.join(d))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names("."), vec!["home", "src", "tmp"]);
        assert!(names("src").is_empty() && names("home").is_empty());
        assert_eq!(names("tmp"), vec!["vars.sh"]);
        assert_eq!(std::fs::read(ws.join("tmp/vars.sh")).unwrap(), b"");
        assert!(
            outside.join("keep").exists(),
            "a link is removed, not followed"
        );
        // A second workspace is new while the first is out.
        let other = pool.take().await.unwrap();
        assert_ne!(other, ws);
        // Given back, a workspace is emptied by the next tidying, and kept.
        std::fs::write(ws.join("src/f"), "x").unwrap();
        pool.give_back(ws.clone()).await;
        assert!(pool.kept().is_empty(), "not emptied yet");
        pool.tidy().await;
        assert_eq!(pool.kept(), vec![ws.clone()]);
        assert!(names("src").is_empty());
    }

    #[tokio::test]
    async fn a_workspace_that_cannot_be_emptied_is_not_kept() {
        let root = tempfile::tempdir().unwrap();
        let pool = Workspaces::new(root.path().to_owned());
        let ws = pool.take().await.unwrap();
        // A build that replaced one of the directories by a file.
        std::fs::remove_dir(ws.join("home")).unwrap();
        std::fs::write(ws.join("home"), "x").unwrap();
        pool.give_back(ws.clone()).await;
        let next = pool.take().await.unwrap();
        assert_ne!(next, ws);
        assert!(!ws.exists(), "it was removed");
        // Nor when it is emptied by tidying.
        std::fs::remove_dir(next.join("src")).unwrap();
        std::fs::write(next.join("src"), "x").unwrap();
        pool.give_back(next.clone()).await;
        pool.tidy().await;
        assert!(pool.kept().is_empty() && !next.exists());
    }
}
