//! The smaller CodeBuild operations: resource policies on projects and report groups, source
//! credentials (tokens sealed at rest), the curated image list, project visibility, and the
//! shared-resource listings (one account owns everything here, so nothing is shared with it).

use ferry_model::codebuild::*;
use ferry_store::StoreError;
use ferry_store::builds::SourceCredentialRow;
use ferry_wire::AwsError;

use crate::api::{BuildApi, internal, invalid, not_found};
use crate::service::now;

fn enum_name<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Whether a project or report group with this ARN exists.
async fn resource_exists(api: &BuildApi, arn: &str) -> Result<bool, AwsError> {
    if let Some((_, name)) = arn.rsplit_once(":project/") {
        return Ok(api.0.store.project(name).await.map_err(internal)?.is_some());
    }
    if arn.contains(":report-group/") {
        return Ok(api
            .0
            .store
            .report_group(arn)
            .await
            .map_err(internal)?
            .is_some());
    }
    Ok(false)
}

pub async fn put_resource_policy(
    api: &BuildApi,
    i: PutResourcePolicyInput,
) -> Result<PutResourcePolicyOutput, AwsError> {
    if serde_json::from_str::<serde_json::Value>(&i.policy).is_err() {
        return Err(invalid("Policy is not valid JSON"));
    }
    if !resource_exists(api, &i.resource_arn).await? {
        return Err(not_found(format!(
            "Resource {} does not exist",
            i.resource_arn
        )));
    }
    api.0
        .store
        .put_resource_policy(&i.resource_arn, &i.policy)
        .await
        .map_err(internal)?;
    Ok(PutResourcePolicyOutput {
        resource_arn: Some(i.resource_arn),
    })
}

pub async fn get_resource_policy(
    api: &BuildApi,
    i: GetResourcePolicyInput,
) -> Result<GetResourcePolicyOutput, AwsError> {
    let policy = api
        .0
        .store
        .resource_policy(&i.resource_arn)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            not_found(format!(
                "Resource policy for {} does not exist",
                i.resource_arn
            ))
        })?;
    Ok(GetResourcePolicyOutput {
        policy: Some(policy),
    })
}

pub async fn delete_resource_policy(
    api: &BuildApi,
    i: DeleteResourcePolicyInput,
) -> Result<DeleteResourcePolicyOutput, AwsError> {
    api.0
        .store
        .delete_resource_policy(&i.resource_arn)
        .await
        .map_err(internal)?;
    Ok(DeleteResourcePolicyOutput::default())
}

pub async fn import_source_credentials(
    api: &BuildApi,
    i: ImportSourceCredentialsInput,
) -> Result<ImportSourceCredentialsOutput, AwsError> {
    if i.token.is_empty() {
        return Err(invalid("Token cannot be empty"));
    }
    let server = enum_name(i.server_type);
    let auth = enum_name(i.auth_type);
    if i.auth_type == AuthType::BasicAuth && i.username.as_deref().is_none_or(str::is_empty) {
        return Err(invalid("Username is required for BASIC_AUTH"));
    }
    let s = &api.0.settings;
    let arn = format!(
        "arn:aws:codebuild:{}:{}:token/{}",
        s.region,
        s.account_id,
        server.to_ascii_lowercase()
    );
    let row = SourceCredentialRow {
        server_type: &server,
        arn: &arn,
        auth_type: &auth,
        username: i.username.as_deref(),
        token: &i.token,
    };
    match api
        .0
        .store
        .put_source_credentials(&row, i.should_overwrite.unwrap_or(true), now().millis())
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(AwsError::new(
                "ResourceAlreadyExistsException",
                format!("Access token with server type {server} already exists"),
            ));
        }
        Err(e) => return Err(internal(e)),
    }
    Ok(ImportSourceCredentialsOutput { arn: Some(arn) })
}

pub async fn list_source_credentials(
    api: &BuildApi,
) -> Result<ListSourceCredentialsOutput, AwsError> {
    let rows = api.0.store.source_credentials().await.map_err(internal)?;
    Ok(ListSourceCredentialsOutput {
        source_credentials_infos: Some(
            rows.into_iter()
                .map(|(arn, server, auth)| SourceCredentialsInfo {
                    arn: Some(arn),
                    server_type: serde_json::from_value(serde_json::Value::String(server)).ok(),
                    auth_type: serde_json::from_value(serde_json::Value::String(auth)).ok(),
                    ..SourceCredentialsInfo::default()
                })
                .collect(),
        ),
    })
}

pub async fn delete_source_credentials(
    api: &BuildApi,
    i: DeleteSourceCredentialsInput,
) -> Result<DeleteSourceCredentialsOutput, AwsError> {
    if !api
        .0
        .store
        .delete_source_credentials(&i.arn)
        .await
        .map_err(internal)?
    {
        return Err(not_found(format!(
            "Source credentials {} do not exist",
            i.arn
        )));
    }
    Ok(DeleteSourceCredentialsOutput { arn: Some(i.arn) })
}

/// The images Ferry's executors understand by name (the local executor runs every build on
/// the server's own tools, whatever the image).
pub fn list_curated_environment_images() -> ListCuratedEnvironmentImagesOutput {
    let image = |name: &str, description: &str| EnvironmentImage {
        name: Some(name.to_owned()),
        description: Some(description.to_owned()),
        versions: Some(vec![format!("{name}:latest")]),
    };
    ListCuratedEnvironmentImagesOutput {
        platforms: Some(vec![
            EnvironmentPlatform {
                platform: Some(PlatformType::Ubuntu),
                languages: Some(vec![EnvironmentLanguage {
                    language: Some(LanguageType::Base),
                    images: Some(vec![
                        image("aws/codebuild/standard:7.0", "Ubuntu 22.04 (standard 7.0)"),
                        image("aws/codebuild/standard:6.0", "Ubuntu 22.04 (standard 6.0)"),
                        image("aws/codebuild/standard:5.0", "Ubuntu 20.04 (standard 5.0)"),
                    ]),
                }]),
            },
            EnvironmentPlatform {
                platform: Some(PlatformType::AmazonLinux),
                languages: Some(vec![EnvironmentLanguage {
                    language: Some(LanguageType::Base),
                    images: Some(vec![image(
                        "aws/codebuild/amazonlinux2-x86_64-standard:5.0",
                        "Amazon Linux 2023 (standard 5.0)",
                    )]),
                }]),
            },
        ]),
    }
}

pub async fn update_project_visibility(
    api: &BuildApi,
    i: UpdateProjectVisibilityInput,
) -> Result<UpdateProjectVisibilityOutput, AwsError> {
    let name = i
        .project_arn
        .rsplit_once(":project/")
        .map_or(i.project_arn.as_str(), |(_, n)| n)
        .to_owned();
    let row = api
        .0
        .store
        .project(&name)
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found(format!("Project cannot be found: {}", i.project_arn)))?;
    let mut p: Project = serde_json::from_str(&row.definition).map_err(AwsError::internal)?;
    p.project_visibility = Some(i.project_visibility);
    if i.project_visibility == ProjectVisibilityType::PublicRead {
        p.public_project_alias
            .get_or_insert_with(|| uuid::Uuid::new_v4().simple().to_string());
        p.resource_access_role = i.resource_access_role.clone().or(p.resource_access_role);
    }
    let doc = serde_json::to_string(&p).map_err(AwsError::internal)?;
    api.0
        .store
        .update_project(&name, &doc, now().millis())
        .await
        .map_err(internal)?;
    Ok(UpdateProjectVisibilityOutput {
        project_arn: Some(row.arn),
        public_project_alias: p.public_project_alias,
        project_visibility: p.project_visibility,
    })
}
