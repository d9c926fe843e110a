//! DescribeMergeConflicts and BatchDescribeMergeConflicts: per-file conflict metadata (sizes,
//! modes, object types, binary, what each side did) and line-level merge hunks.

use ferry_model::codecommit::*;
use ferry_store::repos::RepoRow;
use ferry_wire::AwsError;
use gix::ObjectId;

use super::errors::git;
use super::merges::Attempt;
use crate::CommitService;
use crate::git::objects::{self, Entry, Kind};
use crate::hunks;

/// One file's three versions.
struct Versions {
    base: Option<(Entry, Vec<u8>)>,
    source: Option<(Entry, Vec<u8>)>,
    destination: Option<(Entry, Vec<u8>)>,
}

fn object_type(k: Kind) -> ObjectTypeEnum {
    match k {
        Kind::Tree => ObjectTypeEnum::Directory,
        Kind::Submodule => ObjectTypeEnum::GitLink,
        Kind::Symlink => ObjectTypeEnum::SymbolicLink,
        _ => ObjectTypeEnum::File,
    }
}

fn operation(
    base: &Option<(Entry, Vec<u8>)>,
    side: &Option<(Entry, Vec<u8>)>,
) -> Option<ChangeTypeEnum> {
    match (base, side) {
        (None, Some(_)) => Some(ChangeTypeEnum::A),
        (Some(_), None) => Some(ChangeTypeEnum::D),
        (Some(b), Some(s)) if b.0.id != s.0.id || b.0.kind != s.0.kind => Some(ChangeTypeEnum::M),
        _ => None,
    }
}

fn is_binary(v: &Option<(Entry, Vec<u8>)>) -> Option<bool> {
    v.as_ref()
        .map(|(_, data)| data.iter().take(8000).any(|b| *b == 0))
}

fn detail(s: &hunks::Side) -> MergeHunkDetail {
    MergeHunkDetail {
        start_line: Some(s.start as i32),
        end_line: Some(s.end as i32),
        hunk_content: Some(s.content.clone()),
    }
}

fn describe(path: &str, v: &Versions, conflicted: bool) -> (ConflictMetadata, Vec<MergeHunk>) {
    let text = |x: &Option<(Entry, Vec<u8>)>| {
        x.as_ref()
            .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
            .unwrap_or_default()
    };
    let binary = [
        is_binary(&v.base),
        is_binary(&v.source),
        is_binary(&v.destination),
    ];
    let hunks = if binary.contains(&Some(true)) {
        Vec::new()
    } else {
        hunks::merge_hunks(&text(&v.base), &text(&v.source), &text(&v.destination))
    };
    let conflicts = hunks.iter().filter(|h| h.conflict).count();
    let kinds = |x: &Option<(Entry, Vec<u8>)>| x.as_ref().map(|(e, _)| e.kind);
    let (bk, sk, dk) = (kinds(&v.base), kinds(&v.source), kinds(&v.destination));
    let mode = |k: Option<Kind>| k.filter(|k| k.is_blob()).map(super::content::file_mode);
    let meta = ConflictMetadata {
        file_path: Some(path.to_owned()),
        file_sizes: Some(FileSizes {
            source: v.source.as_ref().map(|(_, d)| d.len() as i64),
            destination: v.destination.as_ref().map(|(_, d)| d.len() as i64),
            base: v.base.as_ref().map(|(_, d)| d.len() as i64),
        }),
        file_modes: Some(FileModes {
            source: mode(sk),
            destination: mode(dk),
            base: mode(bk),
        }),
        object_types: Some(ObjectTypes {
            source: sk.map(object_type),
            destination: dk.map(object_type),
            base: bk.map(object_type),
        }),
        number_of_conflicts: Some(if conflicted {
            conflicts.max(1) as i32
        } else {
            0
        }),
        is_binary_file: Some(IsBinaryFile {
            source: binary[1],
            destination: binary[2],
            base: binary[0],
        }),
        content_conflict: Some(conflicted && (conflicts > 0 || binary.contains(&Some(true)))),
        file_mode_conflict: Some(
            conflicted && sk != dk && sk != bk && dk != bk && sk.is_some() && dk.is_some(),
        ),
        object_type_conflict: Some(
            conflicted
                && sk.map(object_type) != dk.map(object_type)
                && sk.is_some()
                && dk.is_some(),
        ),
        merge_operations: Some(MergeOperations {
            source: operation(&v.base, &v.source),
            destination: operation(&v.base, &v.destination),
        }),
    };
    let hunks = hunks
        .iter()
        .map(|h| MergeHunk {
            is_conflict: Some(h.conflict),
            source: Some(detail(&h.source)),
            destination: Some(detail(&h.destination)),
            base: Some(detail(&h.base)),
        })
        .collect();
    (meta, hunks)
}

impl CommitService {
    async fn versions(
        &self,
        repo: &RepoRow,
        a: &Attempt,
        path: &str,
    ) -> Result<Versions, AwsError> {
        let (base, source, destination) = (a.base, a.source, a.destination);
        let p = path.to_owned();
        self.git
            .with(&repo.id, move |r| {
                let read = |commit: Option<ObjectId>| -> Result<Option<(Entry, Vec<u8>)>, crate::git::GitError> {
                    let Some(c) = commit else { return Ok(None) };
                    let tree = objects::commit_tree(r, c)?;
                    match objects::entry_at(r, tree, &p)? {
                        Some(e) if e.kind.is_blob() => {
                            let data = objects::blob(r, &e.id)?;
                            Ok(Some((e, data)))
                        }
                        Some(e) => Ok(Some((e, Vec::new()))),
                        None => Ok(None),
                    }
                };
                Ok(Versions { base: read(base)?, source: read(Some(source))?, destination: read(Some(destination))? })
            })
            .await
            .map_err(git)
    }

    pub(crate) async fn api_describe_merge_conflicts(
        &self,
        i: DescribeMergeConflictsInput,
    ) -> Result<DescribeMergeConflictsOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        let path = super::content::path_arg(&i.file_path, false)?;
        let a = self
            .try_merge(
                &repo,
                &i.source_commit_specifier,
                &i.destination_commit_specifier,
                i.conflict_detail_level.as_ref(),
                i.conflict_resolution_strategy.as_ref(),
            )
            .await?;
        let v = self.versions(&repo, &a, &path).await?;
        if v.base.is_none() && v.source.is_none() && v.destination.is_none() {
            return Err(AwsError::new(
                "PathDoesNotExistException",
                format!("The path {path} does not exist."),
            ));
        }
        let (meta, hunks) = describe(&path, &v, a.conflicts.contains(&path));
        let (merge_hunks, next_token) =
            super::paging::page(hunks, i.next_token.as_deref(), i.max_merge_hunks, 1000)?;
        Ok(DescribeMergeConflictsOutput {
            conflict_metadata: meta,
            merge_hunks,
            next_token,
            destination_commit_id: a.destination.to_string(),
            source_commit_id: a.source.to_string(),
            base_commit_id: a.base.map(|b| b.to_string()),
        })
    }

    pub(crate) async fn api_batch_describe_merge_conflicts(
        &self,
        i: BatchDescribeMergeConflictsInput,
    ) -> Result<BatchDescribeMergeConflictsOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        let a = self
            .try_merge(
                &repo,
                &i.source_commit_specifier,
                &i.destination_commit_specifier,
                i.conflict_detail_level.as_ref(),
                i.conflict_resolution_strategy.as_ref(),
            )
            .await?;
        let mut errors = Vec::new();
        let wanted: Vec<String> = match &i.file_paths {
            Some(paths) if !paths.is_empty() => {
                let mut out = Vec::new();
                for p in paths {
                    match super::content::path_arg(p, false) {
                        Ok(p) if a.conflicts.contains(&p) => out.push(p),
                        Ok(p) => errors.push(BatchDescribeMergeConflictsError {
                            file_path: p,
                            exception_name: "FileDoesNotExistException".into(),
                            message: "The file is not in conflict between the source and the destination.".into(),
                        }),
                        Err(e) => errors.push(BatchDescribeMergeConflictsError {
                            file_path: p.clone(),
                            exception_name: e.code.to_string(),
                            message: e.message,
                        }),
                    }
                }
                out
            }
            _ => a.conflicts.clone(),
        };
        let (files, next_token) =
            super::paging::page(wanted, i.next_token.as_deref(), i.max_conflict_files, 500)?;
        let mut conflicts = Vec::with_capacity(files.len());
        for path in files {
            let v = self.versions(&repo, &a, &path).await?;
            let (meta, mut hunks) = describe(&path, &v, true);
            if let Some(max) = i.max_merge_hunks.filter(|m| *m >= 1) {
                hunks.truncate(max as usize);
            }
            conflicts.push(Conflict {
                conflict_metadata: Some(meta),
                merge_hunks: Some(hunks),
            });
        }
        Ok(BatchDescribeMergeConflictsOutput {
            conflicts,
            next_token,
            errors: Some(errors),
            destination_commit_id: a.destination.to_string(),
            source_commit_id: a.source.to_string(),
            base_commit_id: a.base.map(|b| b.to_string()),
        })
    }
}
