//! In-process reads of repositories with gitoxide: refs, commits, trees, blobs and tree
//! differences. Opened repositories are kept per id; every function here is synchronous and is
//! run by callers on the blocking pool.

use std::collections::HashMap;
use std::sync::Mutex;

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;

use super::{CommitInfo, GitError, GitRepos, Person};

/// Kept open repositories by id.
#[derive(Default)]
pub struct OpenRepos {
    repos: Mutex<HashMap<String, gix::ThreadSafeRepository>>,
}

impl OpenRepos {
    /// Forgets a repository (it was deleted).
    pub fn forget(&self, id: &str) {
        self.repos
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

pub(crate) fn gix_err(e: impl std::fmt::Display) -> GitError {
    GitError::Command("gix".into(), e.to_string())
}

thread_local! {
    /// Handles opened on this thread, so their object caches outlive one call (trees and
    /// commits read by one request are there for the next).
    static LOCAL: std::cell::RefCell<HashMap<String, gix::Repository>> = std::cell::RefCell::new(HashMap::new());
}

impl GitRepos {
    /// Runs `f` with this thread's handle on repository `id`, opening it on first use. The
    /// handle, and so its object cache, stays with the thread for the next call.
    pub fn with_local<T>(
        &self,
        id: &str,
        f: impl FnOnce(&gix::Repository) -> Result<T, GitError>,
    ) -> Result<T, GitError> {
        let present = LOCAL.with(|l| l.borrow().contains_key(id));
        if !present {
            let ts = {
                let mut map = self.open.repos.lock().unwrap_or_else(|e| e.into_inner());
                match map.get(id) {
                    Some(ts) => ts.clone(),
                    None => {
                        let options = gix::open::Options::isolated().open_path_as_is(true);
                        let ts = gix::ThreadSafeRepository::open_opts(self.path(id), options)
                            .map_err(gix_err)?;
                        map.insert(id.to_owned(), ts.clone());
                        ts
                    }
                }
            };
            let mut repo = ts.to_thread_local();
            repo.object_cache_size_if_unset(16 * 1024 * 1024);
            LOCAL.with(|l| {
                let mut l = l.borrow_mut();
                if l.len() > 64 {
                    l.clear();
                }
                l.insert(id.to_owned(), repo);
            });
        }
        LOCAL.with(|l| {
            let map = l.borrow();
            let repo = map.get(id).expect("inserted above");
            f(repo)
        })
    }
}

/// The kind of a tree entry, as CodeCommit names file modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Normal,
    Executable,
    Symlink,
    Tree,
    Submodule,
}

impl Kind {
    pub fn from_entry(kind: EntryKind) -> Self {
        match kind {
            EntryKind::Blob => Self::Normal,
            EntryKind::BlobExecutable => Self::Executable,
            EntryKind::Link => Self::Symlink,
            EntryKind::Tree => Self::Tree,
            EntryKind::Commit => Self::Submodule,
        }
    }

    pub fn to_entry(self) -> EntryKind {
        match self {
            Self::Normal => EntryKind::Blob,
            Self::Executable => EntryKind::BlobExecutable,
            Self::Symlink => EntryKind::Link,
            Self::Tree => EntryKind::Tree,
            Self::Submodule => EntryKind::Commit,
        }
    }

    /// Git's octal mode text (`100644`, ...).
    pub fn octal(self) -> &'static str {
        match self {
            Self::Normal => "100644",
            Self::Executable => "100755",
            Self::Symlink => "120000",
            Self::Tree => "40000",
            Self::Submodule => "160000",
        }
    }

    pub fn is_blob(self) -> bool {
        matches!(self, Self::Normal | Self::Executable | Self::Symlink)
    }
}

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The path relative to the repository root, without a leading `/`.
    pub path: String,
    pub name: String,
    pub id: String,
    pub kind: Kind,
}

/// One changed path between two trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub before: Option<Entry>,
    pub after: Option<Entry>,
}

/// All refs (`refs/...`) that point at objects, with their targets.
pub fn refs(repo: &gix::Repository) -> Result<Vec<(String, String)>, GitError> {
    let platform = repo.references().map_err(gix_err)?;
    let mut out = Vec::new();
    for r in platform.all().map_err(gix_err)? {
        let r = r.map_err(gix_err)?;
        if let Some(id) = r.try_id() {
            out.push((r.name().as_bstr().to_string(), id.to_string()));
        }
    }
    out.sort();
    Ok(out)
}

/// Resolves a CodeCommit commit specifier (full id, branch, `refs/heads/...`, tag, `HEAD`) to
/// a commit id; `None` when it names nothing or not a commit.
pub fn resolve_commit(repo: &gix::Repository, spec: &str) -> Result<Option<ObjectId>, GitError> {
    if spec.is_empty() || spec.contains(['\0', ':', '^', '~', '@']) || spec.contains("..") {
        return Ok(None);
    }
    let candidates: Vec<String> = if spec.len() == 40 && spec.bytes().all(|b| b.is_ascii_hexdigit())
    {
        vec![spec.to_ascii_lowercase()]
    } else if spec.starts_with("refs/") || spec == "HEAD" {
        vec![spec.to_owned()]
    } else {
        vec![format!("refs/heads/{spec}"), format!("refs/tags/{spec}")]
    };
    for c in candidates {
        let id = if c.len() == 40 && !c.contains('/') {
            match ObjectId::from_hex(c.as_bytes()) {
                Ok(id) => id,
                Err(_) => continue,
            }
        } else {
            match repo.try_find_reference(c.as_str()).map_err(gix_err)? {
                Some(mut r) => match r.peel_to_id() {
                    Ok(id) => id.detach(),
                    Err(_) => continue,
                },
                None => continue,
            }
        };
        match repo.try_find_object(id).map_err(gix_err)? {
            Some(obj) => {
                if let Ok(commit) = obj.peel_to_commit() {
                    return Ok(Some(commit.id));
                }
            }
            None => continue,
        }
    }
    Ok(None)
}

/// Reads a commit; `NotFound` when there is no commit with that id.
pub fn commit(repo: &gix::Repository, id: &str) -> Result<CommitInfo, GitError> {
    let oid = ObjectId::from_hex(id.as_bytes()).map_err(|_| GitError::NotFound)?;
    let obj = repo
        .try_find_object(oid)
        .map_err(gix_err)?
        .ok_or(GitError::NotFound)?;
    let commit = obj.try_into_commit().map_err(|_| GitError::NotFound)?;
    let decoded = commit.decode().map_err(gix_err)?;
    let person = |s: gix::actor::SignatureRef<'_>| Person {
        name: s.name.to_str_lossy().trim().to_owned(),
        email: s.email.to_str_lossy().trim().to_owned(),
        date: s.time.trim().to_owned(),
    };
    Ok(CommitInfo {
        commit_id: commit.id.to_string(),
        tree_id: decoded.tree().to_string(),
        parents: decoded.parents().map(|p| p.to_string()).collect(),
        message: decoded.message.to_str_lossy().into_owned(),
        author: person(decoded.author().map_err(gix_err)?),
        committer: person(decoded.committer().map_err(gix_err)?),
    })
}

/// The tree id of a commit.
pub fn commit_tree(repo: &gix::Repository, commit: ObjectId) -> Result<ObjectId, GitError> {
    let c = repo.find_commit(commit).map_err(gix_err)?;
    Ok(c.tree_id().map_err(gix_err)?.detach())
}

/// The entry at `path` (no leading `/`; empty for the root) in a tree, or `None`.
pub fn entry_at(
    repo: &gix::Repository,
    tree: ObjectId,
    path: &str,
) -> Result<Option<Entry>, GitError> {
    if path.is_empty() {
        return Ok(Some(Entry {
            path: String::new(),
            name: String::new(),
            id: tree.to_string(),
            kind: Kind::Tree,
        }));
    }
    let tree = repo.find_tree(tree).map_err(gix_err)?;
    let found = tree
        .lookup_entry(path.split('/').map(str::as_bytes))
        .map_err(gix_err)?;
    Ok(found.map(|e| Entry {
        path: path.to_owned(),
        name: e.filename().to_str_lossy().into_owned(),
        id: e.object_id().to_string(),
        kind: Kind::from_entry(e.mode().kind()),
    }))
}

/// The direct children of a tree, in git's order.
pub fn children(repo: &gix::Repository, tree: &str, dir: &str) -> Result<Vec<Entry>, GitError> {
    let oid = ObjectId::from_hex(tree.as_bytes()).map_err(gix_err)?;
    let tree = repo.find_tree(oid).map_err(gix_err)?;
    let mut out = Vec::new();
    for e in tree.iter() {
        let e = e.map_err(gix_err)?;
        let name = e.filename().to_str_lossy().into_owned();
        let path = if dir.is_empty() {
            name.clone()
        } else {
            format!("{dir}/{name}")
        };
        out.push(Entry {
            path,
            name,
            id: e.oid().to_string(),
            kind: Kind::from_entry(e.mode().kind()),
        });
    }
    Ok(out)
}

/// The content of a blob; `NotFound` when there is no blob with that id.
pub fn blob(repo: &gix::Repository, id: &str) -> Result<Vec<u8>, GitError> {
    let oid = ObjectId::from_hex(id.as_bytes()).map_err(|_| GitError::NotFound)?;
    let obj = repo
        .try_find_object(oid)
        .map_err(gix_err)?
        .ok_or(GitError::NotFound)?;
    if obj.kind != gix::object::Kind::Blob {
        return Err(GitError::NotFound);
    }
    Ok(obj.detach().data)
}

/// The size of a blob without reading it whole.
pub fn blob_size(repo: &gix::Repository, id: &str) -> Result<u64, GitError> {
    let oid = ObjectId::from_hex(id.as_bytes()).map_err(|_| GitError::NotFound)?;
    let header = repo.find_header(oid).map_err(gix_err)?;
    Ok(header.size())
}

/// The files (not trees) that differ between two trees, by path; `before` `None` means the
/// empty tree. Submodule entries count as files.
pub fn diff_trees(
    repo: &gix::Repository,
    before: Option<ObjectId>,
    after: ObjectId,
) -> Result<Vec<Change>, GitError> {
    let empty = repo.empty_tree();
    let old = match before {
        Some(id) => repo.find_tree(id).map_err(gix_err)?,
        None => empty,
    };
    let new = repo.find_tree(after).map_err(gix_err)?;
    let changes = repo
        .diff_tree_to_tree(&old, &new, gix::diff::Options::default())
        .map_err(gix_err)?;
    let entry = |path: &gix::bstr::BStr, mode: gix::objs::tree::EntryMode, id: ObjectId| {
        let path = path.to_str_lossy().into_owned();
        Entry {
            name: path.rsplit('/').next().unwrap_or("").to_owned(),
            path,
            id: id.to_string(),
            kind: Kind::from_entry(mode.kind()),
        }
    };
    use gix::object::tree::diff::ChangeDetached as C;
    let mut out = Vec::new();
    for c in changes {
        match c {
            C::Addition {
                entry_mode,
                id,
                location,
                ..
            } if !entry_mode.is_tree() => out.push(Change {
                before: None,
                after: Some(entry(location.as_ref(), entry_mode, id)),
            }),
            C::Deletion {
                entry_mode,
                id,
                location,
                ..
            } if !entry_mode.is_tree() => out.push(Change {
                before: Some(entry(location.as_ref(), entry_mode, id)),
                after: None,
            }),
            C::Modification {
                previous_entry_mode,
                previous_id,
                entry_mode,
                id,
                location,
            } => match (previous_entry_mode.is_tree(), entry_mode.is_tree()) {
                (false, false) => out.push(Change {
                    before: Some(entry(location.as_ref(), previous_entry_mode, previous_id)),
                    after: Some(entry(location.as_ref(), entry_mode, id)),
                }),
                (false, true) => out.push(Change {
                    before: Some(entry(location.as_ref(), previous_entry_mode, previous_id)),
                    after: None,
                }),
                (true, false) => out.push(Change {
                    before: None,
                    after: Some(entry(location.as_ref(), entry_mode, id)),
                }),
                (true, true) => {}
            },
            _ => {}
        }
    }
    out.sort_by(|a, b| {
        let key = |c: &Change| {
            c.after
                .as_ref()
                .or(c.before.as_ref())
                .map(|e| e.path.clone())
                .unwrap_or_default()
        };
        key(a).cmp(&key(b))
    });
    Ok(out)
}

/// The commits (newest first, from `tip`) that changed the file at `path`, with the file's blob
/// id in each; at most `limit` after skipping `skip`.
pub fn file_history(
    repo: &gix::Repository,
    tip: ObjectId,
    path: &str,
    skip: usize,
    limit: usize,
) -> Result<(Vec<(ObjectId, String)>, bool), GitError> {
    let blob_at = |commit: ObjectId| -> Result<Option<String>, GitError> {
        let tree = commit_tree(repo, commit)?;
        Ok(entry_at(repo, tree, path)?
            .filter(|e| e.kind.is_blob())
            .map(|e| e.id))
    };
    let mut out = Vec::new();
    let mut seen = 0usize;
    for info in repo.rev_walk([tip]).all().map_err(gix_err)? {
        let info = info.map_err(gix_err)?;
        let Some(blob) = blob_at(info.id)? else {
            continue;
        };
        let parents: Vec<ObjectId> = info.parent_ids.iter().copied().collect();
        let mut changed = parents.is_empty();
        for p in &parents {
            if blob_at(*p)?.as_deref() != Some(blob.as_str()) {
                changed = true;
            }
        }
        if !changed {
            continue;
        }
        if seen >= skip {
            if out.len() == limit {
                return Ok((out, true));
            }
            out.push((info.id, blob));
        }
        seen += 1;
    }
    Ok((out, false))
}

/// Commits reachable from `tip`, newest first (`skip` of them skipped, at most `limit`), and
/// whether there are more.
pub fn log(
    repo: &gix::Repository,
    tip: ObjectId,
    skip: usize,
    limit: usize,
) -> Result<(Vec<ObjectId>, bool), GitError> {
    let mut out = Vec::new();
    for (n, info) in repo.rev_walk([tip]).all().map_err(gix_err)?.enumerate() {
        let info = info.map_err(gix_err)?;
        if n < skip {
            continue;
        }
        if out.len() == limit {
            return Ok((out, true));
        }
        out.push(info.id);
    }
    Ok((out, false))
}

/// The first commit (walking back from `destination`, at most `depth` commits) that has
/// `source` as a parent other than its first: the merge commit that brought `source` in.
pub fn merge_commit_of(
    repo: &gix::Repository,
    source: ObjectId,
    destination: ObjectId,
    depth: usize,
) -> Result<Option<ObjectId>, GitError> {
    for info in repo
        .rev_walk([destination])
        .all()
        .map_err(gix_err)?
        .take(depth)
    {
        let info = info.map_err(gix_err)?;
        if info.parent_ids.iter().skip(1).any(|p| *p == source) {
            return Ok(Some(info.id));
        }
    }
    Ok(None)
}
