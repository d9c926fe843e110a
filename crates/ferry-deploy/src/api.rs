//! The CodeDeploy API over the deployment service. The trait implementation only routes;
//! the operations live in `apps.rs` (applications, groups, configurations, revisions, tags),
//! `deployments.rs` (deployments, targets, instance summaries) and `instances.rs`
//! (on-premises instances). Errors carry CodeDeploy's exception names; operations of the
//! Lambda and ECS platforms and GitHub answer `NotImplementedException`.

use std::sync::Arc;

use ferry_model::codedeploy::*;
use ferry_store::StoreError;
use ferry_wire::{AwsError, RequestContext};

use crate::service::DeployService;

/// The API face of the deployment service.
pub struct DeployApi(pub Arc<DeployService>);

/// An error with a CodeDeploy exception name.
pub(crate) fn err(code: &'static str, message: impl Into<String>) -> AwsError {
    AwsError::new(code, message)
}

/// A store failure as an internal error.
pub(crate) fn internal(e: StoreError) -> AwsError {
    AwsError::internal(e)
}

/// The page of `items` (already in order, each with its sort key) after `token`.
pub(crate) fn page<T>(
    items: Vec<(String, T)>,
    token: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    ferry_types::page::after_key(items, token, size)
        .ok_or_else(|| AwsError::new("InvalidNextTokenException", "The next token is not valid."))
}

/// Names of applications, groups and configurations: 1–100 of `[A-Za-z0-9.+=,@_-]`.
pub(crate) fn valid_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+=,@_-".contains(c))
}

impl CodeDeploy for DeployApi {
    async fn create_application(
        &self,
        _ctx: &RequestContext,
        input: CreateApplicationInput,
    ) -> Result<CreateApplicationOutput, AwsError> {
        self.create_application_op(input).await
    }
    async fn get_application(
        &self,
        _ctx: &RequestContext,
        input: GetApplicationInput,
    ) -> Result<GetApplicationOutput, AwsError> {
        Ok(GetApplicationOutput {
            application: Some(self.require_application(&input.application_name).await?),
        })
    }
    async fn batch_get_applications(
        &self,
        _ctx: &RequestContext,
        input: BatchGetApplicationsInput,
    ) -> Result<BatchGetApplicationsOutput, AwsError> {
        self.batch_get_applications_op(input).await
    }
    async fn update_application(
        &self,
        _ctx: &RequestContext,
        input: UpdateApplicationInput,
    ) -> Result<(), AwsError> {
        self.update_application_op(input).await
    }
    async fn delete_application(
        &self,
        _ctx: &RequestContext,
        input: DeleteApplicationInput,
    ) -> Result<(), AwsError> {
        self.delete_application_op(input).await
    }
    async fn list_applications(
        &self,
        _ctx: &RequestContext,
        input: ListApplicationsInput,
    ) -> Result<ListApplicationsOutput, AwsError> {
        self.list_applications_op(input).await
    }
    async fn create_deployment_group(
        &self,
        _ctx: &RequestContext,
        input: CreateDeploymentGroupInput,
    ) -> Result<CreateDeploymentGroupOutput, AwsError> {
        self.create_deployment_group_op(input).await
    }
    async fn get_deployment_group(
        &self,
        _ctx: &RequestContext,
        input: GetDeploymentGroupInput,
    ) -> Result<GetDeploymentGroupOutput, AwsError> {
        self.require_application(&input.application_name).await?;
        Ok(GetDeploymentGroupOutput {
            deployment_group_info: Some(
                self.require_group(&input.application_name, &input.deployment_group_name)
                    .await?,
            ),
        })
    }
    async fn batch_get_deployment_groups(
        &self,
        _ctx: &RequestContext,
        input: BatchGetDeploymentGroupsInput,
    ) -> Result<BatchGetDeploymentGroupsOutput, AwsError> {
        self.batch_get_deployment_groups_op(input).await
    }
    async fn update_deployment_group(
        &self,
        _ctx: &RequestContext,
        input: UpdateDeploymentGroupInput,
    ) -> Result<UpdateDeploymentGroupOutput, AwsError> {
        self.update_deployment_group_op(input).await
    }
    async fn delete_deployment_group(
        &self,
        _ctx: &RequestContext,
        input: DeleteDeploymentGroupInput,
    ) -> Result<DeleteDeploymentGroupOutput, AwsError> {
        self.delete_deployment_group_op(input).await
    }
    async fn list_deployment_groups(
        &self,
        _ctx: &RequestContext,
        input: ListDeploymentGroupsInput,
    ) -> Result<ListDeploymentGroupsOutput, AwsError> {
        self.list_deployment_groups_op(input).await
    }
    async fn create_deployment_config(
        &self,
        _ctx: &RequestContext,
        input: CreateDeploymentConfigInput,
    ) -> Result<CreateDeploymentConfigOutput, AwsError> {
        self.create_deployment_config_op(input).await
    }
    async fn get_deployment_config(
        &self,
        _ctx: &RequestContext,
        input: GetDeploymentConfigInput,
    ) -> Result<GetDeploymentConfigOutput, AwsError> {
        Ok(GetDeploymentConfigOutput {
            deployment_config_info: Some(self.require_config(&input.deployment_config_name).await?),
        })
    }
    async fn delete_deployment_config(
        &self,
        _ctx: &RequestContext,
        input: DeleteDeploymentConfigInput,
    ) -> Result<(), AwsError> {
        self.delete_deployment_config_op(input).await
    }
    async fn list_deployment_configs(
        &self,
        _ctx: &RequestContext,
        input: ListDeploymentConfigsInput,
    ) -> Result<ListDeploymentConfigsOutput, AwsError> {
        self.list_deployment_configs_op(input).await
    }
    async fn register_application_revision(
        &self,
        _ctx: &RequestContext,
        input: RegisterApplicationRevisionInput,
    ) -> Result<(), AwsError> {
        self.register_application_revision_op(input).await
    }
    async fn get_application_revision(
        &self,
        _ctx: &RequestContext,
        input: GetApplicationRevisionInput,
    ) -> Result<GetApplicationRevisionOutput, AwsError> {
        self.get_application_revision_op(input).await
    }
    async fn batch_get_application_revisions(
        &self,
        _ctx: &RequestContext,
        input: BatchGetApplicationRevisionsInput,
    ) -> Result<BatchGetApplicationRevisionsOutput, AwsError> {
        self.batch_get_application_revisions_op(input).await
    }
    async fn list_application_revisions(
        &self,
        _ctx: &RequestContext,
        input: ListApplicationRevisionsInput,
    ) -> Result<ListApplicationRevisionsOutput, AwsError> {
        self.list_application_revisions_op(input).await
    }
    async fn tag_resource(
        &self,
        _ctx: &RequestContext,
        input: TagResourceInput,
    ) -> Result<TagResourceOutput, AwsError> {
        self.tag_resource_op(input).await
    }
    async fn untag_resource(
        &self,
        _ctx: &RequestContext,
        input: UntagResourceInput,
    ) -> Result<UntagResourceOutput, AwsError> {
        self.untag_resource_op(input).await
    }
    async fn list_tags_for_resource(
        &self,
        _ctx: &RequestContext,
        input: ListTagsForResourceInput,
    ) -> Result<ListTagsForResourceOutput, AwsError> {
        self.list_tags_for_resource_op(input).await
    }
    async fn create_deployment(
        &self,
        ctx: &RequestContext,
        input: CreateDeploymentInput,
    ) -> Result<CreateDeploymentOutput, AwsError> {
        self.create_deployment_op(ctx, input).await
    }
    async fn get_deployment(
        &self,
        _ctx: &RequestContext,
        input: GetDeploymentInput,
    ) -> Result<GetDeploymentOutput, AwsError> {
        Ok(GetDeploymentOutput {
            deployment_info: Some(self.require_deployment(&input.deployment_id).await?.0),
        })
    }
    async fn batch_get_deployments(
        &self,
        _ctx: &RequestContext,
        input: BatchGetDeploymentsInput,
    ) -> Result<BatchGetDeploymentsOutput, AwsError> {
        self.batch_get_deployments_op(input).await
    }
    async fn list_deployments(
        &self,
        _ctx: &RequestContext,
        input: ListDeploymentsInput,
    ) -> Result<ListDeploymentsOutput, AwsError> {
        self.list_deployments_op(input).await
    }
    async fn stop_deployment(
        &self,
        _ctx: &RequestContext,
        input: StopDeploymentInput,
    ) -> Result<StopDeploymentOutput, AwsError> {
        self.stop_deployment_op(input).await
    }
    async fn continue_deployment(
        &self,
        _ctx: &RequestContext,
        input: ContinueDeploymentInput,
    ) -> Result<(), AwsError> {
        self.continue_deployment_op(input).await
    }
    async fn list_deployment_targets(
        &self,
        _ctx: &RequestContext,
        input: ListDeploymentTargetsInput,
    ) -> Result<ListDeploymentTargetsOutput, AwsError> {
        self.list_deployment_targets_op(input).await
    }
    async fn get_deployment_target(
        &self,
        _ctx: &RequestContext,
        input: GetDeploymentTargetInput,
    ) -> Result<GetDeploymentTargetOutput, AwsError> {
        let mut got = self
            .targets_of(&input.deployment_id, std::slice::from_ref(&input.target_id))
            .await?;
        Ok(GetDeploymentTargetOutput {
            deployment_target: got.pop(),
        })
    }
    async fn batch_get_deployment_targets(
        &self,
        _ctx: &RequestContext,
        input: BatchGetDeploymentTargetsInput,
    ) -> Result<BatchGetDeploymentTargetsOutput, AwsError> {
        if input.target_ids.len() > 25 {
            return Err(err(
                "DeploymentTargetListSizeExceededException",
                "The maximum number of targets that can be associated with an Amazon ECS or AWS Lambda deployment was exceeded. The target list of both types of deployments must have exactly one item. This exception does not apply to EC2/On-premises deployments.",
            ));
        }
        Ok(BatchGetDeploymentTargetsOutput {
            deployment_targets: Some(
                self.targets_of(&input.deployment_id, &input.target_ids)
                    .await?,
            ),
        })
    }
    async fn list_deployment_instances(
        &self,
        _ctx: &RequestContext,
        input: ListDeploymentInstancesInput,
    ) -> Result<ListDeploymentInstancesOutput, AwsError> {
        self.list_deployment_instances_op(input).await
    }
    async fn get_deployment_instance(
        &self,
        _ctx: &RequestContext,
        input: GetDeploymentInstanceInput,
    ) -> Result<GetDeploymentInstanceOutput, AwsError> {
        let mut got = self
            .summaries_of(
                &input.deployment_id,
                std::slice::from_ref(&input.instance_id),
            )
            .await?;
        Ok(GetDeploymentInstanceOutput {
            instance_summary: got.pop(),
        })
    }
    async fn batch_get_deployment_instances(
        &self,
        _ctx: &RequestContext,
        input: BatchGetDeploymentInstancesInput,
    ) -> Result<BatchGetDeploymentInstancesOutput, AwsError> {
        if input.instance_ids.len() > 100 {
            return Err(err(
                "BatchLimitExceededException",
                "The maximum number of names or IDs allowed for this request (100) was exceeded.",
            ));
        }
        Ok(BatchGetDeploymentInstancesOutput {
            instances_summary: Some(
                self.summaries_of(&input.deployment_id, &input.instance_ids)
                    .await?,
            ),
            error_message: None,
        })
    }
    async fn register_on_premises_instance(
        &self,
        _ctx: &RequestContext,
        input: RegisterOnPremisesInstanceInput,
    ) -> Result<(), AwsError> {
        self.register_instance_op(input).await
    }
    async fn deregister_on_premises_instance(
        &self,
        _ctx: &RequestContext,
        input: DeregisterOnPremisesInstanceInput,
    ) -> Result<(), AwsError> {
        self.deregister_instance_op(input).await
    }
    async fn get_on_premises_instance(
        &self,
        _ctx: &RequestContext,
        input: GetOnPremisesInstanceInput,
    ) -> Result<GetOnPremisesInstanceOutput, AwsError> {
        Ok(GetOnPremisesInstanceOutput {
            instance_info: Some(self.require_instance(&input.instance_name).await?),
        })
    }
    async fn batch_get_on_premises_instances(
        &self,
        _ctx: &RequestContext,
        input: BatchGetOnPremisesInstancesInput,
    ) -> Result<BatchGetOnPremisesInstancesOutput, AwsError> {
        self.batch_get_instances_op(input).await
    }
    async fn list_on_premises_instances(
        &self,
        _ctx: &RequestContext,
        input: ListOnPremisesInstancesInput,
    ) -> Result<ListOnPremisesInstancesOutput, AwsError> {
        self.list_instances_op(input).await
    }
    async fn add_tags_to_on_premises_instances(
        &self,
        _ctx: &RequestContext,
        input: AddTagsToOnPremisesInstancesInput,
    ) -> Result<(), AwsError> {
        self.retag_instances(&input.instance_names, &input.tags, true)
            .await
    }
    async fn remove_tags_from_on_premises_instances(
        &self,
        _ctx: &RequestContext,
        input: RemoveTagsFromOnPremisesInstancesInput,
    ) -> Result<(), AwsError> {
        self.retag_instances(&input.instance_names, &input.tags, false)
            .await
    }
}
