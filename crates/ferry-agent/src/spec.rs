//! The deployment specification the command plane hands the agent for each command (reference
//! §4.8): the JSON fields the agent reads, and the facts derived from them (hook environment,
//! bundle type, file-exists override).

use crate::appspec::FileExistsBehavior;
use crate::bundle::BundleType;
use crate::hooks::{HookEnv, S3BundleEnv};
use serde::{Deserialize, Deserializer, Serialize};

/// `DeploymentCreator` of the deployments CodeDeploy creates to roll back.
pub const ROLLBACK_CREATOR: &str = "codeDeployRollback";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentSpec {
    /// The deployment id (`d-...`); an ARN is reduced to the part after `deployment/`.
    #[serde(deserialize_with = "deployment_id")]
    pub deployment_id: String,
    pub deployment_group_id: String,
    pub deployment_group_name: String,
    pub application_name: String,
    #[serde(default = "default_creator")]
    pub deployment_creator: String,
    #[serde(default)]
    pub deployment_type: DeploymentType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_spec_filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_action_overrides: Option<AgentActionOverrides>,
    /// Event names the appspec may use besides the standard ones (custom events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_possible_lifecycle_events: Option<Vec<String>>,
    pub revision: Revision,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentType {
    #[default]
    InPlace,
    BlueGreen,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AgentActionOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_overrides: Option<AgentOverrides>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AgentOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_exists_behavior: Option<FileExistsBehavior>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Revision {
    /// `S3`, `GitHub`, `Local File` or `Local Directory`; this agent downloads S3 revisions.
    pub revision_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_revision: Option<S3Revision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3Revision {
    pub bucket: String,
    pub key: String,
    pub bundle_type: BundleType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(rename = "ETag", default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

fn default_creator() -> String {
    "user".to_owned()
}

fn deployment_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    Ok(match id.rsplit_once("deployment/") {
        Some((_, short)) => short.to_owned(),
        None => id,
    })
}

impl DeploymentSpec {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// A rollback of a blue/green deployment, which maps traffic hooks to other revisions.
    pub fn is_blue_green_rollback(&self) -> bool {
        self.deployment_creator == ROLLBACK_CREATOR
            && self.deployment_type == DeploymentType::BlueGreen
    }

    /// The appspec's name inside the bundle.
    pub fn appspec_filename(&self) -> &str {
        self.app_spec_filename
            .as_deref()
            .filter(|name| !name.is_empty())
            .unwrap_or("appspec.yml")
    }

    pub fn custom_events(&self) -> &[String] {
        self.all_possible_lifecycle_events.as_deref().unwrap_or(&[])
    }

    /// The behaviour asked for with the deployment (the appspec's own one wins over it).
    pub fn file_exists_behavior(&self) -> Option<FileExistsBehavior> {
        self.agent_action_overrides
            .as_ref()?
            .agent_overrides
            .as_ref()?
            .file_exists_behavior
    }

    pub fn bundle_type(&self) -> Option<BundleType> {
        self.revision.s3_revision.as_ref().map(|s3| s3.bundle_type)
    }

    /// The variables hook scripts get.
    pub fn hook_env(&self) -> HookEnv {
        HookEnv {
            deployment_id: self.deployment_id.clone(),
            application_name: self.application_name.clone(),
            deployment_group_name: self.deployment_group_name.clone(),
            deployment_group_id: self.deployment_group_id.clone(),
            bundle: self.revision.s3_revision.as_ref().map(|s3| S3BundleEnv {
                bucket: s3.bucket.clone(),
                key: s3.key.clone(),
                version: s3.version.clone(),
                etag: s3.etag.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_agent_fields() {
        let spec = DeploymentSpec::from_json(
            r#"{
              "DeploymentId": "arn:aws:codedeploy:us-east-1:123456789012:deployment/d-ABCDEFGHI",
              "DeploymentGroupId": "0b8ad4b2-0000-4000-8000-000000000000",
              "DeploymentGroupName": "web",
              "ApplicationName": "shop",
              "DeploymentCreator": "codeDeployRollback",
              "DeploymentType": "BLUE_GREEN",
              "AppSpecFilename": "deploy/appspec.yml",
              "AgentActionOverrides": {"AgentOverrides": {"FileExistsBehavior": "OVERWRITE"}},
              "AllPossibleLifecycleEvents": ["BeforeInstall", "Warmup"],
              "Revision": {
                "RevisionType": "S3",
                "S3Revision": {"Bucket": "b", "Key": "k.tgz", "BundleType": "tgz", "ETag": "e"}
              },
              "GitHubAccessToken": "ignored"
            }"#,
        )
        .unwrap();
        assert_eq!(spec.deployment_id, "d-ABCDEFGHI");
        assert!(spec.is_blue_green_rollback());
        assert_eq!(spec.appspec_filename(), "deploy/appspec.yml");
        assert_eq!(spec.custom_events(), ["BeforeInstall", "Warmup"]);
        assert_eq!(
            spec.file_exists_behavior(),
            Some(FileExistsBehavior::Overwrite)
        );
        assert_eq!(spec.bundle_type(), Some(BundleType::Tgz));
        let env = spec.hook_env();
        assert_eq!(env.deployment_id, "d-ABCDEFGHI");
        let bundle = env.bundle.unwrap();
        assert_eq!((bundle.version, bundle.etag), (None, Some("e".into())));
    }

    #[test]
    fn defaults_for_the_optional_fields() {
        let spec = DeploymentSpec::from_json(
            r#"{"DeploymentId": "d-1", "DeploymentGroupId": "g", "DeploymentGroupName": "n",
                "ApplicationName": "a", "Revision": {"RevisionType": "GitHub"}}"#,
        )
        .unwrap();
        assert_eq!(spec.deployment_creator, "user");
        assert_eq!(spec.deployment_type, DeploymentType::InPlace);
        assert!(!spec.is_blue_green_rollback());
        assert_eq!(spec.appspec_filename(), "appspec.yml");
        assert!(spec.custom_events().is_empty());
        assert_eq!(spec.file_exists_behavior(), None);
        assert_eq!(spec.bundle_type(), None);
        assert_eq!(spec.hook_env().bundle, None);
        let again = DeploymentSpec::from_json(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(again, spec);
    }
}
