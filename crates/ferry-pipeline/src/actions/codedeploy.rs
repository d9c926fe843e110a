//! The CodeDeploy deploy action: a deployment of the input artifact (a zip with `appspec.yml`
//! at its root, straight from the artifact store) to `ApplicationName` /
//! `DeploymentGroupName`; the action ends as the deployment does.

use ferry_model::codedeploy::{
    BundleType, CodeDeploy, CreateDeploymentInput, DeploymentStatus, GetDeploymentInput,
    RevisionLocation, RevisionLocationType, S3Location,
};

use super::{ActionJob, ActionResult};

pub(super) async fn run(job: &ActionJob) -> ActionResult {
    let api = &job.svc.deploys;
    let ctx = job.context();
    let mut ended = api.0.subscribe_finished();
    let deployment_id = match &job.external_id {
        Some(id) => id.clone(),
        None => {
            let Some((_, loc)) = job.inputs.first() else {
                return ActionResult::failed(
                    "JobFailed",
                    "The CodeDeploy action has no input artifact",
                );
            };
            let input = CreateDeploymentInput {
                application_name: job
                    .config
                    .get("ApplicationName")
                    .cloned()
                    .unwrap_or_default(),
                deployment_group_name: job.config.get("DeploymentGroupName").cloned(),
                revision: Some(RevisionLocation {
                    revision_type: Some(RevisionLocationType::S3),
                    s3_location: Some(S3Location {
                        bucket: Some(loc.bucket.clone()),
                        key: Some(loc.key.clone()),
                        bundle_type: Some(BundleType::Zip),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                description: Some(format!(
                    "Deployed by CodePipeline {} execution {}",
                    job.pipeline, job.execution_id
                )),
                ..Default::default()
            };
            match api.create_deployment(&ctx, input).await {
                Ok(out) => {
                    let id = out.deployment_id.unwrap_or_default();
                    job.started(&id, None).await;
                    id
                }
                Err(e) => {
                    return ActionResult::failed(
                        "JobFailed",
                        format!("CreateDeployment: {}", e.message),
                    );
                }
            }
        }
    };
    loop {
        let info = match api
            .get_deployment(
                &ctx,
                GetDeploymentInput {
                    deployment_id: deployment_id.clone(),
                },
            )
            .await
        {
            Ok(out) => out.deployment_info.unwrap_or_default(),
            Err(e) => return ActionResult::failed("JobFailed", e.message),
        };
        let status = info.status.unwrap_or_default();
        match status {
            DeploymentStatus::Succeeded => {
                return ActionResult {
                    succeeded: true,
                    external_id: Some(deployment_id.clone()),
                    summary: Some(format!("Deployment {deployment_id} succeeded")),
                    ..Default::default()
                };
            }
            DeploymentStatus::Failed | DeploymentStatus::Stopped => {
                let why = info
                    .error_information
                    .and_then(|e| e.message)
                    .unwrap_or_else(|| format!("Deployment {deployment_id} {}", status.as_str()));
                let mut r = ActionResult::failed("JobFailed", why);
                r.external_id = Some(deployment_id.clone());
                return r;
            }
            _ => {
                if !job.pause_until(&mut ended).await {
                    return ActionResult::interrupted();
                }
            }
        }
    }
}
