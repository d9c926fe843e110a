//! Custom action types and the job-worker protocol: CreateCustomActionType and
//! DeleteCustomActionType; PollForJobs hands out waiting jobs of a type (`Created` →
//! `Dispatched`), AcknowledgeJob with the job's nonce starts it (`InProgress`), GetJobDetails
//! shows it, and PutJobSuccessResult / PutJobFailureResult end it with the worker's result,
//! which the action waiting for it (`actions/custom.rs`) takes up.

use std::collections::BTreeMap;

use ferry_model::codepipeline::*;
use ferry_store::StoreError;
use ferry_wire::AwsError;
use serde::{Deserialize, Serialize};
use std::result::Result;

use crate::service::{PipelineService, now_ms};

/// The key of an action type: `Category/Owner/Provider/Version`.
pub fn type_key(t: &ActionTypeId) -> String {
    format!(
        "{}/{}/{}/{}",
        t.category.as_str(),
        t.owner.as_str(),
        t.provider,
        t.version
    )
}

/// What a worker reported, as stored with its job.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct JobResult {
    pub summary: Option<String>,
    pub external_id: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    pub continuation_token: Option<String>,
    pub failure_type: Option<String>,
    pub message: Option<String>,
    /// The source revision the worker reported (`currentRevision`).
    #[serde(default)]
    pub revision: Option<(String, Option<String>)>,
}

fn job_not_found(id: &str) -> AwsError {
    AwsError::new(
        "JobNotFoundException",
        format!("The job {id} was not found"),
    )
}

fn type_not_found(key: &str) -> AwsError {
    AwsError::new(
        "ActionTypeNotFoundException",
        format!("The action type {key} does not exist"),
    )
}

fn valid_part(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
}

impl PipelineService {
    /// Every custom action type.
    pub async fn custom_types(&self) -> Result<Vec<ActionType>, AwsError> {
        let rows = self
            .store
            .action_types()
            .await
            .map_err(AwsError::internal)?;
        Ok(rows
            .iter()
            .filter_map(|(_, d)| serde_json::from_str(d).ok())
            .collect())
    }

    pub(crate) async fn create_custom_type(
        &self,
        input: CreateCustomActionTypeInput,
    ) -> Result<CreateCustomActionTypeOutput, AwsError> {
        if !valid_part(&input.provider, 35) || !valid_part(&input.version, 9) {
            return Err(AwsError::new(
                "ValidationException",
                "The provider is 1 to 35 and the version 1 to 9 of A-Z a-z 0-9 _ -",
            ));
        }
        for d in [
            &input.input_artifact_details,
            &input.output_artifact_details,
        ] {
            if d.minimum_count < 0 || d.maximum_count > 5 || d.minimum_count > d.maximum_count {
                return Err(AwsError::new(
                    "ValidationException",
                    "Artifact counts are 0 to 5, minimum at most maximum",
                ));
            }
        }
        let action_type = ActionType {
            id: ActionTypeId {
                category: input.category,
                owner: ActionOwner::Custom,
                provider: input.provider,
                version: input.version,
            },
            settings: input.settings,
            action_configuration_properties: input.configuration_properties,
            input_artifact_details: input.input_artifact_details,
            output_artifact_details: input.output_artifact_details,
        };
        let key = type_key(&action_type.id);
        let doc = serde_json::to_string(&action_type).map_err(AwsError::internal)?;
        match self.store.create_action_type(&key, &doc, now_ms()).await {
            Ok(()) => Ok(CreateCustomActionTypeOutput {
                action_type,
                tags: input.tags,
            }),
            Err(StoreError::Conflict(_)) => Err(AwsError::new(
                "ValidationException",
                format!("The action type {key} already exists"),
            )),
            Err(e) => Err(AwsError::internal(e)),
        }
    }

    pub(crate) async fn delete_custom_type(
        &self,
        input: DeleteCustomActionTypeInput,
    ) -> Result<(), AwsError> {
        let key = type_key(&ActionTypeId {
            category: input.category,
            owner: ActionOwner::Custom,
            provider: input.provider,
            version: input.version,
        });
        match self.store.delete_action_type(&key).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(type_not_found(&key)),
            Err(e) => Err(AwsError::internal(e)),
        }
    }

    fn job_view(&self, row: &ferry_store::pipeline_jobs::JobRow) -> (Option<JobData>, String) {
        (
            serde_json::from_str(&row.document).ok(),
            self.settings.account_id.clone(),
        )
    }

    pub(crate) async fn poll_jobs(
        &self,
        input: PollForJobsInput,
    ) -> Result<PollForJobsOutput, AwsError> {
        let key = type_key(&input.action_type_id);
        let known = self
            .store
            .action_types()
            .await
            .map_err(AwsError::internal)?;
        if !known.iter().any(|(k, _)| *k == key) {
            return Err(type_not_found(&key));
        }
        let max = input.max_batch_size.unwrap_or(1).clamp(1, 100) as usize;
        let rows = self
            .store
            .dispatch_jobs(&key, max, now_ms())
            .await
            .map_err(AwsError::internal)?;
        Ok(PollForJobsOutput {
            jobs: Some(
                rows.iter()
                    .map(|r| {
                        let (data, account) = self.job_view(r);
                        Job {
                            id: Some(r.job_id.clone()),
                            data,
                            nonce: Some(r.nonce.clone()),
                            account_id: Some(account),
                        }
                    })
                    .collect(),
            ),
        })
    }

    pub(crate) async fn acknowledge(
        &self,
        input: AcknowledgeJobInput,
    ) -> Result<AcknowledgeJobOutput, AwsError> {
        let row = self
            .store
            .job(&input.job_id)
            .await
            .map_err(AwsError::internal)?
            .ok_or_else(|| job_not_found(&input.job_id))?;
        if row.nonce != input.nonce {
            return Err(AwsError::new(
                "InvalidNonceException",
                "The nonce does not match the job's",
            ));
        }
        self.store
            .move_job(
                &row.job_id,
                &["Dispatched", "Created"],
                "InProgress",
                None,
                now_ms(),
            )
            .await
            .map_err(AwsError::internal)?;
        let now = self
            .store
            .job(&row.job_id)
            .await
            .map_err(AwsError::internal)?
            .map_or(row.status, |r| r.status);
        Ok(AcknowledgeJobOutput {
            status: crate::views::wire(&now),
        })
    }

    pub(crate) async fn job_details(
        &self,
        input: GetJobDetailsInput,
    ) -> Result<GetJobDetailsOutput, AwsError> {
        let row = self
            .store
            .job(&input.job_id)
            .await
            .map_err(AwsError::internal)?
            .ok_or_else(|| job_not_found(&input.job_id))?;
        let (data, account) = self.job_view(&row);
        Ok(GetJobDetailsOutput {
            job_details: Some(JobDetails {
                id: Some(row.job_id),
                data,
                account_id: Some(account),
            }),
        })
    }

    /// Ends a job with the worker's result.
    pub(crate) async fn finish_job(
        &self,
        id: &str,
        succeeded: bool,
        result: JobResult,
    ) -> Result<(), AwsError> {
        self.store
            .job(id)
            .await
            .map_err(AwsError::internal)?
            .ok_or_else(|| job_not_found(id))?;
        let doc = serde_json::to_string(&result).map_err(AwsError::internal)?;
        let to = if succeeded { "Succeeded" } else { "Failed" };
        let moved = self
            .store
            .move_job(id, &["Dispatched", "InProgress"], to, Some(&doc), now_ms())
            .await
            .map_err(AwsError::internal)?;
        if !moved {
            return Err(AwsError::new(
                "InvalidJobStateException",
                format!("The job {id} is not in progress"),
            ));
        }
        let _ = self.jobs_done.send(id.to_owned());
        Ok(())
    }
}

/// The worker's success, as stored.
pub(crate) fn success(input: &PutJobSuccessResultInput) -> Result<JobResult, AwsError> {
    if input.continuation_token.is_some() && input.output_variables.is_some() {
        return Err(AwsError::new(
            "ValidationException",
            "Output variables can be given only with the last result, not with a continuation token",
        ));
    }
    let details = input.execution_details.clone().unwrap_or_default();
    Ok(JobResult {
        summary: details.summary,
        external_id: details.external_execution_id,
        variables: input.output_variables.clone().unwrap_or_default(),
        continuation_token: input.continuation_token.clone(),
        revision: input
            .current_revision
            .as_ref()
            .map(|r| (r.revision.clone(), r.revision_summary.clone())),
        ..Default::default()
    })
}

/// The worker's failure, as stored.
pub(crate) fn failure(input: &PutJobFailureResultInput) -> JobResult {
    JobResult {
        external_id: input.failure_details.external_execution_id.clone(),
        failure_type: Some(input.failure_details.r#type.as_str().to_owned()),
        message: Some(input.failure_details.message.clone()),
        ..Default::default()
    }
}
