//! History and merge-result reads: ListFileCommitHistory, a repository's commit log (for the
//! console), GetMergeCommit, and
//! CreateUnreferencedMergeCommit (a merge commit no branch points at), plus the repository's
//! encryption key setting.

use ferry_model::codecommit::*;
use ferry_types::Timestamp;
use ferry_wire::{AwsError, RequestContext};
use gix::ObjectId;

use super::errors::{git, store};
use crate::CommitService;
use crate::git::objects;
use crate::git::write::NewCommit;

/// ListFileCommitHistory page size.
const PAGE: usize = 100;
/// How far back GetMergeCommit looks for the merge commit.
const MERGE_SEARCH_DEPTH: usize = 10_000;

impl CommitService {
    pub(crate) async fn api_list_file_commit_history(
        &self,
        i: ListFileCommitHistoryRequest,
    ) -> Result<ListFileCommitHistoryResponse, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        let path = super::content::path_arg(&i.file_path, false)?;
        let tip = self
            .resolve_spec(&repo, i.commit_specifier.as_deref())
            .await?;
        let limit = super::paging::limit(i.max_results, PAGE)?;
        let skip = super::paging::offset(i.next_token.as_deref())?;
        let p = path.clone();
        let (versions, more) = self
            .git
            .with(&repo.id, move |r| {
                objects::file_history(r, tip, &p, skip, limit)
            })
            .await
            .map_err(git)?;
        let mut dag = Vec::with_capacity(versions.len());
        let mut child: Option<String> = None;
        for (commit, blob) in versions {
            let info = self
                .git
                .commit(&repo.id, &commit.to_string())
                .await
                .map_err(git)?;
            dag.push(FileVersion {
                commit: Some(super::commits::to_commit(info)),
                blob_id: Some(blob),
                path: Some(path.clone()),
                revision_children: Some(child.take().into_iter().collect()),
            });
            child = Some(commit.to_string());
        }
        Ok(ListFileCommitHistoryResponse {
            revision_dag: dag,
            next_token: more.then(|| ferry_types::page::encode(&(skip + limit).to_string())),
        })
    }

    /// A page of a repository's history from `spec` (a branch, tag or commit; the default
    /// branch when `None`): the commits newest first and whether more follow. Not a CodeCommit
    /// operation; the console's commit log reads it.
    pub async fn log(
        &self,
        repository: &str,
        spec: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> Result<(Vec<Commit>, bool), AwsError> {
        let repo = self.existing_repo(repository).await?;
        let tip = self.resolve_spec(&repo, spec).await?;
        let (ids, more) = self
            .git
            .with(&repo.id, move |r| objects::log(r, tip, skip, limit))
            .await
            .map_err(git)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let info = self
                .git
                .commit(&repo.id, &id.to_string())
                .await
                .map_err(git)?;
            out.push(super::commits::to_commit(info));
        }
        Ok((out, more))
    }

    pub(crate) async fn api_get_merge_commit(
        &self,
        i: GetMergeCommitInput,
    ) -> Result<GetMergeCommitOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        let source = self
            .resolve_spec(&repo, Some(&i.source_commit_specifier))
            .await?;
        let destination = self
            .resolve_spec(&repo, Some(&i.destination_commit_specifier))
            .await?;
        let (base, merged) = self
            .git
            .with(&repo.id, move |r| {
                Ok((
                    crate::git::merge::merge_base(r, source, destination)?,
                    objects::merge_commit_of(r, source, destination, MERGE_SEARCH_DEPTH)?,
                ))
            })
            .await
            .map_err(git)?;
        Ok(GetMergeCommitOutput {
            source_commit_id: Some(source.to_string()),
            destination_commit_id: Some(destination.to_string()),
            base_commit_id: base.map(|b| b.to_string()),
            merged_commit_id: merged.map(|m| m.to_string()),
        })
    }

    pub(crate) async fn api_create_unreferenced_merge_commit(
        &self,
        ctx: &RequestContext,
        i: CreateUnreferencedMergeCommitInput,
    ) -> Result<CreateUnreferencedMergeCommitOutput, AwsError> {
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
        let a = self
            .apply_resolution(&repo, a, i.conflict_resolution.as_ref())
            .await?;
        let (commit, tree): (ObjectId, ObjectId) = match i.merge_option {
            MergeOptionTypeEnum::FastForwardMerge => {
                if !a.fast_forward {
                    return Err(AwsError::new(
                        "ManualMergeRequiredException",
                        "A fast-forward merge is not possible between these commits.",
                    ));
                }
                let source = a.source;
                let tree = self
                    .git
                    .with(&repo.id, move |r| objects::commit_tree(r, source))
                    .await
                    .map_err(git)?;
                (source, tree)
            }
            option => {
                if !a.conflicts.is_empty() {
                    return Err(super::merges::manual_merge(&a.conflicts));
                }
                let parents = if option == MergeOptionTypeEnum::SquashMerge {
                    vec![a.destination]
                } else {
                    vec![a.destination, a.source]
                };
                let name = i
                    .author_name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| ctx.user_name.clone());
                let email = i.email.clone().unwrap_or_default();
                let message = i.commit_message.clone().unwrap_or_default();
                let tree = a.tree;
                let commit = self
                    .git
                    .with(&repo.id, move |r| {
                        let c = NewCommit {
                            tree,
                            parents,
                            author_name: &name,
                            author_email: &email,
                            message: &message,
                        };
                        crate::git::write::write_commit(r, &c)
                    })
                    .await
                    .map_err(git)?;
                (commit, tree)
            }
        };
        Ok(CreateUnreferencedMergeCommitOutput {
            commit_id: Some(commit.to_string()),
            tree_id: Some(tree.to_string()),
        })
    }

    pub(crate) async fn api_update_encryption_key(
        &self,
        i: UpdateRepositoryEncryptionKeyInput,
    ) -> Result<UpdateRepositoryEncryptionKeyOutput, AwsError> {
        let repo = self.existing_repo(&i.repository_name).await?;
        if i.kms_key_id.is_empty() {
            return Err(AwsError::new(
                "EncryptionKeyRequiredException",
                "A KMS encryption key ID is required.",
            ));
        }
        let before = self
            .store
            .set_repository_kms_key(&repo.id, &i.kms_key_id, Timestamp::now().millis())
            .await
            .map_err(store)?;
        Ok(UpdateRepositoryEncryptionKeyOutput {
            repository_id: Some(repo.id),
            kms_key_id: Some(i.kms_key_id),
            original_kms_key_id: before,
        })
    }
}
