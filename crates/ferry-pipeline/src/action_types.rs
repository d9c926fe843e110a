//! GetActionType and UpdateActionType: an action type as an `ActionTypeDeclaration` (executor,
//! properties, artifact counts, URLs). AWS-owned types are the ones Ferry runs and cannot be
//! changed; custom types are those created with CreateCustomActionType (and are not changed
//! here: the model admits only AWS and ThirdParty owners to UpdateActionType); third-party types are
//! registered by UpdateActionType itself — on AWS a provider registers through a support
//! process, which a self-hosted Ferry has no place for, so an UpdateActionType of a
//! `ThirdParty` type that does not exist creates it (a Ferry extension). Only job-worker
//! executors run here. Types are stored as ListActionTypes' `ActionType` with the declaration
//! kept beside it (`ferryDeclaration`), so both views come from one document.

use ferry_model::codepipeline::*;
use ferry_wire::AwsError;
use serde_json::Value;
use std::result::Result;

use crate::jobs::type_key;
use crate::service::{PipelineService, now_ms};

/// The field of a stored type that holds its declaration.
const DECLARATION: &str = "ferryDeclaration";

fn owner_of(s: &str) -> Option<ActionOwner> {
    match s {
        "AWS" => Some(ActionOwner::Aws),
        "ThirdParty" => Some(ActionOwner::ThirdParty),
        "Custom" => Some(ActionOwner::Custom),
        _ => None,
    }
}

fn not_found(key: &str) -> AwsError {
    AwsError::new(
        "ActionTypeNotFoundException",
        format!("The action type {key} does not exist"),
    )
}

/// The declaration view of a type that has none stored.
fn declaration_of(t: &ActionType) -> ActionTypeDeclaration {
    let settings = t.settings.clone().unwrap_or_default();
    ActionTypeDeclaration {
        description: None,
        executor: ActionTypeExecutor {
            configuration: ExecutorConfiguration {
                lambda_executor_configuration: None,
                job_worker_executor_configuration: Some(JobWorkerExecutorConfiguration::default()),
            },
            r#type: ExecutorType::JobWorker,
            ..Default::default()
        },
        id: ActionTypeIdentifier {
            category: t.id.category,
            owner: t.id.owner.as_str().to_owned(),
            provider: t.id.provider.clone(),
            version: t.id.version.clone(),
        },
        input_artifact_details: ActionTypeArtifactDetails {
            minimum_count: t.input_artifact_details.minimum_count,
            maximum_count: t.input_artifact_details.maximum_count,
        },
        output_artifact_details: ActionTypeArtifactDetails {
            minimum_count: t.output_artifact_details.minimum_count,
            maximum_count: t.output_artifact_details.maximum_count,
        },
        permissions: None,
        properties: Some(
            t.action_configuration_properties
                .iter()
                .flatten()
                .map(|p| ActionTypeProperty {
                    name: p.name.clone(),
                    optional: !p.required,
                    key: p.key,
                    no_echo: p.secret,
                    queryable: p.queryable,
                    description: p.description.clone(),
                })
                .collect(),
        ),
        urls: Some(ActionTypeUrls {
            configuration_url: settings.third_party_configuration_url,
            entity_url_template: settings.entity_url_template,
            execution_url_template: settings.execution_url_template,
            revision_url_template: settings.revision_url_template,
        }),
    }
}

/// The ListActionTypes view of a declaration.
fn action_type_of(d: &ActionTypeDeclaration, owner: ActionOwner) -> ActionType {
    let urls = d.urls.clone().unwrap_or_default();
    ActionType {
        id: ActionTypeId {
            category: d.id.category,
            owner,
            provider: d.id.provider.clone(),
            version: d.id.version.clone(),
        },
        settings: Some(ActionTypeSettings {
            third_party_configuration_url: urls.configuration_url,
            entity_url_template: urls.entity_url_template,
            execution_url_template: urls.execution_url_template,
            revision_url_template: urls.revision_url_template,
        }),
        action_configuration_properties: Some(
            d.properties
                .iter()
                .flatten()
                .map(|p| ActionConfigurationProperty {
                    name: p.name.clone(),
                    required: !p.optional,
                    key: p.key,
                    secret: p.no_echo,
                    queryable: p.queryable,
                    description: p.description.clone(),
                    r#type: None,
                })
                .collect(),
        ),
        input_artifact_details: ArtifactDetails {
            minimum_count: d.input_artifact_details.minimum_count,
            maximum_count: d.input_artifact_details.maximum_count,
        },
        output_artifact_details: ArtifactDetails {
            minimum_count: d.output_artifact_details.minimum_count,
            maximum_count: d.output_artifact_details.maximum_count,
        },
    }
}

/// The checks UpdateActionType makes of a declaration.
fn check(d: &ActionTypeDeclaration) -> Result<ActionOwner, AwsError> {
    let invalid = |m: String| AwsError::new("ValidationException", m);
    let owner = owner_of(&d.id.owner).ok_or_else(|| {
        invalid(format!(
            "The owner {:?} is not AWS, ThirdParty or Custom",
            d.id.owner
        ))
    })?;
    if owner == ActionOwner::Aws {
        return Err(AwsError::new(
            "AccessDeniedException",
            "AWS-owned action types cannot be changed",
        ));
    }
    // The model allows only AWS and ThirdParty here; custom types change by being recreated.
    if owner == ActionOwner::Custom {
        return Err(invalid(
            "UpdateActionType takes AWS or ThirdParty action types".into(),
        ));
    }
    let part = |s: &str, max: usize| {
        (1..=max).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    };
    if !part(&d.id.provider, 35) || !part(&d.id.version, 9) {
        return Err(invalid(
            "The provider is 1 to 35 and the version 1 to 9 of A-Z a-z 0-9 _ -".into(),
        ));
    }
    if d.executor.r#type != ExecutorType::JobWorker {
        return Err(invalid(
            "Ferry runs job-worker action types only (executor type JobWorker)".into(),
        ));
    }
    for a in [&d.input_artifact_details, &d.output_artifact_details] {
        if a.minimum_count < 0 || a.maximum_count > 10 || a.minimum_count > a.maximum_count {
            return Err(invalid(
                "Artifact counts are 0 to 10, minimum at most maximum".into(),
            ));
        }
    }
    let props = d.properties.as_deref().unwrap_or_default();
    if props.len() > 10 {
        return Err(invalid("An action type has at most 10 properties".into()));
    }
    Ok(owner)
}

impl PipelineService {
    /// GetActionType.
    pub(crate) async fn get_action_type(
        &self,
        input: GetActionTypeInput,
    ) -> Result<GetActionTypeOutput, AwsError> {
        let id = ActionTypeId {
            category: input.category,
            owner: owner_of(&input.owner).ok_or_else(|| {
                AwsError::new(
                    "ValidationException",
                    format!("Unknown owner {:?}", input.owner),
                )
            })?,
            provider: input.provider,
            version: input.version,
        };
        let key = type_key(&id);
        if id.owner == ActionOwner::Aws {
            let t = crate::actions::action_types()
                .into_iter()
                .find(|t| t.id == id)
                .ok_or_else(|| not_found(&key))?;
            return Ok(GetActionTypeOutput {
                action_type: Some(declaration_of(&t)),
            });
        }
        let rows = self
            .store
            .action_types()
            .await
            .map_err(AwsError::internal)?;
        let doc = rows
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, d)| d)
            .ok_or_else(|| not_found(&key))?;
        let value: Value = serde_json::from_str(&doc).map_err(AwsError::internal)?;
        let declaration = match value.get(DECLARATION) {
            Some(d) => serde_json::from_value(d.clone()).map_err(AwsError::internal)?,
            None => declaration_of(&serde_json::from_value(value).map_err(AwsError::internal)?),
        };
        Ok(GetActionTypeOutput {
            action_type: Some(declaration),
        })
    }

    /// UpdateActionType (creating third-party types; see the module's note).
    pub(crate) async fn update_action_type(
        &self,
        input: UpdateActionTypeInput,
    ) -> Result<(), AwsError> {
        let d = input.action_type;
        let owner = check(&d)?;
        let t = action_type_of(&d, owner);
        let key = type_key(&t.id);
        let mut doc = serde_json::to_value(&t).map_err(AwsError::internal)?;
        doc[DECLARATION] = serde_json::to_value(&d).map_err(AwsError::internal)?;
        self.store
            .put_action_type(&key, &doc.to_string(), now_ms())
            .await
            .map_err(AwsError::internal)
    }
}
