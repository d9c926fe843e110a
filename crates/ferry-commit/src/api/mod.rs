//! The CodeCommit API adapter: `CommitService` implements the generated
//! `ferry_model::codecommit::CodeCommit` trait. Each method here only delegates to the
//! resource file that implements it (`repositories`, `branches`, `commits`, `tags`); those call
//! the store and git and map failures to CodeCommit's exception names. Operations not listed
//! here answer `NotImplementedException` through the trait's defaults.

mod branches;
mod commits;
mod errors;
mod repositories;
mod tags;

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
}
