//! The CodeCommit API adapter: `CommitService` implements the generated
//! `ferry_model::codecommit::CodeCommit` trait. Each method here only delegates to the
//! resource file that implements it (`repositories`, `branches`, `commits`, `tags`); those call
//! the store and git and map failures to CodeCommit's exception names (`content`,
//! `differences` and `writes` hold the file and commit operations). Operations not listed
//! here answer `NotImplementedException` through the trait's defaults.

mod approvals;
mod branches;
mod comments;
mod commits;
mod conflicts;
mod content;
mod differences;
mod errors;
mod history;
mod merges;
mod paging;
mod pulls;
mod reactions;
mod repositories;
mod tags;
mod triggers;
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
                i.conflict_resolution.as_ref(),
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
                i.conflict_resolution.as_ref(),
            )
            .await?;
        Ok(MergeBranchesByThreeWayOutput {
            commit_id: Some(commit_id),
            tree_id: Some(tree_id),
        })
    }
    async fn create_pull_request(
        &self,
        ctx: &RequestContext,
        i: CreatePullRequestInput,
    ) -> R<CreatePullRequestOutput> {
        self.api_create_pull_request(ctx, i).await
    }
    async fn get_pull_request(
        &self,
        _: &RequestContext,
        i: GetPullRequestInput,
    ) -> R<GetPullRequestOutput> {
        self.api_get_pull_request(i).await
    }
    async fn list_pull_requests(
        &self,
        _: &RequestContext,
        i: ListPullRequestsInput,
    ) -> R<ListPullRequestsOutput> {
        self.api_list_pull_requests(i).await
    }
    async fn describe_pull_request_events(
        &self,
        _: &RequestContext,
        i: DescribePullRequestEventsInput,
    ) -> R<DescribePullRequestEventsOutput> {
        self.api_describe_pull_request_events(i).await
    }
    async fn update_pull_request_title(
        &self,
        ctx: &RequestContext,
        i: UpdatePullRequestTitleInput,
    ) -> R<UpdatePullRequestTitleOutput> {
        self.api_update_pull_request_title(ctx, i).await
    }
    async fn update_pull_request_description(
        &self,
        ctx: &RequestContext,
        i: UpdatePullRequestDescriptionInput,
    ) -> R<UpdatePullRequestDescriptionOutput> {
        self.api_update_pull_request_description(ctx, i).await
    }
    async fn update_pull_request_status(
        &self,
        ctx: &RequestContext,
        i: UpdatePullRequestStatusInput,
    ) -> R<UpdatePullRequestStatusOutput> {
        self.api_update_pull_request_status(ctx, i).await
    }
    async fn get_pull_request_approval_states(
        &self,
        _: &RequestContext,
        i: GetPullRequestApprovalStatesInput,
    ) -> R<GetPullRequestApprovalStatesOutput> {
        self.api_get_approval_states(i).await
    }
    async fn update_pull_request_approval_state(
        &self,
        ctx: &RequestContext,
        i: UpdatePullRequestApprovalStateInput,
    ) -> R<()> {
        self.api_update_approval_state(ctx, i).await
    }
    async fn merge_pull_request_by_fast_forward(
        &self,
        ctx: &RequestContext,
        i: MergePullRequestByFastForwardInput,
    ) -> R<MergePullRequestByFastForwardOutput> {
        let pr = self
            .merge_pull(
                ctx,
                &i.pull_request_id,
                &i.repository_name,
                i.source_commit_id.as_deref(),
                MergeOptionTypeEnum::FastForwardMerge,
                None,
            )
            .await?;
        Ok(MergePullRequestByFastForwardOutput {
            pull_request: Some(pr),
        })
    }
    async fn merge_pull_request_by_squash(
        &self,
        ctx: &RequestContext,
        i: MergePullRequestBySquashInput,
    ) -> R<MergePullRequestBySquashOutput> {
        let settings = pulls::MergeSettings {
            level: i.conflict_detail_level.as_ref(),
            strategy: i.conflict_resolution_strategy.as_ref(),
            author: i.author_name.as_deref(),
            email: i.email.as_deref(),
            message: i.commit_message.as_deref(),
            resolution: i.conflict_resolution.as_ref(),
        };
        let pr = self
            .merge_pull(
                ctx,
                &i.pull_request_id,
                &i.repository_name,
                i.source_commit_id.as_deref(),
                MergeOptionTypeEnum::SquashMerge,
                Some(settings),
            )
            .await?;
        Ok(MergePullRequestBySquashOutput {
            pull_request: Some(pr),
        })
    }
    async fn merge_pull_request_by_three_way(
        &self,
        ctx: &RequestContext,
        i: MergePullRequestByThreeWayInput,
    ) -> R<MergePullRequestByThreeWayOutput> {
        let settings = pulls::MergeSettings {
            level: i.conflict_detail_level.as_ref(),
            strategy: i.conflict_resolution_strategy.as_ref(),
            author: i.author_name.as_deref(),
            email: i.email.as_deref(),
            message: i.commit_message.as_deref(),
            resolution: i.conflict_resolution.as_ref(),
        };
        let pr = self
            .merge_pull(
                ctx,
                &i.pull_request_id,
                &i.repository_name,
                i.source_commit_id.as_deref(),
                MergeOptionTypeEnum::ThreeWayMerge,
                Some(settings),
            )
            .await?;
        Ok(MergePullRequestByThreeWayOutput {
            pull_request: Some(pr),
        })
    }
    async fn post_comment_for_pull_request(
        &self,
        ctx: &RequestContext,
        i: PostCommentForPullRequestInput,
    ) -> R<PostCommentForPullRequestOutput> {
        self.api_post_comment_for_pull_request(ctx, i).await
    }
    async fn post_comment_for_compared_commit(
        &self,
        ctx: &RequestContext,
        i: PostCommentForComparedCommitInput,
    ) -> R<PostCommentForComparedCommitOutput> {
        self.api_post_comment_for_compared_commit(ctx, i).await
    }
    async fn post_comment_reply(
        &self,
        ctx: &RequestContext,
        i: PostCommentReplyInput,
    ) -> R<PostCommentReplyOutput> {
        self.api_post_comment_reply(ctx, i).await
    }
    async fn get_comment(&self, ctx: &RequestContext, i: GetCommentInput) -> R<GetCommentOutput> {
        self.api_get_comment(ctx, i).await
    }
    async fn update_comment(
        &self,
        ctx: &RequestContext,
        i: UpdateCommentInput,
    ) -> R<UpdateCommentOutput> {
        self.api_update_comment(ctx, i).await
    }
    async fn delete_comment_content(
        &self,
        _: &RequestContext,
        i: DeleteCommentContentInput,
    ) -> R<DeleteCommentContentOutput> {
        self.api_delete_comment_content(i).await
    }
    async fn get_comments_for_pull_request(
        &self,
        _: &RequestContext,
        i: GetCommentsForPullRequestInput,
    ) -> R<GetCommentsForPullRequestOutput> {
        self.api_get_comments_for_pull_request(i).await
    }
    async fn get_comments_for_compared_commit(
        &self,
        _: &RequestContext,
        i: GetCommentsForComparedCommitInput,
    ) -> R<GetCommentsForComparedCommitOutput> {
        self.api_get_comments_for_compared_commit(i).await
    }
    async fn create_pull_request_approval_rule(
        &self,
        ctx: &RequestContext,
        i: CreatePullRequestApprovalRuleInput,
    ) -> R<CreatePullRequestApprovalRuleOutput> {
        self.api_create_pr_rule(ctx, i).await
    }
    async fn update_pull_request_approval_rule_content(
        &self,
        ctx: &RequestContext,
        i: UpdatePullRequestApprovalRuleContentInput,
    ) -> R<UpdatePullRequestApprovalRuleContentOutput> {
        self.api_update_pr_rule(ctx, i).await
    }
    async fn delete_pull_request_approval_rule(
        &self,
        ctx: &RequestContext,
        i: DeletePullRequestApprovalRuleInput,
    ) -> R<DeletePullRequestApprovalRuleOutput> {
        self.api_delete_pr_rule(ctx, i).await
    }
    async fn evaluate_pull_request_approval_rules(
        &self,
        _: &RequestContext,
        i: EvaluatePullRequestApprovalRulesInput,
    ) -> R<EvaluatePullRequestApprovalRulesOutput> {
        self.api_evaluate(i).await
    }
    async fn override_pull_request_approval_rules(
        &self,
        ctx: &RequestContext,
        i: OverridePullRequestApprovalRulesInput,
    ) -> R<()> {
        self.api_override(ctx, i).await
    }
    async fn get_pull_request_override_state(
        &self,
        _: &RequestContext,
        i: GetPullRequestOverrideStateInput,
    ) -> R<GetPullRequestOverrideStateOutput> {
        self.api_override_state(i).await
    }
    async fn create_approval_rule_template(
        &self,
        ctx: &RequestContext,
        i: CreateApprovalRuleTemplateInput,
    ) -> R<CreateApprovalRuleTemplateOutput> {
        self.api_create_template(ctx, i).await
    }
    async fn get_approval_rule_template(
        &self,
        _: &RequestContext,
        i: GetApprovalRuleTemplateInput,
    ) -> R<GetApprovalRuleTemplateOutput> {
        self.api_get_template(i).await
    }
    async fn list_approval_rule_templates(
        &self,
        _: &RequestContext,
        i: ListApprovalRuleTemplatesInput,
    ) -> R<ListApprovalRuleTemplatesOutput> {
        self.api_list_templates(i).await
    }
    async fn update_approval_rule_template_content(
        &self,
        ctx: &RequestContext,
        i: UpdateApprovalRuleTemplateContentInput,
    ) -> R<UpdateApprovalRuleTemplateContentOutput> {
        self.api_update_template_content(ctx, i).await
    }
    async fn update_approval_rule_template_name(
        &self,
        ctx: &RequestContext,
        i: UpdateApprovalRuleTemplateNameInput,
    ) -> R<UpdateApprovalRuleTemplateNameOutput> {
        self.api_update_template_name(ctx, i).await
    }
    async fn update_approval_rule_template_description(
        &self,
        ctx: &RequestContext,
        i: UpdateApprovalRuleTemplateDescriptionInput,
    ) -> R<UpdateApprovalRuleTemplateDescriptionOutput> {
        self.api_update_template_description(ctx, i).await
    }
    async fn delete_approval_rule_template(
        &self,
        _: &RequestContext,
        i: DeleteApprovalRuleTemplateInput,
    ) -> R<DeleteApprovalRuleTemplateOutput> {
        self.api_delete_template(i).await
    }
    async fn associate_approval_rule_template_with_repository(
        &self,
        _: &RequestContext,
        i: AssociateApprovalRuleTemplateWithRepositoryInput,
    ) -> R<()> {
        self.api_associate_template(&i.approval_rule_template_name, &i.repository_name)
            .await
    }
    async fn disassociate_approval_rule_template_from_repository(
        &self,
        _: &RequestContext,
        i: DisassociateApprovalRuleTemplateFromRepositoryInput,
    ) -> R<()> {
        self.api_disassociate_template(&i.approval_rule_template_name, &i.repository_name)
            .await
    }
    async fn batch_associate_approval_rule_template_with_repositories(
        &self,
        _: &RequestContext,
        i: BatchAssociateApprovalRuleTemplateWithRepositoriesInput,
    ) -> R<BatchAssociateApprovalRuleTemplateWithRepositoriesOutput> {
        let (done, errors) = self
            .batch_templates(&i.approval_rule_template_name, &i.repository_names, true)
            .await?;
        Ok(BatchAssociateApprovalRuleTemplateWithRepositoriesOutput {
            associated_repository_names: done,
            errors: errors
                .into_iter()
                .map(
                    |(n, c, m)| BatchAssociateApprovalRuleTemplateWithRepositoriesError {
                        repository_name: Some(n),
                        error_code: Some(c),
                        error_message: Some(m),
                    },
                )
                .collect(),
        })
    }
    async fn batch_disassociate_approval_rule_template_from_repositories(
        &self,
        _: &RequestContext,
        i: BatchDisassociateApprovalRuleTemplateFromRepositoriesInput,
    ) -> R<BatchDisassociateApprovalRuleTemplateFromRepositoriesOutput> {
        let (done, errors) = self
            .batch_templates(&i.approval_rule_template_name, &i.repository_names, false)
            .await?;
        Ok(
            BatchDisassociateApprovalRuleTemplateFromRepositoriesOutput {
                disassociated_repository_names: done,
                errors: errors
                    .into_iter()
                    .map(
                        |(n, c, m)| BatchDisassociateApprovalRuleTemplateFromRepositoriesError {
                            repository_name: Some(n),
                            error_code: Some(c),
                            error_message: Some(m),
                        },
                    )
                    .collect(),
            },
        )
    }
    async fn list_associated_approval_rule_templates_for_repository(
        &self,
        _: &RequestContext,
        i: ListAssociatedApprovalRuleTemplatesForRepositoryInput,
    ) -> R<ListAssociatedApprovalRuleTemplatesForRepositoryOutput> {
        self.api_templates_for_repository(i).await
    }
    async fn list_repositories_for_approval_rule_template(
        &self,
        _: &RequestContext,
        i: ListRepositoriesForApprovalRuleTemplateInput,
    ) -> R<ListRepositoriesForApprovalRuleTemplateOutput> {
        self.api_repositories_for_template(i).await
    }
    async fn list_file_commit_history(
        &self,
        _: &RequestContext,
        i: ListFileCommitHistoryRequest,
    ) -> R<ListFileCommitHistoryResponse> {
        self.api_list_file_commit_history(i).await
    }
    async fn get_merge_commit(
        &self,
        _: &RequestContext,
        i: GetMergeCommitInput,
    ) -> R<GetMergeCommitOutput> {
        self.api_get_merge_commit(i).await
    }
    async fn create_unreferenced_merge_commit(
        &self,
        ctx: &RequestContext,
        i: CreateUnreferencedMergeCommitInput,
    ) -> R<CreateUnreferencedMergeCommitOutput> {
        self.api_create_unreferenced_merge_commit(ctx, i).await
    }
    async fn update_repository_encryption_key(
        &self,
        _: &RequestContext,
        i: UpdateRepositoryEncryptionKeyInput,
    ) -> R<UpdateRepositoryEncryptionKeyOutput> {
        self.api_update_encryption_key(i).await
    }
    async fn put_repository_triggers(
        &self,
        _: &RequestContext,
        i: PutRepositoryTriggersInput,
    ) -> R<PutRepositoryTriggersOutput> {
        self.api_put_triggers(i).await
    }
    async fn get_repository_triggers(
        &self,
        _: &RequestContext,
        i: GetRepositoryTriggersInput,
    ) -> R<GetRepositoryTriggersOutput> {
        self.api_get_triggers(i).await
    }
    async fn test_repository_triggers(
        &self,
        ctx: &RequestContext,
        i: TestRepositoryTriggersInput,
    ) -> R<TestRepositoryTriggersOutput> {
        self.api_test_triggers(ctx, i).await
    }
    async fn put_comment_reaction(
        &self,
        ctx: &RequestContext,
        i: PutCommentReactionInput,
    ) -> R<()> {
        self.api_put_comment_reaction(ctx, i).await
    }
    async fn get_comment_reactions(
        &self,
        _: &RequestContext,
        i: GetCommentReactionsInput,
    ) -> R<GetCommentReactionsOutput> {
        self.api_get_comment_reactions(i).await
    }
    async fn describe_merge_conflicts(
        &self,
        _: &RequestContext,
        i: DescribeMergeConflictsInput,
    ) -> R<DescribeMergeConflictsOutput> {
        self.api_describe_merge_conflicts(i).await
    }
    async fn batch_describe_merge_conflicts(
        &self,
        _: &RequestContext,
        i: BatchDescribeMergeConflictsInput,
    ) -> R<BatchDescribeMergeConflictsOutput> {
        self.api_batch_describe_merge_conflicts(i).await
    }
}
