//! Projects Ferry keeps for its other services rather than for users: CodePipeline's Commands
//! action runs its commands as builds of a project named `codepipeline/<pipeline>`. The `/`
//! keeps such names apart from every name CreateProject accepts; ListProjects and ListBuilds
//! leave them out (AWS runs those builds on compute it manages), while BatchGetBuilds and
//! the logs still show them.

use ferry_model::codebuild::{
    ArtifactsType, CloudWatchLogsConfig, ComputeType, EnvironmentType, LogsConfig,
    LogsConfigStatusType, Project, ProjectArtifacts, ProjectEnvironment, ProjectSource, SourceType,
};
use ferry_store::StoreError;
use ferry_store::builds::ProjectRow;
use ferry_wire::AwsError;

use crate::api::{BuildApi, internal};
use crate::service::now;

/// The image a managed project's builds name (the executor decides what it means).
const IMAGE: &str = "aws/codebuild/amazonlinux2-x86_64-standard:5.0";

/// Whether a project name (or the project part of a build id) is a managed project's.
pub fn is_managed(name: &str) -> bool {
    name.contains('/')
}

impl BuildApi {
    /// Creates the managed project `name` unless it exists: no source of its own, no
    /// artifacts, logs to `log_group`, builds time out after `timeout_minutes`.
    pub async fn ensure_managed_project(
        &self,
        name: &str,
        log_group: &str,
        timeout_minutes: i32,
    ) -> Result<(), AwsError> {
        debug_assert!(is_managed(name));
        let s = &self.0.settings;
        let arn = format!(
            "arn:aws:codebuild:{}:{}:project/{name}",
            s.region, s.account_id
        );
        let project = Project {
            name: Some(name.to_owned()),
            arn: Some(arn.clone()),
            source: Some(ProjectSource {
                r#type: SourceType::NoSource,
                ..ProjectSource::default()
            }),
            artifacts: Some(ProjectArtifacts {
                r#type: ArtifactsType::NoArtifacts,
                ..ProjectArtifacts::default()
            }),
            environment: Some(ProjectEnvironment {
                r#type: EnvironmentType::LinuxContainer,
                image: IMAGE.to_owned(),
                compute_type: ComputeType::BuildGeneral1Small,
                ..ProjectEnvironment::default()
            }),
            service_role: Some(format!(
                "arn:aws:iam::{}:role/service-role/ferry-managed-builds",
                s.account_id
            )),
            timeout_in_minutes: Some(timeout_minutes),
            queued_timeout_in_minutes: Some(480),
            logs_config: Some(LogsConfig {
                cloud_watch_logs: Some(CloudWatchLogsConfig {
                    status: LogsConfigStatusType::Enabled,
                    group_name: Some(log_group.to_owned()),
                    ..CloudWatchLogsConfig::default()
                }),
                s3_logs: None,
            }),
            ..Project::default()
        };
        let ms = now().millis();
        let row = ProjectRow {
            name: name.to_owned(),
            arn,
            definition: serde_json::to_string(&project).map_err(AwsError::internal)?,
            build_counter: 0,
            created_ms: ms,
            modified_ms: ms,
        };
        match self.0.store.create_project(&row).await {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(internal(e)),
        }
    }
}
