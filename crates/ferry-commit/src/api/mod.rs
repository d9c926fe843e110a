//! The CodeCommit API adapter: `CommitService` implements the generated
//! `ferry_model::codecommit::CodeCommit` trait. Each method here only delegates to the
//! resource file that implements it (`repositories`, `branches`, `commits`, `tags`); those call
//! the store and git and map failures to CodeCommit's exception names (`content`,
//! `differences` and `writes` hold the file and commit operations). Operations not listed
//! here answer `NotImplementedException` through the trait's defaults.

mod branches;
mod commits;
mod content;
mod differences;
mod errors;
mod merges;
mod repositories;
mod tags;
mod writes;

use ferry_model::codecommit::*;
use ferry_wire::{AwsError, RequestContext};

use crate::CommitService;

type R<T> = Result<T, AwsError>;

impl CodeCommit for CommitService {
    async fn create_repository(
        &self,
        ctx: &RequestContext,
        i: CreateRepositoryInput,
    ) -> R<CreateRepositoryOutput> {
        self.api_create_repository(ctx, i).await
    }
    async fn get_repository(
        &self,
        _: &RequestContext,
        i: GetRepositoryInput,
    ) -> R<GetRepositoryOutput> {
        self.api_get_repository(i).await
    }
    async fn batch_get_repositories(
        &self,
        _: &RequestContext,
        i: BatchGetRepositoriesInput,
    ) -> R<BatchGetRepositoriesOutput> {
        self.api_batch_get_repositories(i).await
    }
    async fn list_repositories(
        &self,
        _: &RequestContext,
        i: ListRepositoriesInput,
    ) -> R<ListRepositoriesOutput> {
        self.api_list_repositories(i).await
    }
    async fn delete_repository(
        &self,
        _: &RequestContext,
        i: DeleteRepositoryInput,
    ) -> R<DeleteRepositoryOutput> {
        self.api_delete_repository(i).await
    }
    async fn update_repository_name(
        &self,
        _: &RequestContext,
        i: UpdateRepositoryNameInput,
    ) -> R<()> {
        self.api_update_repository_name(i).await
    }
    async fn update_repository_description(
        &self,
        _: &RequestContext,
        i: UpdateRepositoryDescriptionInput,
    ) -> R<()> {
        self.api_update_repository_description(i).await
    }
    async fn get_branch(&self, _: &RequestContext, i: GetBranchInput) -> R<GetBranchOutput> {
        self.api_get_branch(i).await
    }
    async fn list_branches(
        &self,
        _: &RequestContext,
        i: ListBranchesInput,
    ) -> R<ListBranchesOutput> {
        self.api_list_branches(i).await
    }
    async fn create_branch(&self, _: &RequestContext, i: CreateBranchInput) -> R<()> {
        self.api_create_branch(i).await
    }
    async fn delete_branch(
        &self,
        _: &RequestContext,
        i: DeleteBranchInput,
    ) -> R<DeleteBranchOutput> {
        self.api_delete_branch(i).await
    }
    async fn update_default_branch(
        &self,
        _: &RequestContext,
        i: UpdateDefaultBranchInput,
    ) -> R<()> {
        self.api_update_default_branch(i).await
    }
    async fn get_commit(&self, _: &RequestContext, i: GetCommitInput) -> R<GetCommitOutput> {
        self.api_get_commit(i).await
    }
    async fn tag_resource(&self, _: &RequestContext, i: TagResourceInput) -> R<()> {
        self.api_tag_resource(i).await
    }
    async fn untag_resource(&self, _: &RequestContext, i: UntagResourceInput) -> R<()> {
        self.api_untag_resource(i).await
    }
    async fn list_tags_for_resource(
        &self,
        _: &RequestContext,
        i: ListTagsForResourceInput,
    ) -> R<ListTagsForResourceOutput> {
        self.api_list_tags_for_resource(i).await
    }
    async fn batch_get_commits(
        &self,
        _: &RequestContext,
        i: BatchGetCommitsInput,
    ) -> R<BatchGetCommitsOutput> {
        self.api_batch_get_commits(i).await
    }
    async fn get_file(&self, _: &RequestContext, i: GetFileInput) -> R<GetFileOutput> {
        self.api_get_file(i).await
    }
    async fn get_folder(&self, _: &RequestContext, i: GetFolderInput) -> R<GetFolderOutput> {
        self.api_get_folder(i).await
    }
    async fn get_blob(&self, _: &RequestContext, i: GetBlobInput) -> R<GetBlobOutput> {
        self.api_get_blob(i).await
    }
    async fn get_differences(
        &self,
        _: &RequestContext,
        i: GetDifferencesInput,
    ) -> R<GetDifferencesOutput> {
        self.api_get_differences(i).await
    }
    async fn put_file(&self, ctx: &RequestContext, i: PutFileInput) -> R<PutFileOutput> {
        self.api_put_file(ctx, i).await
    }
    async fn delete_file(&self, ctx: &RequestContext, i: DeleteFileInput) -> R<DeleteFileOutput> {
        self.api_delete_file(ctx, i).await
    }
    async fn create_commit(
        &self,
        ctx: &RequestContext,
        i: CreateCommitInput,
    ) -> R<CreateCommitOutput> {
        self.api_create_commit(ctx, i).await
    }
    async fn get_merge_options(
        &self,
        _: &RequestContext,
        i: GetMergeOptionsInput,
    ) -> R<GetMergeOptionsOutput> {
        self.api_get_merge_options(i).await
    }
    async fn get_merge_conflicts(
        &self,
        _: &RequestContext,
        i: GetMergeConflictsInput,
    ) -> R<GetMergeConflictsOutput> {
        self.api_get_merge_conflicts(i).await
    }
    async fn merge_branches_by_fast_forward(
        &self,
        _: &RequestContext,
        i: MergeBranchesByFastForwardInput,
    ) -> R<MergeBranchesByFastForwardOutput> {
        self.api_merge_fast_forward(i).await
    }
    async fn merge_branches_by_squash(
        &self,
        ctx: &RequestContext,
        i: MergeBranchesBySquashInput,
    ) -> R<MergeBranchesBySquashOutput> {
        if i.conflict_resolution.is_some() {
            return Err(AwsError::not_implemented(
                "codecommit",
                "MergeBranchesBySquash with conflictResolution",
            ));
        }
        let (commit_id, tree_id) = self
            .merge_into_branch(
                ctx,
                &i.repository_name,
                &i.source_commit_specifier,
                &i.destination_commit_specifier,
                i.target_branch.as_deref(),
                i.conflict_detail_level.as_ref(),
                i.conflict_resolution_strategy.as_ref(),
                (
                    i.author_name.as_deref(),
                    i.email.as_deref(),
                    i.commit_message.as_deref(),
                ),
                true,
            )
            .await?;
        Ok(MergeBranchesBySquashOutput {
            commit_id: Some(commit_id),
            tree_id: Some(tree_id),
        })
    }
    async fn merge_branches_by_three_way(
        &self,
        ctx: &RequestContext,
        i: MergeBranchesByThreeWayInput,
    ) -> R<MergeBranchesByThreeWayOutput> {
        if i.conflict_resolution.is_some() {
            return Err(AwsError::not_implemented(
                "codecommit",
                "MergeBranchesByThreeWay with conflictResolution",
            ));
        }
        let (commit_id, tree_id) = self
            .merge_into_branch(
                ctx,
                &i.repository_name,
                &i.source_commit_specifier,
                &i.destination_commit_specifier,
                i.target_branch.as_deref(),
                i.conflict_detail_level.as_ref(),
                i.conflict_resolution_strategy.as_ref(),
                (
                    i.author_name.as_deref(),
                    i.email.as_deref(),
                    i.commit_message.as_deref(),
                ),
                false,
            )
            .await?;
        Ok(MergeBranchesByThreeWayOutput {
            commit_id: Some(commit_id),
            tree_id: Some(tree_id),
        })
    }
}
