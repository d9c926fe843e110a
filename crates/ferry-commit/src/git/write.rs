//! Commits without a work tree: blobs are written, the parent's tree is edited in memory, the
//! new tree and commit are written, and the branch moves only if it still points at the
//! parent (compare-and-swap on the ref), so a concurrent update is refused, never lost.

use gix::ObjectId;
use gix::refs::Target;
use gix::refs::transaction::PreviousValue;

use super::GitError;
use super::objects::{Entry, Kind, commit_tree, entry_at, gix_err};

/// One change a commit makes.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Adds or replaces a file with `content`, or with the content of `source` (moved when
    /// `is_move`). `mode` `None` keeps an existing file's mode (new files are `Normal`).
    Put {
        path: String,
        content: Option<Vec<u8>>,
        source: Option<(String, bool)>,
        mode: Option<Kind>,
    },
    /// Removes a file.
    Delete { path: String },
    /// Changes a file's mode.
    SetMode { path: String, mode: Kind },
}

/// What to commit, where.
#[derive(Debug, Clone)]
pub struct CommitRequest {
    pub branch: String,
    /// The commit the branch must point at; `None` creates the branch (empty repository).
    pub parent: Option<ObjectId>,
    pub edits: Vec<Edit>,
    pub author_name: String,
    pub author_email: String,
    pub message: String,
    /// Keep folders emptied by deletions with a `.gitkeep` file.
    pub keep_empty_folders: bool,
}

/// A file a commit added, changed or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    pub path: String,
    pub blob_id: String,
    pub kind: Kind,
}

/// The commit made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    pub commit_id: String,
    pub tree_id: String,
    pub added: Vec<FileMeta>,
    pub updated: Vec<FileMeta>,
    pub deleted: Vec<FileMeta>,
    /// Puts whose content and mode equal what was there.
    pub unchanged: Vec<String>,
}

/// Why a commit was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("file {0} does not exist")]
    FileDoesNotExist(String),
    #[error("{0} is a folder")]
    FileNameConflictsWithDirectoryName(String),
    #[error("a parent of {0} is a file")]
    DirectoryNameConflictsWithFileName(String),
    #[error("{0} conflicts with a submodule")]
    FilePathConflictsWithSubmodulePath(String),
    #[error("the commit changes nothing")]
    NoChange,
    #[error("the branch moved")]
    BranchMoved,
    #[error(transparent)]
    Git(#[from] GitError),
}

fn parents_of(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

fn check_put_path(
    repo: &gix::Repository,
    base: ObjectId,
    path: &str,
) -> Result<Option<Entry>, WriteError> {
    for dir in parents_of(path) {
        match entry_at(repo, base, dir)? {
            Some(e) if e.kind == Kind::Submodule => {
                return Err(WriteError::FilePathConflictsWithSubmodulePath(
                    path.to_owned(),
                ));
            }
            Some(e) if e.kind != Kind::Tree => {
                return Err(WriteError::DirectoryNameConflictsWithFileName(
                    path.to_owned(),
                ));
            }
            _ => {}
        }
    }
    match entry_at(repo, base, path)? {
        Some(e) if e.kind == Kind::Tree => Err(WriteError::FileNameConflictsWithDirectoryName(
            path.to_owned(),
        )),
        Some(e) if e.kind == Kind::Submodule => Err(
            WriteError::FilePathConflictsWithSubmodulePath(path.to_owned()),
        ),
        other => Ok(other),
    }
}

fn existing_file(repo: &gix::Repository, base: ObjectId, path: &str) -> Result<Entry, WriteError> {
    match entry_at(repo, base, path)? {
        Some(e) if e.kind.is_blob() => Ok(e),
        _ => Err(WriteError::FileDoesNotExist(path.to_owned())),
    }
}

fn oid(hex: &str) -> Result<ObjectId, WriteError> {
    ObjectId::from_hex(hex.as_bytes()).map_err(|e| WriteError::Git(gix_err(e)))
}

/// Makes the commit and moves the branch to it.
pub fn create_commit(
    repo: &gix::Repository,
    req: &CommitRequest,
) -> Result<CommitOutcome, WriteError> {
    let base = match req.parent {
        Some(p) => commit_tree(repo, p)?,
        None => ObjectId::empty_tree(repo.object_hash()),
    };
    let mut editor = repo.edit_tree(base).map_err(gix_err)?;
    let mut out = CommitOutcome {
        commit_id: String::new(),
        tree_id: String::new(),
        added: vec![],
        updated: vec![],
        deleted: vec![],
        unchanged: vec![],
    };
    let mut emptied_dirs = Vec::new();
    for edit in &req.edits {
        match edit {
            Edit::Put {
                path,
                content,
                source,
                mode,
            } => {
                let existing = check_put_path(repo, base, path)?;
                let blob_id = match (content, source) {
                    (Some(bytes), _) => repo.write_blob(bytes).map_err(gix_err)?.detach(),
                    (None, Some((src, is_move))) => {
                        let src_entry = existing_file(repo, base, src)?;
                        if *is_move && src != path {
                            editor.remove(src.as_str()).map_err(gix_err)?;
                            out.deleted.push(FileMeta {
                                path: src.clone(),
                                blob_id: src_entry.id.clone(),
                                kind: src_entry.kind,
                            });
                            if let Some((dir, _)) = src.rsplit_once('/') {
                                emptied_dirs.push(dir.to_owned());
                            }
                        }
                        oid(&src_entry.id)?
                    }
                    (None, None) => repo.write_blob(b"").map_err(gix_err)?.detach(),
                };
                let kind = mode
                    .or(existing.as_ref().map(|e| e.kind))
                    .unwrap_or(Kind::Normal);
                let meta = FileMeta {
                    path: path.clone(),
                    blob_id: blob_id.to_string(),
                    kind,
                };
                match existing {
                    Some(e) if e.id == meta.blob_id && e.kind == kind => {
                        out.unchanged.push(path.clone())
                    }
                    Some(_) => out.updated.push(meta),
                    None => out.added.push(meta),
                }
                editor
                    .upsert(path.as_str(), kind.to_entry(), blob_id)
                    .map_err(gix_err)?;
            }
            Edit::Delete { path } => {
                let e = existing_file(repo, base, path)?;
                editor.remove(path.as_str()).map_err(gix_err)?;
                if let Some((dir, _)) = path.rsplit_once('/') {
                    emptied_dirs.push(dir.to_owned());
                }
                out.deleted.push(FileMeta {
                    path: path.clone(),
                    blob_id: e.id,
                    kind: e.kind,
                });
            }
            Edit::SetMode { path, mode } => {
                let e = existing_file(repo, base, path)?;
                if e.kind == *mode {
                    out.unchanged.push(path.clone());
                } else {
                    editor
                        .upsert(path.as_str(), mode.to_entry(), oid(&e.id)?)
                        .map_err(gix_err)?;
                    out.updated.push(FileMeta {
                        path: path.clone(),
                        blob_id: e.id,
                        kind: *mode,
                    });
                }
            }
        }
    }
    let mut tree = editor.write().map_err(gix_err)?.detach();
    if req.keep_empty_folders && !emptied_dirs.is_empty() {
        let mut keep = repo.edit_tree(tree).map_err(gix_err)?;
        let empty_blob = repo.write_blob(b"").map_err(gix_err)?.detach();
        let mut kept = false;
        for dir in &emptied_dirs {
            if entry_at(repo, tree, dir)?.is_none() {
                keep.upsert(
                    format!("{dir}/.gitkeep"),
                    Kind::Normal.to_entry(),
                    empty_blob,
                )
                .map_err(gix_err)?;
                kept = true;
            }
        }
        if kept {
            tree = keep.write().map_err(gix_err)?.detach();
        }
    }
    if tree == base && req.parent.is_some() {
        return Err(WriteError::NoChange);
    }
    let commit = commit_and_move(
        repo,
        &NewCommit {
            tree,
            parents: req.parent.into_iter().collect(),
            author_name: &req.author_name,
            author_email: &req.author_email,
            message: &req.message,
        },
        &req.branch,
        req.parent,
    )?;
    out.commit_id = commit.to_string();
    out.tree_id = tree.to_string();
    Ok(out)
}

/// A commit object to write.
pub struct NewCommit<'a> {
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    pub author_name: &'a str,
    pub author_email: &'a str,
    pub message: &'a str,
}

/// Writes a commit (author = committer, now, UTC) and moves `branch` to it if the branch is
/// still at `expected` (`None`: the branch must not exist yet).
pub fn commit_and_move(
    repo: &gix::Repository,
    c: &NewCommit<'_>,
    branch: &str,
    expected: Option<ObjectId>,
) -> Result<ObjectId, WriteError> {
    let commit = write_commit(repo, c)?;
    move_branch(repo, branch, commit, expected)?;
    Ok(commit)
}

/// Writes a commit object (author = committer, now, UTC) without moving any ref.
pub fn write_commit(repo: &gix::Repository, c: &NewCommit<'_>) -> Result<ObjectId, GitError> {
    let now = gix::date::Time::now_utc();
    let sig = gix::actor::Signature {
        name: c.author_name.into(),
        email: c.author_email.into(),
        time: gix::date::Time {
            seconds: now.seconds,
            offset: 0,
        },
    };
    let mut buf = gix::date::parse::TimeBuf::default();
    let sig_ref = sig.to_ref(&mut buf);
    let commit = repo
        .new_commit_as(
            sig_ref,
            sig_ref,
            c.message,
            c.tree,
            c.parents.iter().copied(),
        )
        .map_err(gix_err)?;
    Ok(commit.id)
}

/// Moves `branch` to `to` if it is still at `expected` (`None`: it must not exist yet).
pub fn move_branch(
    repo: &gix::Repository,
    branch: &str,
    to: ObjectId,
    expected: Option<ObjectId>,
) -> Result<(), WriteError> {
    let previous = match expected {
        Some(p) => PreviousValue::MustExistAndMatch(Target::Object(p)),
        None => PreviousValue::MustNotExist,
    };
    repo.reference(format!("refs/heads/{branch}"), to, previous, "ferry")
        .map_err(|_| WriteError::BranchMoved)?;
    Ok(())
}
