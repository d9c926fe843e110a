//! The deployment specification an agent receives for a command (reference §4.8), built from
//! the deployment's document with the agent crate's own type, so both sides agree on it.

use ferry_agent::spec::{
    AgentActionOverrides, AgentOverrides, DeploymentSpec, Revision, S3Revision,
};
use ferry_model::codedeploy::{
    BundleType, DeploymentCreator, DeploymentInfo, DeploymentType, FileExistsBehavior,
};
use ferry_wire::AwsError;

use crate::service::{DeployService, Plan};

/// The specification of a deployment as JSON text, or `None` when it does not exist.
pub async fn for_deployment(svc: &DeployService, id: &str) -> Result<Option<String>, AwsError> {
    let Some(row) = svc.store.deployment(id).await.map_err(AwsError::internal)? else {
        return Ok(None);
    };
    let info: DeploymentInfo = serde_json::from_str(&row.document).map_err(AwsError::internal)?;
    let plan: Plan = serde_json::from_str(&row.settings).unwrap_or_default();
    let s3 = match info
        .revision
        .as_ref()
        .and_then(crate::codecommit::local_repository)
    {
        // A Ferry repository's commit: its tar bundle in Ferry's S3.
        Some((repo, commit)) => ferry_model::codedeploy::S3Location {
            bucket: Some(crate::codecommit::bucket(svc)),
            key: Some(crate::codecommit::key(repo, commit)),
            bundle_type: Some(BundleType::Tar),
            ..Default::default()
        },
        None => info
            .revision
            .as_ref()
            .and_then(|r| r.s3_location.clone())
            .unwrap_or_default(),
    };
    let bundle_type = match s3.bundle_type {
        Some(BundleType::Tar) => ferry_agent::bundle::BundleType::Tar,
        Some(BundleType::Tgz) => ferry_agent::bundle::BundleType::Tgz,
        _ => ferry_agent::bundle::BundleType::Zip,
    };
    let behaviour = match info.file_exists_behavior.or(plan.file_exists_behavior) {
        Some(FileExistsBehavior::Overwrite) => ferry_agent::appspec::FileExistsBehavior::Overwrite,
        Some(FileExistsBehavior::Retain) => ferry_agent::appspec::FileExistsBehavior::Retain,
        _ => ferry_agent::appspec::FileExistsBehavior::Disallow,
    };
    let spec = DeploymentSpec {
        deployment_id: id.to_owned(),
        deployment_group_id: plan.group_id.clone(),
        deployment_group_name: row.group_name.clone(),
        application_name: row.app_name.clone(),
        deployment_creator: match info.creator {
            Some(DeploymentCreator::CodeDeployRollback) => {
                ferry_agent::spec::ROLLBACK_CREATOR.to_owned()
            }
            _ => "user".to_owned(),
        },
        deployment_type: match info.deployment_style.and_then(|s| s.deployment_type) {
            Some(DeploymentType::BlueGreen) => ferry_agent::spec::DeploymentType::BlueGreen,
            _ => ferry_agent::spec::DeploymentType::InPlace,
        },
        app_spec_filename: None,
        agent_action_overrides: Some(AgentActionOverrides {
            agent_overrides: Some(AgentOverrides {
                file_exists_behavior: Some(behaviour),
            }),
        }),
        all_possible_lifecycle_events: None,
        revision: Revision {
            revision_type: "S3".into(),
            s3_revision: Some(S3Revision {
                bucket: s3.bucket.unwrap_or_default(),
                key: s3.key.unwrap_or_default(),
                bundle_type,
                version: s3.version,
                etag: s3.e_tag.map(|e| e.trim_matches('"').to_owned()),
            }),
        },
    };
    serde_json::to_string(&spec)
        .map(Some)
        .map_err(AwsError::internal)
}
