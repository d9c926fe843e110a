//! Merging without a work tree: merge bases, fast-forward checks, and three-way tree merges with
//! conflict detection and CodeCommit's resolution strategies, in-process with gitoxide.

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::merge::tree::TreatAsUnresolved;

use super::GitError;
use super::objects::{commit_tree, gix_err};

/// How conflicts are resolved (CodeCommit's `conflictResolutionStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Conflicts make the merge fail.
    None,
    /// Conflicting hunks take the source's side.
    AcceptSource,
    /// Conflicting hunks take the destination's side.
    AcceptDestination,
    /// Merge what merges cleanly; conflicts still fail.
    Automerge,
}

/// A tree merge's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeMerge {
    /// The merged tree (written), meaningful when `conflicts` is empty.
    pub tree: ObjectId,
    /// Paths left in conflict.
    pub conflicts: Vec<String>,
}

/// The best common ancestor of two commits.
pub fn merge_base(
    repo: &gix::Repository,
    a: ObjectId,
    b: ObjectId,
) -> Result<Option<ObjectId>, GitError> {
    match repo.merge_base(a, b) {
        Ok(Some(id)) => Ok(Some(id.detach())),
        Ok(None) => Ok(None),
        Err(e) => {
            // No common history is reported as an error by some versions; treat it as none.
            let text = e.to_string();
            if text.contains("No merge base") || text.contains("not found") {
                Ok(None)
            } else {
                Err(gix_err(e))
            }
        }
    }
}

/// Merges `source` into `destination` (both commits) over their merge base `base` (`None`:
/// no common history).
pub fn merge_commits(
    repo: &gix::Repository,
    source: ObjectId,
    destination: ObjectId,
    base: Option<ObjectId>,
    strategy: Strategy,
) -> Result<TreeMerge, GitError> {
    let base_tree = match base {
        Some(b) => commit_tree(repo, b)?,
        None => ObjectId::empty_tree(repo.object_hash()),
    };
    let ours = commit_tree(repo, destination)?;
    let theirs = commit_tree(repo, source)?;
    let mut options = repo.tree_merge_options().map_err(gix_err)?;
    options = match strategy {
        Strategy::AcceptSource => options
            .with_file_favor(Some(gix::merge::tree::FileFavor::Theirs))
            .with_tree_favor(Some(gix::merge::tree::TreeFavor::Ancestor)),
        Strategy::AcceptDestination => options
            .with_file_favor(Some(gix::merge::tree::FileFavor::Ours))
            .with_tree_favor(Some(gix::merge::tree::TreeFavor::Ours)),
        Strategy::None | Strategy::Automerge => options,
    };
    let labels = gix::merge::blob::builtin_driver::text::Labels {
        ancestor: Some("base".into()),
        current: Some("destination".into()),
        other: Some("source".into()),
    };
    let mut outcome = repo
        .merge_trees(base_tree, ours, theirs, labels, options)
        .map_err(gix_err)?;
    let how = TreatAsUnresolved::git();
    let mut conflicts: Vec<String> = outcome
        .conflicts
        .iter()
        .filter(|c| c.is_unresolved(how))
        .map(|c| c.ours.location().to_str_lossy().into_owned())
        .collect();
    conflicts.sort();
    conflicts.dedup();
    let tree = outcome.tree.write().map_err(gix_err)?.detach();
    Ok(TreeMerge { tree, conflicts })
}
