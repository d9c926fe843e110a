//! Commits through the API, without a work tree: PutFile, DeleteFile, CreateCommit. Each takes
//! the repository's lock, checks the parent commit against the branch tip, writes objects
//! in-process and moves the branch with compare-and-swap; the ref change is then recorded like
//! a push (default branch, events, advertisement cache).

use std::collections::HashSet;

use ferry_model::codecommit::*;
use ferry_store::repos::RepoRow;
use ferry_wire::{AwsError, RequestContext};
use gix::ObjectId;

use super::content::{MAX_FILE, file_mode, kind_of, path_arg};
use super::errors::git;
use crate::CommitService;
use crate::git::write::{self, CommitOutcome, CommitRequest, Edit, FileMeta, WriteError};
use crate::names;

/// The most file changes one CreateCommit may make.
const MAX_ENTRIES: usize = 100;
/// Author name and commit message limits.
const MAX_NAME: usize = 1024;
const MAX_MESSAGE: usize = 100 * 1024;

/// What every write names: branch, parent, author, message.
struct Target<'a> {
    repository: &'a str,
    branch: &'a str,
    parent: Option<&'a str>,
    name: Option<&'a str>,
    email: Option<&'a str>,
    message: Option<&'a str>,
    keep_empty_folders: bool,
}

fn write_error(e: WriteError) -> AwsError {
    match e {
        WriteError::FileDoesNotExist(p) => AwsError::new(
            "FileDoesNotExistException",
            format!("The specified file {p} does not exist."),
        ),
        WriteError::FileNameConflictsWithDirectoryName(p) => AwsError::new(
            "FileNameConflictsWithDirectoryNameException",
            format!("The file name {p} is the same as an existing directory name."),
        ),
        WriteError::DirectoryNameConflictsWithFileName(p) => AwsError::new(
            "DirectoryNameConflictsWithFileNameException",
            format!("A part of the path {p} is the same as an existing file name."),
        ),
        WriteError::FilePathConflictsWithSubmodulePath(p) => AwsError::new(
            "FilePathConflictsWithSubmodulePathException",
            format!("The path {p} conflicts with a submodule path."),
        ),
        WriteError::NoChange => AwsError::new(
            "NoChangeException",
            "The commit cannot be created because no changes will be made to the repository as a result of this commit.",
        ),
        WriteError::BranchMoved => AwsError::new(
            "ParentCommitIdOutdatedException",
            "The parent commit ID is not the most recent commit of the branch.",
        ),
        WriteError::Git(e) => git(e),
    }
}

fn file_meta(m: FileMeta) -> FileMetadata {
    FileMetadata {
        absolute_path: Some(m.path),
        blob_id: Some(m.blob_id),
        file_mode: Some(file_mode(m.kind)),
    }
}

fn check_content(path: &str, len: usize) -> Result<(), AwsError> {
    if len as u64 > MAX_FILE {
        return Err(AwsError::new(
            "FileContentSizeLimitExceededException",
            format!("The content of {path} exceeds the 6 MB limit."),
        ));
    }
    Ok(())
}

impl CommitService {
    /// Checks the branch and parent, makes the commit under the repository's lock, records it.
    async fn commit_edits(
        &self,
        ctx: &RequestContext,
        t: Target<'_>,
        edits: Vec<Edit>,
    ) -> Result<(RepoRow, CommitOutcome), AwsError> {
        let repo = self.existing_repo(t.repository).await?;
        if t.branch.is_empty() {
            return Err(AwsError::new(
                "BranchNameRequiredException",
                "A branch name is required, but was not specified.",
            ));
        }
        if !names::valid_branch_name(t.branch) {
            return Err(AwsError::new(
                "InvalidBranchNameException",
                format!("The branch name {} is not valid.", t.branch),
            ));
        }
        let branch = t
            .branch
            .strip_prefix("refs/heads/")
            .unwrap_or(t.branch)
            .to_owned();
        let name = t
            .name
            .filter(|n| !n.is_empty())
            .unwrap_or(&ctx.user_name)
            .to_owned();
        if name.len() > MAX_NAME {
            return Err(AwsError::new(
                "NameLengthExceededException",
                "The user name is longer than 1024 characters.",
            ));
        }
        let email = t.email.unwrap_or("").to_owned();
        if email.contains(['<', '>', '\n']) || (!email.is_empty() && !email.contains('@')) {
            return Err(AwsError::new(
                "InvalidEmailException",
                format!("The email address {email} is not valid."),
            ));
        }
        let message = t.message.unwrap_or("").to_owned();
        if message.len() > MAX_MESSAGE {
            return Err(AwsError::new(
                "CommitMessageLengthExceededException",
                "The commit message is too long.",
            ));
        }
        let parent = match t.parent.filter(|p| !p.is_empty()) {
            Some(p) if !names::is_full_sha(p) => {
                return Err(AwsError::new(
                    "InvalidParentCommitIdException",
                    format!("The parent commit ID {p} is not valid."),
                ));
            }
            Some(p) => Some(
                ObjectId::from_hex(p.to_ascii_lowercase().as_bytes())
                    .map_err(AwsError::internal)?,
            ),
            None => None,
        };

        let change = self
            .begin_ref_change(&repo)
            .await
            .map_err(git)?
            .by(&ctx.principal_arn);
        let branches = self.git.branches(&repo.id).await.map_err(git)?;
        let tip = branches
            .iter()
            .find(|(b, _)| *b == branch)
            .map(|(_, sha)| sha.clone());
        let checked = match (&tip, parent) {
            (None, _) if !branches.is_empty() => Err(AwsError::new(
                "BranchDoesNotExistException",
                format!("Branch {branch} does not exist"),
            )),
            (None, Some(p)) => Err(AwsError::new(
                "ParentCommitDoesNotExistException",
                format!("The parent commit ID {p} does not exist in an empty repository."),
            )),
            (None, None) => Ok(()),
            (Some(_), None) => Err(AwsError::new(
                "ParentCommitIdRequiredException",
                "A parent commit ID is required. To view the full commit ID of a branch, use GetBranch.",
            )),
            (Some(tip), Some(p)) if tip.as_bytes() != p.to_hex().to_string().as_bytes() => {
                let exists = self.git.commit(&repo.id, &p.to_string()).await.is_ok();
                Err(if exists {
                    AwsError::new(
                        "ParentCommitIdOutdatedException",
                        format!(
                            "The parent commit ID {p} is not the tip of branch {branch} ({tip})."
                        ),
                    )
                } else {
                    AwsError::new(
                        "ParentCommitDoesNotExistException",
                        format!("The parent commit ID {p} does not exist."),
                    )
                })
            }
            (Some(_), Some(_)) => Ok(()),
        };
        let result = match checked {
            Ok(()) => {
                let req = CommitRequest {
                    branch,
                    parent,
                    edits,
                    author_name: name,
                    author_email: email,
                    message,
                    keep_empty_folders: t.keep_empty_folders,
                };
                self.git
                    .with(&repo.id, move |r| Ok(write::create_commit(r, &req)))
                    .await
                    .map_err(git)
                    .and_then(|r| r.map_err(write_error))
            }
            Err(e) => Err(e),
        };
        self.finish_ref_change(change).await.map_err(git)?;
        Ok((repo, result?))
    }

    pub(crate) async fn api_put_file(
        &self,
        ctx: &RequestContext,
        i: PutFileInput,
    ) -> Result<PutFileOutput, AwsError> {
        let path = path_arg(&i.file_path, false)?;
        check_content(&path, i.file_content.0.len())?;
        let edit = Edit::Put {
            path: path.clone(),
            content: Some(i.file_content.0),
            source: None,
            mode: i.file_mode.as_ref().map(kind_of),
        };
        let target = Target {
            repository: &i.repository_name,
            branch: &i.branch_name,
            parent: i.parent_commit_id.as_deref(),
            name: i.name.as_deref(),
            email: i.email.as_deref(),
            message: i.commit_message.as_deref(),
            keep_empty_folders: false,
        };
        let (_, out) = self
            .commit_edits(ctx, target, vec![edit])
            .await
            .map_err(|e| {
                if e.code == "NoChangeException" {
                    same_content(&path)
                } else {
                    e
                }
            })?;
        let blob_id = out
            .added
            .iter()
            .chain(&out.updated)
            .next()
            .map(|m| m.blob_id.clone())
            .unwrap_or_default();
        Ok(PutFileOutput {
            commit_id: out.commit_id,
            blob_id,
            tree_id: out.tree_id,
        })
    }

    pub(crate) async fn api_delete_file(
        &self,
        ctx: &RequestContext,
        i: DeleteFileInput,
    ) -> Result<DeleteFileOutput, AwsError> {
        let path = path_arg(&i.file_path, false)?;
        if i.parent_commit_id.is_empty() {
            return Err(AwsError::new(
                "ParentCommitIdRequiredException",
                "A parent commit ID is required.",
            ));
        }
        let target = Target {
            repository: &i.repository_name,
            branch: &i.branch_name,
            parent: Some(&i.parent_commit_id),
            name: i.name.as_deref(),
            email: i.email.as_deref(),
            message: i.commit_message.as_deref(),
            keep_empty_folders: i.keep_empty_folders.unwrap_or(false),
        };
        let (_, out) = self
            .commit_edits(ctx, target, vec![Edit::Delete { path: path.clone() }])
            .await?;
        let blob_id = out
            .deleted
            .first()
            .map(|m| m.blob_id.clone())
            .unwrap_or_default();
        Ok(DeleteFileOutput {
            commit_id: out.commit_id,
            blob_id,
            tree_id: out.tree_id,
            file_path: path,
        })
    }

    pub(crate) async fn api_create_commit(
        &self,
        ctx: &RequestContext,
        i: CreateCommitInput,
    ) -> Result<CreateCommitOutput, AwsError> {
        let puts = i.put_files.unwrap_or_default();
        let deletes = i.delete_files.unwrap_or_default();
        let modes = i.set_file_modes.unwrap_or_default();
        let count = puts.len() + deletes.len() + modes.len();
        if count == 0 {
            return Err(AwsError::new(
                "FileEntryRequiredException",
                "The commit cannot be created because no files have been specified as added, updated, or changed.",
            ));
        }
        if count > MAX_ENTRIES {
            return Err(AwsError::new(
                "MaximumFileEntriesExceededException",
                format!(
                    "The number of specified files to change as part of this commit exceeds {MAX_ENTRIES}."
                ),
            ));
        }
        let mut seen = HashSet::new();
        let mut once = |p: &str| {
            if seen.insert(p.to_owned()) {
                Ok(())
            } else {
                Err(AwsError::new(
                    "SamePathRequestException",
                    format!("The commit changes the path {p} more than once."),
                ))
            }
        };
        let mut edits = Vec::with_capacity(count);
        for p in puts {
            let path = path_arg(&p.file_path, false)?;
            once(&path)?;
            let mode = p.file_mode.as_ref().map(kind_of);
            match (p.file_content, p.source_file) {
                (Some(_), Some(_)) => {
                    return Err(AwsError::new(
                        "FileContentAndSourceFileSpecifiedException",
                        format!("Both content and a source file are given for {path}."),
                    ));
                }
                (None, None) => {
                    return Err(AwsError::new(
                        "SourceFileOrContentRequiredException",
                        format!("Either content or a source file is required for {path}."),
                    ));
                }
                (Some(content), None) => {
                    check_content(&path, content.0.len())?;
                    edits.push(Edit::Put {
                        path,
                        content: Some(content.0),
                        source: None,
                        mode,
                    });
                }
                (None, Some(src)) => {
                    let src_path = path_arg(&src.file_path, false)?;
                    let is_move = src.is_move.unwrap_or(false);
                    if is_move {
                        once(&src_path)?;
                    }
                    edits.push(Edit::Put {
                        path,
                        content: None,
                        source: Some((src_path, is_move)),
                        mode,
                    });
                }
            }
        }
        for d in deletes {
            let path = path_arg(&d.file_path, false)?;
            once(&path)?;
            edits.push(Edit::Delete { path });
        }
        for m in modes {
            let path = path_arg(&m.file_path, false)?;
            once(&path)?;
            edits.push(Edit::SetMode {
                path,
                mode: kind_of(&m.file_mode),
            });
        }
        let target = Target {
            repository: &i.repository_name,
            branch: &i.branch_name,
            parent: i.parent_commit_id.as_deref(),
            name: i.author_name.as_deref(),
            email: i.email.as_deref(),
            message: i.commit_message.as_deref(),
            keep_empty_folders: i.keep_empty_folders.unwrap_or(false),
        };
        let (_, out) = self.commit_edits(ctx, target, edits).await?;
        Ok(CreateCommitOutput {
            commit_id: Some(out.commit_id),
            tree_id: Some(out.tree_id),
            files_added: Some(out.added.into_iter().map(file_meta).collect()),
            files_updated: Some(out.updated.into_iter().map(file_meta).collect()),
            files_deleted: Some(out.deleted.into_iter().map(file_meta).collect()),
        })
    }
}

fn same_content(path: &str) -> AwsError {
    AwsError::new(
        "SameFileContentException",
        format!(
            "The file {path} was not added or updated because its content and mode are the same as in the branch."
        ),
    )
}
