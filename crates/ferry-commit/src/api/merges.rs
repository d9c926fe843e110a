//! Merges between commit specifiers: merge options, conflicts, and merging branches by
//! fast-forward, squash or three-way, with CodeCommit's conflict detail levels and resolution
//! strategies. Conflict detail `FILE_LEVEL` (the default) counts every file changed differently
//! on both sides as a conflict; `LINE_LEVEL` only overlapping changes; the `AUTOMERGE`
//! strategy merges what merges cleanly line by line.

use ferry_model::codecommit::*;
use ferry_store::repos::RepoRow;
use ferry_wire::{AwsError, RequestContext};
use gix::ObjectId;

use super::errors::git;
use crate::CommitService;
use crate::git::GitError;
use crate::git::merge::{self, Strategy};
use crate::git::objects;
use crate::git::write::{self, NewCommit, WriteError};

/// The outcome of trying a merge.
#[derive(Clone)]
pub(crate) struct Attempt {
    pub(crate) source: ObjectId,
    pub(crate) destination: ObjectId,
    pub(crate) base: Option<ObjectId>,
    pub(crate) tree: ObjectId,
    pub(crate) conflicts: Vec<String>,
    pub(crate) fast_forward: bool,
}

fn strategy(s: Option<&ConflictResolutionStrategyTypeEnum>) -> Strategy {
    match s {
        Some(ConflictResolutionStrategyTypeEnum::AcceptSource) => Strategy::AcceptSource,
        Some(ConflictResolutionStrategyTypeEnum::AcceptDestination) => Strategy::AcceptDestination,
        Some(ConflictResolutionStrategyTypeEnum::Automerge) => Strategy::Automerge,
        _ => Strategy::None,
    }
}

pub(crate) fn manual_merge(conflicts: &[String]) -> AwsError {
    AwsError::new(
        "ManualMergeRequiredException",
        format!(
            "The merge cannot be completed because of conflicts in: {}",
            conflicts.join(", ")
        ),
    )
}

/// Tries a merge of `source` into `destination` in memory (objects may be written, no ref moves).
fn attempt(
    r: &gix::Repository,
    source: ObjectId,
    destination: ObjectId,
    line_level: bool,
    strategy: Strategy,
) -> Result<Attempt, GitError> {
    // One merge-base computation serves the fast-forward check and the merge.
    let base = merge::merge_base(r, source, destination)?;
    let fast_forward = destination == source || base == Some(destination);
    let merged = merge::merge_commits(r, source, destination, base, strategy)?;
    let mut conflicts = merged.conflicts;
    if !line_level && strategy == Strategy::None {
        // File level: a file changed on both sides, differently, is a conflict.
        let base_tree = base.map(|b| objects::commit_tree(r, b)).transpose()?;
        let ours = objects::diff_trees(r, base_tree, objects::commit_tree(r, destination)?)?;
        let theirs = objects::diff_trees(r, base_tree, objects::commit_tree(r, source)?)?;
        let key = |c: &objects::Change| {
            c.after
                .as_ref()
                .or(c.before.as_ref())
                .map(|e| e.path.clone())
        };
        for t in &theirs {
            if let Some(o) = ours.iter().find(|o| key(o) == key(t))
                && o.after != t.after
            {
                conflicts.extend(key(t));
            }
        }
        conflicts.sort();
        conflicts.dedup();
    }
    Ok(Attempt {
        source,
        destination,
        base,
        tree: merged.tree,
        conflicts,
        fast_forward,
    })
}

/// Applies a manual conflict resolution to an attempted merge: the merged tree is edited, and
/// the conflicts it covers are resolved.
fn resolve(
    r: &gix::Repository,
    a: &Attempt,
    res: &ConflictResolution,
) -> Result<Result<(ObjectId, Vec<String>), AwsError>, crate::git::GitError> {
    use crate::git::objects::{Kind, commit_tree, entry_at};
    let trees = (
        a.base.map(|b| commit_tree(r, b)).transpose()?,
        commit_tree(r, a.source)?,
        commit_tree(r, a.destination)?,
    );
    let mut editor = r.edit_tree(a.tree).map_err(objects::gix_err)?;
    let mut covered = Vec::new();
    for e in res.replace_contents.as_deref().unwrap_or_default() {
        let path = match super::content::path_arg(&e.file_path, false) {
            Ok(p) => p,
            Err(err) => return Ok(Err(err)),
        };
        let from_side =
            |tree: Option<ObjectId>| -> Result<Option<objects::Entry>, crate::git::GitError> {
                match tree {
                    Some(t) => entry_at(r, t, &path),
                    None => Ok(None),
                }
            };
        let (id, kind) = match e.replacement_type {
            ReplacementTypeEnum::UseNewContent => {
                let Some(content) = &e.content else {
                    return Ok(Err(AwsError::new(
                        "ReplacementContentRequiredException",
                        format!("USE_NEW_CONTENT needs content for {path}."),
                    )));
                };
                (
                    Some(r.write_blob(&content.0).map_err(objects::gix_err)?.detach()),
                    None,
                )
            }
            ref t => {
                let side = match t {
                    ReplacementTypeEnum::KeepBase => from_side(trees.0)?,
                    ReplacementTypeEnum::KeepSource => from_side(Some(trees.1))?,
                    _ => from_side(Some(trees.2))?,
                };
                match side {
                    Some(entry) => (
                        Some(ObjectId::from_hex(entry.id.as_bytes()).map_err(objects::gix_err)?),
                        Some(entry.kind),
                    ),
                    None => (None, None),
                }
            }
        };
        match id {
            Some(id) => {
                let kind = e
                    .file_mode
                    .as_ref()
                    .map(super::content::kind_of)
                    .or(kind)
                    .unwrap_or(Kind::Normal);
                editor
                    .upsert(path.as_str(), kind.to_entry(), id)
                    .map_err(objects::gix_err)?;
            }
            None => {
                editor.remove(path.as_str()).map_err(objects::gix_err)?;
            }
        }
        covered.push(path);
    }
    for d in res.delete_files.as_deref().unwrap_or_default() {
        let path = match super::content::path_arg(&d.file_path, false) {
            Ok(p) => p,
            Err(err) => return Ok(Err(err)),
        };
        editor.remove(path.as_str()).map_err(objects::gix_err)?;
        covered.push(path);
    }
    let tree = editor.write().map_err(objects::gix_err)?.detach();
    let mut editor = r.edit_tree(tree).map_err(objects::gix_err)?;
    for m in res.set_file_modes.as_deref().unwrap_or_default() {
        let path = match super::content::path_arg(&m.file_path, false) {
            Ok(p) => p,
            Err(err) => return Ok(Err(err)),
        };
        match entry_at(r, tree, &path)? {
            Some(e) if e.kind.is_blob() => {
                let id = ObjectId::from_hex(e.id.as_bytes()).map_err(objects::gix_err)?;
                editor
                    .upsert(
                        path.as_str(),
                        super::content::kind_of(&m.file_mode).to_entry(),
                        id,
                    )
                    .map_err(objects::gix_err)?;
            }
            _ => {
                return Ok(Err(AwsError::new(
                    "FileDoesNotExistException",
                    format!("The file {path} does not exist."),
                )));
            }
        }
    }
    let tree = editor.write().map_err(objects::gix_err)?.detach();
    let remaining = a
        .conflicts
        .iter()
        .filter(|c| !covered.contains(c))
        .cloned()
        .collect();
    Ok(Ok((tree, remaining)))
}

impl CommitService {
    /// Applies `resolution` (if any) to an attempted merge.
    pub(crate) async fn apply_resolution(
        &self,
        repo: &RepoRow,
        mut a: Attempt,
        resolution: Option<&ConflictResolution>,
    ) -> Result<Attempt, AwsError> {
        let Some(res) = resolution.cloned() else {
            return Ok(a);
        };
        let snapshot = a.clone();
        let (tree, remaining) = self
            .git
            .with(&repo.id, move |r| resolve(r, &snapshot, &res))
            .await
            .map_err(git)??;
        a.tree = tree;
        a.conflicts = remaining;
        Ok(a)
    }

    pub(crate) async fn try_merge(
        &self,
        repo: &RepoRow,
        source_spec: &str,
        destination_spec: &str,
        level: Option<&ConflictDetailLevelTypeEnum>,
        strat: Option<&ConflictResolutionStrategyTypeEnum>,
    ) -> Result<Attempt, AwsError> {
        if source_spec.is_empty() || destination_spec.is_empty() {
            return Err(AwsError::new(
                "CommitRequiredException",
                "A commit specifier is required.",
            ));
        }
        let source = self.resolve_spec(repo, Some(source_spec)).await?;
        let destination = self.resolve_spec(repo, Some(destination_spec)).await?;
        let line_level = matches!(level, Some(ConflictDetailLevelTypeEnum::LineLevel));
        let strategy = strategy(strat);
        let a = self
            .git
            .with(&repo.id, move |r| {
                attempt(r, source, destination, line_level, strategy)
            })
            .await
            .map_err(git)?;
        if a.base.is_none() {
            return Err(AwsError::new(
                "ManualMergeRequiredException",
                "The source and destination have no common history and cannot be merged.",
            ));
        }
        Ok(a)
    }

    pub(crate) async fn api_get_merge_options(
        &self,
        i: GetMergeOptionsInput,
    ) -> Result<GetMergeOptionsOutput, AwsError> {
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
        let mut options = Vec::new();
        if a.fast_forward {
            options.push(MergeOptionTypeEnum::FastForwardMerge);
        }
        if a.conflicts.is_empty() {
            options.extend([
                MergeOptionTypeEnum::SquashMerge,
                MergeOptionTypeEnum::ThreeWayMerge,
            ]);
        }
        Ok(GetMergeOptionsOutput {
            merge_options: options,
            source_commit_id: a.source.to_string(),
            destination_commit_id: a.destination.to_string(),
            base_commit_id: a.base.map(|b| b.to_string()).unwrap_or_default(),
        })
    }

    pub(crate) async fn api_get_merge_conflicts(
        &self,
        i: GetMergeConflictsInput,
    ) -> Result<GetMergeConflictsOutput, AwsError> {
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
        let mergeable = match i.merge_option {
            MergeOptionTypeEnum::FastForwardMerge => a.fast_forward,
            _ => a.conflicts.is_empty(),
        };
        let conflicts = if i.merge_option == MergeOptionTypeEnum::FastForwardMerge {
            Vec::new()
        } else {
            a.conflicts
        };
        Ok(GetMergeConflictsOutput {
            mergeable,
            destination_commit_id: a.destination.to_string(),
            source_commit_id: a.source.to_string(),
            base_commit_id: a.base.map(|b| b.to_string()),
            conflict_metadata_list: conflicts
                .into_iter()
                .map(|p| ConflictMetadata {
                    file_path: Some(p),
                    content_conflict: Some(true),
                    file_mode_conflict: Some(false),
                    object_type_conflict: Some(false),
                    number_of_conflicts: Some(1),
                    ..Default::default()
                })
                .collect(),
            next_token: None,
        })
    }

    /// The branch a merge moves: `targetBranch`, else the destination when it names a branch.
    async fn merge_target(
        &self,
        repo: &RepoRow,
        target: Option<&str>,
        destination: &str,
    ) -> Result<(String, ObjectId), AwsError> {
        let name = target.filter(|t| !t.is_empty()).unwrap_or(destination);
        let name = name.strip_prefix("refs/heads/").unwrap_or(name).to_owned();
        let tip = self
            .git
            .branch(&repo.id, &name)
            .await
            .map_err(git)?
            .ok_or_else(|| {
                AwsError::new(
                    "BranchDoesNotExistException",
                    format!("The target branch {name} does not exist."),
                )
            })?;
        let tip = ObjectId::from_hex(tip.as_bytes()).map_err(AwsError::internal)?;
        Ok((name, tip))
    }

    pub(crate) async fn api_merge_fast_forward(
        &self,
        i: MergeBranchesByFastForwardInput,
    ) -> Result<MergeBranchesByFastForwardOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        let a = self
            .try_merge(
                &repo,
                &i.source_commit_specifier,
                &i.destination_commit_specifier,
                None,
                None,
            )
            .await?;
        if !a.fast_forward {
            return Err(AwsError::new(
                "ManualMergeRequiredException",
                "The destination is not an ancestor of the source, so a fast-forward merge is not possible.",
            ));
        }
        let (branch, tip) = self
            .merge_target(
                &repo,
                i.target_branch.as_deref(),
                &i.destination_commit_specifier,
            )
            .await?;
        let change = self.begin_ref_change(&repo).await.map_err(git)?;
        let source = a.source;
        let moved = self
            .git
            .with(&repo.id, move |r| {
                Ok(write::move_branch(r, &branch, source, Some(tip)))
            })
            .await
            .map_err(git);
        self.finish_ref_change(change).await.map_err(git)?;
        moved?.map_err(concurrent)?;
        let tree = self
            .git
            .with(&repo.id, move |r| objects::commit_tree(r, source))
            .await
            .map_err(git)?;
        Ok(MergeBranchesByFastForwardOutput {
            commit_id: Some(source.to_string()),
            tree_id: Some(tree.to_string()),
        })
    }

    /// Squash (one parent) or three-way (two parents) merge into the target branch.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn merge_into_branch(
        &self,
        ctx: &RequestContext,
        repository: &str,
        source_spec: &str,
        destination_spec: &str,
        target: Option<&str>,
        level: Option<&ConflictDetailLevelTypeEnum>,
        strat: Option<&ConflictResolutionStrategyTypeEnum>,
        author: (Option<&str>, Option<&str>, Option<&str>),
        squash: bool,
        resolution: Option<&ConflictResolution>,
    ) -> Result<(String, String), AwsError> {
        let repo = self.existing_repo(repository).await?;
        let a = self
            .try_merge(&repo, source_spec, destination_spec, level, strat)
            .await?;
        let a = self.apply_resolution(&repo, a, resolution).await?;
        if !a.conflicts.is_empty() {
            return Err(manual_merge(&a.conflicts));
        }
        let (branch, tip) = self.merge_target(&repo, target, destination_spec).await?;
        let name = author
            .0
            .filter(|n| !n.is_empty())
            .unwrap_or(&ctx.user_name)
            .to_owned();
        let email = author.1.unwrap_or("").to_owned();
        let message = author
            .2
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Merge {source_spec} into {destination_spec}"));
        let parents = if squash {
            vec![a.destination]
        } else {
            vec![a.destination, a.source]
        };
        let tree = a.tree;
        let change = self
            .begin_ref_change(&repo)
            .await
            .map_err(git)?
            .by(&ctx.principal_arn);
        let made = self
            .git
            .with(&repo.id, move |r| {
                let c = NewCommit {
                    tree,
                    parents,
                    author_name: &name,
                    author_email: &email,
                    message: &message,
                };
                Ok(write::commit_and_move(r, &c, &branch, Some(tip)))
            })
            .await
            .map_err(git);
        self.finish_ref_change(change).await.map_err(git)?;
        let commit = made?.map_err(concurrent)?;
        Ok((commit.to_string(), tree.to_string()))
    }
}

fn concurrent(e: WriteError) -> AwsError {
    match e {
        WriteError::BranchMoved => AwsError::new(
            "ConcurrentReferenceUpdateException",
            "The merge cannot be completed because the target branch has been modified.",
        ),
        WriteError::Git(e) => git(e),
        other => AwsError::internal(other),
    }
}
