//! The CodePipeline API: pipelines (create, read by version, update, delete, list, tags),
//! executions (start, read, list, stop), state, action executions, manual approvals and stage
//! transitions. Operations Ferry does not run yet answer `NotImplementedException` through
//! the generated trait's defaults.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_model::codepipeline::*;
use ferry_store::StoreError;
use ferry_store::pipelines::PipelineRow;
use ferry_types::Timestamp;
use ferry_wire::{AwsError, RequestContext};
use std::result::Result;

use crate::record::{Position, status};
use crate::service::{PipelineService, Stored, not_found, now_ms};
use crate::validate::validate;
use crate::views;

/// The CodePipeline API of one node.
#[derive(Clone)]
pub struct PipelineApi(pub Arc<PipelineService>);

fn internal(e: StoreError) -> AwsError {
    AwsError::internal(e)
}

fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", message)
}

/// The page of `items` (in order, each with its sort key) after `token`.
fn page<T>(
    items: Vec<(String, T)>,
    token: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    ferry_types::page::after_key(items, token, size)
        .ok_or_else(|| AwsError::new("InvalidNextTokenException", "The next token is not valid."))
}

fn tags_of(list: &[Tag]) -> Result<BTreeMap<String, String>, AwsError> {
    if list.len() > 50 {
        return Err(AwsError::new(
            "TooManyTagsException",
            "A resource has at most 50 tags.",
        ));
    }
    let mut out = BTreeMap::new();
    for t in list {
        if t.key.is_empty() || t.key.len() > 128 || t.value.len() > 256 {
            return Err(AwsError::new(
                "InvalidTagsException",
                format!("The tag {:?} is not valid.", t.key),
            ));
        }
        out.insert(t.key.clone(), t.value.clone());
    }
    Ok(out)
}

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

impl PipelineApi {
    async fn exec_of(
        &self,
        pipeline: &str,
        id: &str,
    ) -> Result<crate::record::ExecRecord, AwsError> {
        self.0.stored(pipeline).await?;
        match self.0.load(id).await? {
            Some(e) if e.pipeline == pipeline => Ok(e),
            _ => Err(AwsError::new(
                "PipelineExecutionNotFoundException",
                format!("Pipeline execution {id} does not exist in pipeline {pipeline}"),
            )),
        }
    }

    /// The pipeline a tag operation's ARN names.
    async fn tagged(&self, arn: &str) -> Result<(String, Stored), AwsError> {
        let prefix = self.0.arn("");
        let name = arn
            .strip_prefix(&prefix)
            .filter(|n| !n.is_empty() && !n.contains(':'));
        let Some(name) = name else {
            return Err(AwsError::new(
                "InvalidArnException",
                format!("The ARN {arn} is not a pipeline of this account and region."),
            ));
        };
        match self.0.stored(name).await {
            Ok((_, s)) => Ok((name.to_owned(), s)),
            Err(_) => Err(AwsError::new(
                "ResourceNotFoundException",
                format!("The pipeline {arn} does not exist."),
            )),
        }
    }

    async fn put_tags(&self, name: &str, stored: &Stored) -> Result<(), AwsError> {
        let doc = serde_json::to_string(stored).map_err(AwsError::internal)?;
        self.0
            .store
            .update_pipeline(name, &doc, None, now_ms())
            .await
            .map_err(internal)
    }
}

impl CodePipeline for PipelineApi {
    async fn create_pipeline(
        &self,
        ctx: &RequestContext,
        input: CreatePipelineInput,
    ) -> Result<CreatePipelineOutput, AwsError> {
        let mut decl = input.pipeline;
        validate(&decl, &self.0.custom_types().await?)?;
        let tags = tags_of(input.tags.as_deref().unwrap_or_default())?;
        decl.version = Some(1);
        let stored = Stored {
            pipeline: decl.clone(),
            tags: tags.clone(),
        };
        let now = now_ms();
        let row = PipelineRow {
            name: decl.name.clone(),
            version: 1,
            document: serde_json::to_string(&stored).map_err(AwsError::internal)?,
            created_ms: now,
            updated_ms: now,
        };
        match self.0.store.create_pipeline(&row).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(AwsError::new(
                    "PipelineNameInUseException",
                    format!("A pipeline with the name {} already exists.", decl.name),
                ));
            }
            Err(e) => return Err(internal(e)),
        }
        self.0
            .start_execution(
                &decl.name,
                "CreatePipeline",
                Some(ctx.principal_arn.clone()),
                BTreeMap::new(),
                BTreeMap::new(),
            )
            .await?;
        Ok(CreatePipelineOutput {
            pipeline: Some(decl),
            tags: (!tags.is_empty()).then(|| tag_list(&tags)),
        })
    }

    async fn get_pipeline(
        &self,
        _ctx: &RequestContext,
        input: GetPipelineInput,
    ) -> Result<GetPipelineOutput, AwsError> {
        let row = self
            .0
            .store
            .pipeline(&input.name)
            .await
            .map_err(internal)?
            .ok_or_else(|| not_found(&input.name))?;
        let decl = match input.version {
            None => {
                serde_json::from_str::<Stored>(&row.document)
                    .map_err(AwsError::internal)?
                    .pipeline
            }
            Some(v) => self
                .0
                .declaration_at(&input.name, i64::from(v))
                .await?
                .ok_or_else(|| {
                    AwsError::new(
                        "PipelineVersionNotFoundException",
                        format!("Pipeline {} has no version {v}", input.name),
                    )
                })?,
        };
        Ok(GetPipelineOutput {
            pipeline: Some(decl),
            metadata: Some(PipelineMetadata {
                pipeline_arn: Some(self.0.arn(&row.name)),
                created: Some(Timestamp::from_millis(row.created_ms)),
                updated: Some(Timestamp::from_millis(row.updated_ms)),
                polling_disabled_at: None,
            }),
        })
    }

    async fn update_pipeline(
        &self,
        _ctx: &RequestContext,
        input: UpdatePipelineInput,
    ) -> Result<UpdatePipelineOutput, AwsError> {
        let mut decl = input.pipeline;
        validate(&decl, &self.0.custom_types().await?)?;
        let (version, mut stored) = self.0.stored(&decl.name).await?;
        let next = version + 1;
        decl.version = Some(next as i32);
        stored.pipeline = decl.clone();
        let doc = serde_json::to_string(&stored).map_err(AwsError::internal)?;
        self.0
            .store
            .update_pipeline(&decl.name, &doc, Some(next), now_ms())
            .await
            .map_err(internal)?;
        self.0.poke(&decl.name);
        Ok(UpdatePipelineOutput {
            pipeline: Some(decl),
        })
    }

    async fn delete_pipeline(
        &self,
        _ctx: &RequestContext,
        input: DeletePipelineInput,
    ) -> Result<(), AwsError> {
        let lock = self.0.lock(&input.name);
        let _guard = lock.lock().await;
        match self.0.store.delete_pipeline(&input.name).await {
            // Deleting a pipeline that does not exist succeeds, as on AWS.
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(internal(e)),
        }
        self.0.poke(&input.name);
        Ok(())
    }

    async fn list_pipelines(
        &self,
        _ctx: &RequestContext,
        input: ListPipelinesInput,
    ) -> Result<ListPipelinesOutput, AwsError> {
        let size = input.max_results.unwrap_or(1000).clamp(1, 1000) as usize;
        let rows = self.0.store.pipelines().await.map_err(internal)?;
        let items = rows
            .into_iter()
            .filter_map(|r| {
                let s: Stored = serde_json::from_str(&r.document).ok()?;
                Some((
                    r.name.clone(),
                    PipelineSummary {
                        name: Some(r.name),
                        version: Some(r.version as i32),
                        pipeline_type: Some(s.pipeline.pipeline_type.unwrap_or(PipelineType::V1)),
                        execution_mode: Some(crate::step::mode_of(&s.pipeline)),
                        created: Some(Timestamp::from_millis(r.created_ms)),
                        updated: Some(Timestamp::from_millis(r.updated_ms)),
                    },
                ))
            })
            .collect();
        let (pipelines, next_token) = page(items, input.next_token.as_deref(), size)?;
        Ok(ListPipelinesOutput {
            pipelines: Some(pipelines),
            next_token,
        })
    }

    async fn start_pipeline_execution(
        &self,
        ctx: &RequestContext,
        input: StartPipelineExecutionInput,
    ) -> Result<StartPipelineExecutionOutput, AwsError> {
        let (_, stored) = self.0.stored(&input.name).await?;
        let mut overrides = BTreeMap::new();
        for o in input.source_revisions.iter().flatten() {
            let known = stored
                .pipeline
                .stages
                .first()
                .is_some_and(|s| s.actions.iter().any(|a| a.name == o.action_name));
            if !known {
                return Err(validation(format!(
                    "The source action {} does not exist in the pipeline",
                    o.action_name
                )));
            }
            let kind = match o.revision_type {
                SourceRevisionType::CommitId => "COMMIT_ID",
                SourceRevisionType::S3ObjectVersionId => "S3_OBJECT_VERSION_ID",
                _ => {
                    return Err(validation(
                        "Ferry's sources take COMMIT_ID and S3_OBJECT_VERSION_ID source revisions",
                    ));
                }
            };
            overrides.insert(
                o.action_name.clone(),
                (kind.to_owned(), o.revision_value.clone()),
            );
        }
        let variables: BTreeMap<String, String> = input
            .variables
            .iter()
            .flatten()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect();
        if !variables.is_empty() && stored.pipeline.pipeline_type != Some(PipelineType::V2) {
            return Err(validation("Variables can be given only to V2 pipelines"));
        }
        let id = self
            .0
            .start_execution(
                &input.name,
                "StartPipelineExecution",
                Some(ctx.principal_arn.clone()),
                overrides,
                variables,
            )
            .await?;
        Ok(StartPipelineExecutionOutput {
            pipeline_execution_id: Some(id),
        })
    }

    async fn get_pipeline_execution(
        &self,
        _ctx: &RequestContext,
        input: GetPipelineExecutionInput,
    ) -> Result<GetPipelineExecutionOutput, AwsError> {
        let e = self
            .exec_of(&input.pipeline_name, &input.pipeline_execution_id)
            .await?;
        Ok(GetPipelineExecutionOutput {
            pipeline_execution: Some(views::execution(&e)),
        })
    }

    async fn list_pipeline_executions(
        &self,
        _ctx: &RequestContext,
        input: ListPipelineExecutionsInput,
    ) -> Result<ListPipelineExecutionsOutput, AwsError> {
        self.0.stored(&input.pipeline_name).await?;
        let size = input.max_results.unwrap_or(100).clamp(1, 100) as usize;
        let records = self.0.records(&input.pipeline_name, false).await?;
        let wanted_stage = input
            .filter
            .as_ref()
            .and_then(|f| f.succeeded_in_stage.as_ref())
            .and_then(|s| s.stage_name.clone());
        let items = records
            .iter()
            .filter(|e| {
                wanted_stage
                    .as_ref()
                    .is_none_or(|s| e.stage(s).is_some_and(|st| st.status == status::SUCCEEDED))
            })
            .map(|e| {
                // Newest first: the key sorts descending start times ascending.
                (
                    format!("{:020}-{}", i64::MAX - e.started_ms, e.id),
                    views::summary(e),
                )
            })
            .collect();
        let (list, next_token) = page(items, input.next_token.as_deref(), size)?;
        Ok(ListPipelineExecutionsOutput {
            pipeline_execution_summaries: Some(list),
            next_token,
        })
    }

    async fn get_pipeline_state(
        &self,
        _ctx: &RequestContext,
        input: GetPipelineStateInput,
    ) -> Result<GetPipelineStateOutput, AwsError> {
        let row = self
            .0
            .store
            .pipeline(&input.name)
            .await
            .map_err(internal)?
            .ok_or_else(|| not_found(&input.name))?;
        let stored: Stored = serde_json::from_str(&row.document).map_err(AwsError::internal)?;
        let execs = self.0.records(&input.name, false).await?;
        let transitions: BTreeMap<String, TransitionState> = self
            .0
            .store
            .transitions(&input.name)
            .await
            .map_err(internal)?
            .into_iter()
            .filter_map(|(s, d)| serde_json::from_str(&d).ok().map(|t| (s, t)))
            .collect();
        Ok(GetPipelineStateOutput {
            pipeline_name: Some(row.name.clone()),
            pipeline_version: Some(row.version as i32),
            stage_states: Some(views::stage_states(&stored.pipeline, &execs, &transitions)),
            created: Some(Timestamp::from_millis(row.created_ms)),
            updated: Some(Timestamp::from_millis(row.updated_ms)),
        })
    }

    async fn stop_pipeline_execution(
        &self,
        _ctx: &RequestContext,
        input: StopPipelineExecutionInput,
    ) -> Result<StopPipelineExecutionOutput, AwsError> {
        if input.reason.as_ref().is_some_and(|r| r.len() > 200) {
            return Err(validation("The reason is at most 200 characters"));
        }
        let lock = self.0.lock(&input.pipeline_name);
        let _guard = lock.lock().await;
        let mut e = self
            .exec_of(&input.pipeline_name, &input.pipeline_execution_id)
            .await?;
        if e.is_final() {
            return Err(AwsError::new(
                "PipelineExecutionNotStoppableException",
                format!(
                    "Pipeline execution {} is {} and cannot be stopped",
                    e.id, e.status
                ),
            ));
        }
        let abandon = input.abandon.unwrap_or(false);
        if let Some((already_abandon, _)) = e.stop
            && (already_abandon || !abandon)
        {
            return Err(AwsError::new(
                "DuplicatedStopRequestException",
                "The pipeline execution is already being stopped",
            ));
        }
        e.stop = Some((abandon, input.reason.clone()));
        if matches!(e.position, Position::Running { .. }) {
            e.status = status::STOPPING.into();
        }
        e.updated_ms = now_ms();
        self.0.save(&e).await?;
        self.0.poke(&input.pipeline_name);
        Ok(StopPipelineExecutionOutput {
            pipeline_execution_id: Some(e.id),
        })
    }

    async fn put_approval_result(
        &self,
        ctx: &RequestContext,
        input: PutApprovalResultInput,
    ) -> Result<PutApprovalResultOutput, AwsError> {
        let lock = self.0.lock(&input.pipeline_name);
        let _guard = lock.lock().await;
        let (_, stored) = self.0.stored(&input.pipeline_name).await?;
        let declared = crate::service::declared_action(
            &stored.pipeline,
            &input.stage_name,
            &input.action_name,
        )?;
        if declared.action_type_id.category != ActionCategory::Approval {
            return Err(AwsError::new(
                "InvalidApprovalTokenException",
                format!("Action {} is not a manual approval", input.action_name),
            ));
        }
        if input.result.summary.len() > 512 {
            return Err(validation("The summary is at most 512 characters"));
        }
        let records = self.0.records(&input.pipeline_name, false).await?;
        for mut e in records {
            let Some(rec) = e
                .stages
                .iter_mut()
                .flat_map(|s| s.actions.iter_mut())
                .find(|a| {
                    a.stage == input.stage_name
                        && a.name == input.action_name
                        && (a.token.as_deref() == Some(input.token.as_str())
                            || a.external_id.as_deref() == Some(input.token.as_str()))
                })
            else {
                continue;
            };
            if rec.status != status::IN_PROGRESS {
                return Err(AwsError::new(
                    "ApprovalAlreadyCompletedException",
                    "The approval request already received a response or has expired",
                ));
            }
            let approved = input.result.status == ApprovalStatus::Approved;
            let now = now_ms();
            rec.status = if approved {
                status::SUCCEEDED
            } else {
                status::FAILED
            }
            .into();
            rec.summary = Some(input.result.summary.clone());
            rec.updated_by = Some(ctx.principal_arn.clone());
            // The token is kept as the external id, so that a second answer is refused.
            rec.external_id = rec.token.take();
            if !approved {
                rec.error_code = Some("JobFailed".into());
                rec.error_message = Some(format!("Rejected: {}", input.result.summary));
            }
            rec.updated_ms = now;
            e.updated_ms = now;
            self.0.save(&e).await?;
            self.0.poke(&input.pipeline_name);
            return Ok(PutApprovalResultOutput {
                approved_at: Some(Timestamp::from_millis(now)),
            });
        }
        Err(AwsError::new(
            "InvalidApprovalTokenException",
            format!(
                "The token {} is not valid for action {}",
                input.token, input.action_name
            ),
        ))
    }

    async fn list_action_executions(
        &self,
        _ctx: &RequestContext,
        input: ListActionExecutionsInput,
    ) -> Result<ListActionExecutionsOutput, AwsError> {
        let size = input.max_results.unwrap_or(100).clamp(1, 100) as usize;
        let wanted = input.filter.as_ref().and_then(|f| {
            f.pipeline_execution_id.clone().or_else(|| {
                f.latest_in_pipeline_execution
                    .as_ref()
                    .map(|l| l.pipeline_execution_id.clone())
            })
        });
        let records = match &wanted {
            Some(id) => vec![self.exec_of(&input.pipeline_name, id).await?],
            None => {
                self.0.stored(&input.pipeline_name).await?;
                self.0.records(&input.pipeline_name, false).await?
            }
        };
        let mut items = Vec::new();
        for e in &records {
            let decl = self
                .0
                .declaration_at(&e.pipeline, e.pipeline_version)
                .await?;
            for d in views::action_details(e, decl.as_ref()) {
                let start = d.start_time.map_or(0, |t| t.millis());
                let key = format!(
                    "{:020}-{}",
                    i64::MAX - start,
                    d.action_execution_id.clone().unwrap_or_default()
                );
                items.push((key, d));
            }
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (list, next_token) = page(items, input.next_token.as_deref(), size)?;
        Ok(ListActionExecutionsOutput {
            action_execution_details: Some(list),
            next_token,
        })
    }

    async fn disable_stage_transition(
        &self,
        ctx: &RequestContext,
        input: DisableStageTransitionInput,
    ) -> Result<(), AwsError> {
        if input.transition_type != StageTransitionType::Inbound {
            return Err(validation("Ferry disables inbound transitions only"));
        }
        if input.reason.is_empty() || input.reason.len() > 300 {
            return Err(validation("The reason is 1 to 300 characters"));
        }
        self.set_transition(
            ctx,
            &input.pipeline_name,
            &input.stage_name,
            Some(input.reason),
        )
        .await
    }

    async fn enable_stage_transition(
        &self,
        ctx: &RequestContext,
        input: EnableStageTransitionInput,
    ) -> Result<(), AwsError> {
        if input.transition_type != StageTransitionType::Inbound {
            return Err(validation("Ferry disables inbound transitions only"));
        }
        self.set_transition(ctx, &input.pipeline_name, &input.stage_name, None)
            .await
    }

    async fn tag_resource(
        &self,
        _ctx: &RequestContext,
        input: TagResourceInput,
    ) -> Result<TagResourceOutput, AwsError> {
        let (name, mut stored) = self.tagged(&input.resource_arn).await?;
        for (k, v) in tags_of(&input.tags)? {
            stored.tags.insert(k, v);
        }
        if stored.tags.len() > 50 {
            return Err(AwsError::new(
                "TooManyTagsException",
                "A resource has at most 50 tags.",
            ));
        }
        self.put_tags(&name, &stored).await?;
        Ok(TagResourceOutput::default())
    }

    async fn untag_resource(
        &self,
        _ctx: &RequestContext,
        input: UntagResourceInput,
    ) -> Result<UntagResourceOutput, AwsError> {
        let (name, mut stored) = self.tagged(&input.resource_arn).await?;
        for k in &input.tag_keys {
            stored.tags.remove(k);
        }
        self.put_tags(&name, &stored).await?;
        Ok(UntagResourceOutput::default())
    }

    async fn list_tags_for_resource(
        &self,
        _ctx: &RequestContext,
        input: ListTagsForResourceInput,
    ) -> Result<ListTagsForResourceOutput, AwsError> {
        let (_, stored) = self.tagged(&input.resource_arn).await?;
        Ok(ListTagsForResourceOutput {
            tags: Some(tag_list(&stored.tags)),
            next_token: None,
        })
    }

    async fn retry_stage_execution(
        &self,
        _ctx: &RequestContext,
        input: RetryStageExecutionInput,
    ) -> Result<RetryStageExecutionOutput, AwsError> {
        self.0
            .retry_stage(
                &input.pipeline_name,
                &input.stage_name,
                &input.pipeline_execution_id,
                input.retry_mode,
                false,
            )
            .await?;
        Ok(RetryStageExecutionOutput {
            pipeline_execution_id: Some(input.pipeline_execution_id),
        })
    }

    async fn rollback_stage(
        &self,
        _ctx: &RequestContext,
        input: RollbackStageInput,
    ) -> Result<RollbackStageOutput, AwsError> {
        let (_, stored) = self.0.stored(&input.pipeline_name).await?;
        if stored.pipeline.pipeline_type != Some(PipelineType::V2) {
            return Err(AwsError::new(
                "UnableToRollbackStageException",
                "Stage rollback needs a V2 pipeline",
            ));
        }
        let id = self
            .0
            .rollback_stage(
                &input.pipeline_name,
                &input.stage_name,
                Some(&input.target_pipeline_execution_id),
                "ManualRollback",
            )
            .await?
            .unwrap_or_default();
        Ok(RollbackStageOutput {
            pipeline_execution_id: id,
        })
    }

    async fn put_webhook(
        &self,
        _ctx: &RequestContext,
        input: PutWebhookInput,
    ) -> Result<PutWebhookOutput, AwsError> {
        self.0.put_webhook(input).await
    }

    async fn list_webhooks(
        &self,
        _ctx: &RequestContext,
        input: ListWebhooksInput,
    ) -> Result<ListWebhooksOutput, AwsError> {
        let size = input.max_results.unwrap_or(100).clamp(1, 100) as usize;
        let items = self
            .0
            .list_webhooks()
            .await?
            .into_iter()
            .map(|w| (w.definition.name.clone(), w))
            .collect();
        let (webhooks, next_token) = page(items, input.next_token.as_deref(), size)?;
        Ok(ListWebhooksOutput {
            webhooks: Some(webhooks),
            next_token,
        })
    }

    async fn delete_webhook(
        &self,
        _ctx: &RequestContext,
        input: DeleteWebhookInput,
    ) -> Result<DeleteWebhookOutput, AwsError> {
        self.0
            .store
            .delete_webhook(&input.name)
            .await
            .map_err(internal)?;
        Ok(DeleteWebhookOutput::default())
    }

    async fn list_deploy_action_execution_targets(
        &self,
        _ctx: &RequestContext,
        input: ListDeployActionExecutionTargetsInput,
    ) -> Result<ListDeployActionExecutionTargetsOutput, AwsError> {
        let size = input.max_results.unwrap_or(100).clamp(1, 100) as usize;
        let mut targets = crate::deploy_targets::of_action(
            &self.0,
            input.pipeline_name.as_deref(),
            &input.action_execution_id,
        )
        .await?;
        for f in input.filters.iter().flatten() {
            if f.name == Some(TargetFilterName::TargetStatus) {
                let wanted = f.values.clone().unwrap_or_default();
                targets.retain(|t| t.status.as_ref().is_some_and(|s| wanted.contains(s)));
            }
        }
        let items = targets
            .into_iter()
            .map(|t| (t.target_id.clone().unwrap_or_default(), t))
            .collect();
        let (targets, next_token) = page(items, input.next_token.as_deref(), size)?;
        Ok(ListDeployActionExecutionTargetsOutput {
            targets: Some(targets),
            next_token,
        })
    }

    async fn list_action_types(
        &self,
        _ctx: &RequestContext,
        input: ListActionTypesInput,
    ) -> Result<ListActionTypesOutput, AwsError> {
        let mut all = crate::actions::action_types();
        all.extend(self.0.custom_types().await?);
        let action_types = all
            .into_iter()
            .filter(|t| input.action_owner_filter.is_none_or(|o| t.id.owner == o))
            .collect();
        Ok(ListActionTypesOutput {
            action_types,
            next_token: None,
        })
    }

    async fn create_custom_action_type(
        &self,
        _ctx: &RequestContext,
        input: CreateCustomActionTypeInput,
    ) -> Result<CreateCustomActionTypeOutput, AwsError> {
        self.0.create_custom_type(input).await
    }

    async fn delete_custom_action_type(
        &self,
        _ctx: &RequestContext,
        input: DeleteCustomActionTypeInput,
    ) -> Result<(), AwsError> {
        self.0.delete_custom_type(input).await
    }

    async fn poll_for_jobs(
        &self,
        _ctx: &RequestContext,
        input: PollForJobsInput,
    ) -> Result<PollForJobsOutput, AwsError> {
        self.0.poll_jobs(input).await
    }

    async fn acknowledge_job(
        &self,
        _ctx: &RequestContext,
        input: AcknowledgeJobInput,
    ) -> Result<AcknowledgeJobOutput, AwsError> {
        self.0.acknowledge(input).await
    }

    async fn get_job_details(
        &self,
        _ctx: &RequestContext,
        input: GetJobDetailsInput,
    ) -> Result<GetJobDetailsOutput, AwsError> {
        self.0.job_details(input).await
    }

    async fn put_job_success_result(
        &self,
        _ctx: &RequestContext,
        input: PutJobSuccessResultInput,
    ) -> Result<(), AwsError> {
        let result = crate::jobs::success(&input)?;
        self.0.finish_job(&input.job_id, true, result).await
    }

    async fn put_job_failure_result(
        &self,
        _ctx: &RequestContext,
        input: PutJobFailureResultInput,
    ) -> Result<(), AwsError> {
        self.0
            .finish_job(&input.job_id, false, crate::jobs::failure(&input))
            .await
    }

    async fn get_action_type(
        &self,
        _ctx: &RequestContext,
        input: GetActionTypeInput,
    ) -> Result<GetActionTypeOutput, AwsError> {
        self.0.get_action_type(input).await
    }

    async fn update_action_type(
        &self,
        _ctx: &RequestContext,
        input: UpdateActionTypeInput,
    ) -> Result<(), AwsError> {
        self.0.update_action_type(input).await
    }

    async fn poll_for_third_party_jobs(
        &self,
        _ctx: &RequestContext,
        input: PollForThirdPartyJobsInput,
    ) -> Result<PollForThirdPartyJobsOutput, AwsError> {
        self.0.poll_third_party_jobs(input).await
    }

    async fn acknowledge_third_party_job(
        &self,
        _ctx: &RequestContext,
        input: AcknowledgeThirdPartyJobInput,
    ) -> Result<AcknowledgeThirdPartyJobOutput, AwsError> {
        self.0.acknowledge_third_party(input).await
    }

    async fn get_third_party_job_details(
        &self,
        _ctx: &RequestContext,
        input: GetThirdPartyJobDetailsInput,
    ) -> Result<GetThirdPartyJobDetailsOutput, AwsError> {
        self.0.third_party_job_details(input).await
    }

    async fn put_third_party_job_success_result(
        &self,
        _ctx: &RequestContext,
        input: PutThirdPartyJobSuccessResultInput,
    ) -> Result<(), AwsError> {
        self.0.put_third_party_success(input).await
    }

    async fn put_third_party_job_failure_result(
        &self,
        _ctx: &RequestContext,
        input: PutThirdPartyJobFailureResultInput,
    ) -> Result<(), AwsError> {
        self.0.put_third_party_failure(input).await
    }

    async fn put_action_revision(
        &self,
        _ctx: &RequestContext,
        input: PutActionRevisionInput,
    ) -> Result<PutActionRevisionOutput, AwsError> {
        self.0.put_action_revision(input).await
    }
}

impl PipelineApi {
    async fn set_transition(
        &self,
        ctx: &RequestContext,
        pipeline: &str,
        stage: &str,
        disabled_reason: Option<String>,
    ) -> Result<(), AwsError> {
        let (_, stored) = self.0.stored(pipeline).await?;
        if !stored.pipeline.stages.iter().any(|s| s.name == stage) {
            return Err(AwsError::new(
                "StageNotFoundException",
                format!("Stage {stage} does not exist in pipeline {pipeline}"),
            ));
        }
        let state = TransitionState {
            enabled: Some(disabled_reason.is_none()),
            last_changed_by: Some(ctx.principal_arn.clone()),
            last_changed_at: Some(Timestamp::from_millis(now_ms())),
            disabled_reason,
        };
        let doc = serde_json::to_string(&state).map_err(AwsError::internal)?;
        self.0
            .store
            .put_transition(pipeline, stage, &doc)
            .await
            .map_err(internal)?;
        self.0.poke(pipeline);
        Ok(())
    }
}
