//! The third-party variants of the job-worker protocol, for actions of `ThirdParty` types
//! (registered with UpdateActionType, `action_types.rs`). Their jobs live with the custom
//! ones (`jobs.rs`) and move through the same states; what differs is the handshake.
//! PollForThirdPartyJobs answers only `{clientId, jobId}`; every later call names the job and
//! a client token, and Ferry pairs each job's client id with itself as its token (AWS pairs
//! them in a partner's own registry, which Ferry does not have): a worker echoes the
//! `clientId` it was handed as `clientToken`. The job's details then carry the same data a
//! custom job's do.

use ferry_model::codepipeline::*;
use ferry_store::pipeline_jobs::JobRow;
use ferry_wire::AwsError;
use sha2::{Digest, Sha256};
use std::result::Result;

use crate::jobs::{JobResult, type_key};
use crate::service::{PipelineService, now_ms};

/// The client id Ferry gives a job (derived from its id and nonce, so never stored).
fn client_id(row: &JobRow) -> String {
    let digest = Sha256::digest(format!("{}:{}", row.job_id, row.nonce));
    hex::encode(&digest[..16])
}

fn job_not_found(id: &str) -> AwsError {
    AwsError::new(
        "JobNotFoundException",
        format!("The job {id} was not found"),
    )
}

impl PipelineService {
    /// The job `id` when `client_token` is its client's.
    async fn third_party_job(&self, id: &str, client_token: &str) -> Result<JobRow, AwsError> {
        let row = self
            .store
            .job(id)
            .await
            .map_err(AwsError::internal)?
            .filter(|r| r.type_key.split('/').nth(1) == Some("ThirdParty"))
            .ok_or_else(|| job_not_found(id))?;
        if client_token != client_id(&row) {
            return Err(AwsError::new(
                "InvalidClientTokenException",
                "The client token was not valid",
            ));
        }
        Ok(row)
    }

    pub(crate) async fn poll_third_party_jobs(
        &self,
        input: PollForThirdPartyJobsInput,
    ) -> Result<PollForThirdPartyJobsOutput, AwsError> {
        if input.action_type_id.owner != ActionOwner::ThirdParty {
            return Err(AwsError::new(
                "ValidationException",
                "PollForThirdPartyJobs takes ThirdParty action types",
            ));
        }
        let key = type_key(&input.action_type_id);
        let known = self
            .store
            .action_types()
            .await
            .map_err(AwsError::internal)?;
        if !known.iter().any(|(k, _)| *k == key) {
            return Err(AwsError::new(
                "ActionTypeNotFoundException",
                format!("The action type {key} does not exist"),
            ));
        }
        let max = input.max_batch_size.unwrap_or(1).clamp(1, 100) as usize;
        let rows = self
            .store
            .dispatch_jobs(&key, max, now_ms())
            .await
            .map_err(AwsError::internal)?;
        Ok(PollForThirdPartyJobsOutput {
            jobs: Some(
                rows.iter()
                    .map(|r| ThirdPartyJob {
                        client_id: Some(client_id(r)),
                        job_id: Some(r.job_id.clone()),
                    })
                    .collect(),
            ),
        })
    }

    pub(crate) async fn third_party_job_details(
        &self,
        input: GetThirdPartyJobDetailsInput,
    ) -> Result<GetThirdPartyJobDetailsOutput, AwsError> {
        let row = self
            .third_party_job(&input.job_id, &input.client_token)
            .await?;
        // ThirdPartyJobData is JobData without the encryption key and output variables.
        let data: Option<ThirdPartyJobData> = serde_json::from_str(&row.document).ok();
        Ok(GetThirdPartyJobDetailsOutput {
            job_details: Some(ThirdPartyJobDetails {
                id: Some(row.job_id),
                data,
                nonce: Some(row.nonce),
            }),
        })
    }

    pub(crate) async fn acknowledge_third_party(
        &self,
        input: AcknowledgeThirdPartyJobInput,
    ) -> Result<AcknowledgeThirdPartyJobOutput, AwsError> {
        self.third_party_job(&input.job_id, &input.client_token)
            .await?;
        let out = self
            .acknowledge(AcknowledgeJobInput {
                job_id: input.job_id,
                nonce: input.nonce,
            })
            .await?;
        Ok(AcknowledgeThirdPartyJobOutput { status: out.status })
    }

    pub(crate) async fn put_third_party_success(
        &self,
        input: PutThirdPartyJobSuccessResultInput,
    ) -> Result<(), AwsError> {
        self.third_party_job(&input.job_id, &input.client_token)
            .await?;
        let details = input.execution_details.unwrap_or_default();
        let result = JobResult {
            summary: details.summary.or_else(|| {
                input
                    .current_revision
                    .as_ref()
                    .and_then(|r| r.revision_summary.clone())
            }),
            external_id: details.external_execution_id,
            continuation_token: input.continuation_token,
            revision: input
                .current_revision
                .as_ref()
                .map(|r| (r.revision.clone(), r.revision_summary.clone())),
            ..Default::default()
        };
        self.finish_job(&input.job_id, true, result).await
    }

    pub(crate) async fn put_third_party_failure(
        &self,
        input: PutThirdPartyJobFailureResultInput,
    ) -> Result<(), AwsError> {
        self.third_party_job(&input.job_id, &input.client_token)
            .await?;
        let f = input.failure_details;
        let result = JobResult {
            external_id: f.external_execution_id,
            failure_type: Some(f.r#type.as_str().to_owned()),
            message: Some(f.message),
            ..Default::default()
        };
        self.finish_job(&input.job_id, false, result).await
    }
}
