//! PutActionRevision: a source (a custom source's job worker, typically) tells the pipeline
//! that one of its source actions has a revision. When that revision differs from the one the
//! pipeline's latest execution took for the action, an execution starts from it (trigger
//! `PutActionRevision`); otherwise nothing happens and `newRevision` is false.

use std::collections::BTreeMap;

use ferry_model::codepipeline::*;
use ferry_wire::AwsError;
use std::result::Result;

use crate::service::PipelineService;

impl PipelineService {
    pub(crate) async fn put_action_revision(
        &self,
        input: PutActionRevisionInput,
    ) -> Result<PutActionRevisionOutput, AwsError> {
        let (_, stored) = self.stored(&input.pipeline_name).await?;
        let action = crate::service::declared_action(
            &stored.pipeline,
            &input.stage_name,
            &input.action_name,
        )?;
        if action.action_type_id.category != ActionCategory::Source {
            return Err(AwsError::new(
                "ValidationException",
                format!("The action {} is not a source action", input.action_name),
            ));
        }
        let revision = input.action_revision.revision_id;
        if revision.is_empty() || revision.len() > 1500 {
            return Err(AwsError::new(
                "ValidationException",
                "The revisionId is 1 to 1500 characters",
            ));
        }
        let latest = self
            .records(&input.pipeline_name, false)
            .await?
            .into_iter()
            .find_map(|e| {
                e.source_revisions
                    .into_iter()
                    .find(|r| r.action_name == input.action_name)
                    .map(|r| r.revision_id)
            });
        if latest.as_deref() == Some(revision.as_str()) {
            return Ok(PutActionRevisionOutput {
                new_revision: Some(false),
                pipeline_execution_id: None,
            });
        }
        let kind = match (
            action.action_type_id.owner,
            action.action_type_id.provider.as_str(),
        ) {
            (ActionOwner::Aws, "CodeCommit") => "COMMIT_ID",
            (ActionOwner::Aws, "S3") => "S3_OBJECT_VERSION_ID",
            _ => "REVISION",
        };
        let overrides = BTreeMap::from([(
            input.action_name.clone(),
            (kind.to_owned(), revision.clone()),
        )]);
        let id = self
            .start_execution(
                &input.pipeline_name,
                "PutActionRevision",
                Some(input.action_revision.revision_change_id),
                overrides,
                BTreeMap::new(),
            )
            .await?;
        Ok(PutActionRevisionOutput {
            new_revision: Some(true),
            pipeline_execution_id: Some(id),
        })
    }
}
