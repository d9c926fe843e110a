//! Content reads: files, folders and blobs at any commit, read in-process.

use ferry_model::codecommit::*;
use ferry_store::repos::RepoRow;
use ferry_types::Blob;
use ferry_wire::AwsError;
use gix::ObjectId;

use super::errors::git;
use crate::CommitService;
use crate::git::GitError;
use crate::git::objects::{self, Kind};
use crate::names;

/// The largest file the API returns or accepts (6 MB).
pub(crate) const MAX_FILE: u64 = 6 * 1024 * 1024;

pub(crate) fn file_mode(kind: Kind) -> FileModeTypeEnum {
    match kind {
        Kind::Executable => FileModeTypeEnum::Executable,
        Kind::Symlink => FileModeTypeEnum::Symlink,
        _ => FileModeTypeEnum::Normal,
    }
}

pub(crate) fn kind_of(mode: &FileModeTypeEnum) -> Kind {
    match mode {
        FileModeTypeEnum::Executable => Kind::Executable,
        FileModeTypeEnum::Symlink => Kind::Symlink,
        FileModeTypeEnum::Normal => Kind::Normal,
    }
}

/// Checks and normalises a path argument.
pub(crate) fn path_arg(path: &str, allow_root: bool) -> Result<String, AwsError> {
    if path.is_empty() && !allow_root {
        return Err(AwsError::new(
            "PathRequiredException",
            "The folderPath for a location cannot be null.",
        ));
    }
    match names::normalize_path(path) {
        Some(p) if !p.is_empty() || allow_root => Ok(p),
        _ => Err(AwsError::new(
            "InvalidPathException",
            format!("The specified path {path} is not valid."),
        )),
    }
}

impl CommitService {
    /// Resolves a commit specifier (default: the default branch) to a commit id.
    pub(crate) async fn resolve_spec(
        &self,
        repo: &RepoRow,
        spec: Option<&str>,
    ) -> Result<ObjectId, AwsError> {
        let spec = spec.filter(|s| !s.is_empty()).unwrap_or("HEAD").to_owned();
        let shown = spec.clone();
        match self
            .git
            .with(&repo.id, move |r| objects::resolve_commit(r, &spec))
            .await
            .map_err(git)?
        {
            Some(id) => Ok(id),
            None => Err(AwsError::new(
                "CommitDoesNotExistException",
                format!("The specified commit {shown} does not exist or no commit was specified."),
            )),
        }
    }

    pub(crate) async fn api_get_file(&self, i: GetFileInput) -> Result<GetFileOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        let path = path_arg(&i.file_path, false)?;
        let commit = self
            .resolve_spec(&repo, i.commit_specifier.as_deref())
            .await?;
        let p = path.clone();
        let found = self
            .git
            .with(&repo.id, move |r| {
                let tree = objects::commit_tree(r, commit)?;
                let Some(e) = objects::entry_at(r, tree, &p)?.filter(|e| e.kind.is_blob()) else {
                    return Ok(None);
                };
                let size = objects::blob_size(r, &e.id)?;
                let content = if size <= MAX_FILE {
                    objects::blob(r, &e.id)?
                } else {
                    Vec::new()
                };
                Ok(Some((e, size, content)))
            })
            .await
            .map_err(git)?;
        let (entry, size, content) = found.ok_or_else(|| {
            AwsError::new(
                "FileDoesNotExistException",
                format!("The specified file {path} does not exist."),
            )
        })?;
        if size > MAX_FILE {
            return Err(AwsError::new(
                "FileTooLargeException",
                format!("The file {path} is larger than 6 MB."),
            ));
        }
        Ok(GetFileOutput {
            commit_id: commit.to_string(),
            blob_id: entry.id,
            file_path: path,
            file_mode: file_mode(entry.kind),
            file_size: size as i64,
            file_content: Blob(content),
        })
    }

    pub(crate) async fn api_get_folder(
        &self,
        i: GetFolderInput,
    ) -> Result<GetFolderOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        let path = path_arg(&i.folder_path, true)?;
        let commit = self
            .resolve_spec(&repo, i.commit_specifier.as_deref())
            .await?;
        let p = path.clone();
        let listing = self
            .git
            .with(&repo.id, move |r| {
                let tree = objects::commit_tree(r, commit)?;
                let Some(dir) = objects::entry_at(r, tree, &p)?.filter(|e| e.kind == Kind::Tree)
                else {
                    return Ok(None);
                };
                Ok(Some((dir.id.clone(), objects::children(r, &dir.id, &p)?)))
            })
            .await
            .map_err(git)?;
        let (tree_id, entries) = listing.ok_or_else(|| {
            AwsError::new(
                "FolderDoesNotExistException",
                format!("The specified folder {path} does not exist."),
            )
        })?;
        let mut out = GetFolderOutput {
            commit_id: commit.to_string(),
            folder_path: if path.is_empty() {
                "/".into()
            } else {
                path.clone()
            },
            tree_id: Some(tree_id),
            sub_folders: Some(vec![]),
            files: Some(vec![]),
            symbolic_links: Some(vec![]),
            sub_modules: Some(vec![]),
        };
        for e in entries {
            let (abs, rel) = (Some(e.path.clone()), Some(e.name.clone()));
            match e.kind {
                Kind::Tree => out.sub_folders.get_or_insert_default().push(Folder {
                    tree_id: Some(e.id),
                    absolute_path: abs,
                    relative_path: rel,
                }),
                Kind::Submodule => out.sub_modules.get_or_insert_default().push(SubModule {
                    commit_id: Some(e.id),
                    absolute_path: abs,
                    relative_path: rel,
                }),
                Kind::Symlink => out
                    .symbolic_links
                    .get_or_insert_default()
                    .push(SymbolicLink {
                        blob_id: Some(e.id),
                        absolute_path: abs,
                        relative_path: rel,
                        file_mode: Some(FileModeTypeEnum::Symlink),
                    }),
                kind => out.files.get_or_insert_default().push(File {
                    blob_id: Some(e.id),
                    absolute_path: abs,
                    relative_path: rel,
                    file_mode: Some(file_mode(kind)),
                }),
            }
        }
        Ok(out)
    }

    pub(crate) async fn api_get_blob(&self, i: GetBlobInput) -> Result<GetBlobOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        if i.blob_id.is_empty() {
            return Err(AwsError::new(
                "BlobIdRequiredException",
                "A blob ID is required, but was not specified.",
            ));
        }
        if !names::is_full_sha(&i.blob_id) {
            return Err(AwsError::new(
                "InvalidBlobIdException",
                format!("The blob ID {} is not valid.", i.blob_id),
            ));
        }
        let id = i.blob_id.to_ascii_lowercase();
        let result = self
            .git
            .with(&repo.id, move |r| {
                let size = objects::blob_size(r, &id)?;
                if size > MAX_FILE {
                    return Ok(None);
                }
                objects::blob(r, &id).map(Some)
            })
            .await;
        match result {
            Ok(Some(content)) => Ok(GetBlobOutput {
                content: Blob(content),
            }),
            Ok(None) => Err(AwsError::new(
                "FileTooLargeException",
                "The blob is larger than 6 MB.",
            )),
            Err(GitError::NotFound) | Err(GitError::Command(..)) => Err(AwsError::new(
                "BlobIdDoesNotExistException",
                format!("The blob {} does not exist.", i.blob_id),
            )),
            Err(e) => Err(git(e)),
        }
    }
}
