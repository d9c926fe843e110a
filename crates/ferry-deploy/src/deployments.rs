//! Deployments through the API: create (one active deployment per group), read, list, stop;
//! their targets and the older instance summaries; which instances a deployment targets; and
//! what a finished deployment leaves behind (the group's last deployments and target
//! revision, revision usage, an automatic rollback).

use std::sync::Arc;

use ferry_model::codedeploy::*;
use ferry_store::StoreError;
use ferry_store::deploys::DeploymentRow;
use ferry_wire::{AwsError, RequestContext};

use crate::api::{DeployApi, err, internal, page};
use crate::selection::{AnyOf, Filter, Selection};
use crate::service::{DeployService, Plan, now};

const PAGE: usize = 100;

/// A new deployment id: `d-` and nine upper-case letters and digits.
fn new_deployment_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    let tail: String = (0..9)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("d-{tail}")
}

fn status_name(s: DeploymentStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn deployment_missing(id: &str) -> AwsError {
    err(
        "DeploymentDoesNotExistException",
        format!("The deployment {id} could not be found."),
    )
}

impl DeployApi {
    pub(crate) async fn require_deployment(
        &self,
        id: &str,
    ) -> Result<(DeploymentInfo, DeploymentRow), AwsError> {
        if id.is_empty() {
            return Err(err(
                "DeploymentIdRequiredException",
                "At least one deployment ID must be specified.",
            ));
        }
        let row = self
            .0
            .store
            .deployment(id)
            .await
            .map_err(internal)?
            .ok_or_else(|| deployment_missing(id))?;
        let info = serde_json::from_str(&row.document).map_err(AwsError::internal)?;
        Ok((info, row))
    }

    pub(crate) async fn create_deployment_op(
        &self,
        ctx: &RequestContext,
        input: CreateDeploymentInput,
    ) -> Result<CreateDeploymentOutput, AwsError> {
        let _ = ctx;
        self.require_application(&input.application_name).await?;
        let group_name = input.deployment_group_name.clone().unwrap_or_default();
        let group = self
            .require_group(&input.application_name, &group_name)
            .await?;
        let mut revision = input
            .revision
            .clone()
            .or_else(|| group.target_revision.clone())
            .ok_or_else(|| {
                err(
                    "RevisionRequiredException",
                    "The revision ID was not specified.",
                )
            })?;
        crate::apps::revision_key(&revision)?;
        if crate::codecommit::local_repository(&revision).is_some() {
            revision = crate::codecommit::prepare(&self.0, &revision).await?;
        }
        if input.description.as_ref().is_some_and(|d| d.len() > 256) {
            return Err(err(
                "DescriptionTooLongException",
                "The description is too long.",
            ));
        }
        let config_name = input
            .deployment_config_name
            .clone()
            .or_else(|| group.deployment_config_name.clone())
            .unwrap_or_else(|| crate::health::DEFAULT_CONFIG.to_owned());
        let config = self.require_config(&config_name).await?;
        let blue_green = group
            .deployment_style
            .as_ref()
            .and_then(|s| s.deployment_type)
            == Some(DeploymentType::BlueGreen);
        if blue_green
            && input.target_instances.as_ref().is_none_or(|t| {
                t.tag_filters.as_ref().is_none_or(Vec::is_empty) && t.ec2_tag_set.is_none()
            })
        {
            return Err(err(
                "InvalidTargetInstancesException",
                "A blue/green deployment of on-premises instances needs targetInstances with the tags of the replacement instances.",
            ));
        }
        let id = new_deployment_id();
        let info = DeploymentInfo {
            application_name: Some(input.application_name.clone()),
            deployment_group_name: Some(group_name.clone()),
            deployment_config_name: Some(config_name),
            deployment_id: Some(id.clone()),
            previous_revision: group.target_revision.clone(),
            revision: Some(revision.clone()),
            status: Some(DeploymentStatus::Created),
            create_time: Some(now()),
            deployment_overview: Some(crate::engine::zero_overview()),
            description: input.description.clone(),
            creator: Some(DeploymentCreator::User),
            ignore_application_stop_failures: Some(
                input.ignore_application_stop_failures.unwrap_or(false),
            ),
            auto_rollback_configuration: input
                .auto_rollback_configuration
                .clone()
                .or_else(|| group.auto_rollback_configuration.clone()),
            update_outdated_instances_only: Some(
                input.update_outdated_instances_only.unwrap_or(false),
            ),
            deployment_style: group.deployment_style.clone(),
            target_instances: input.target_instances.clone(),
            instance_termination_wait_time_started: Some(false),
            blue_green_deployment_configuration: group.blue_green_deployment_configuration.clone(),
            file_exists_behavior: Some(
                input
                    .file_exists_behavior
                    .unwrap_or(FileExistsBehavior::Disallow),
            ),
            deployment_status_messages: Some(Vec::new()),
            compute_platform: Some(ComputePlatform::Server),
            override_alarm_configuration: input.override_alarm_configuration.clone(),
            ..Default::default()
        };
        let plan = Plan {
            group_id: group.deployment_group_id.clone().unwrap_or_default(),
            config,
            file_exists_behavior: input.file_exists_behavior,
            revision: Some(revision.clone()),
            rollback_on_stop: None,
            continued: false,
            ready_since_ms: None,
        };
        let row = DeploymentRow {
            deployment_id: id.clone(),
            app_name: input.application_name.clone(),
            group_name: group_name.clone(),
            status: "Created".into(),
            created_ms: now().millis(),
            document: serde_json::to_string(&info).unwrap_or_default(),
            settings: serde_json::to_string(&plan).unwrap_or_default(),
            stop_requested: false,
        };
        match self.0.store.insert_deployment(&row, true).await {
            Ok(()) => {}
            Err(StoreError::Conflict(active)) => {
                return Err(err(
                    "DeploymentLimitExceededException",
                    format!(
                        "The Deployment Group '{group_name}' already has an active Deployment '{active}'"
                    ),
                ));
            }
            Err(e) => return Err(internal(e)),
        }
        self.touch_revision(&input.application_name, &revision, None, Some(&group_name))
            .await?;
        self.0.poke();
        Ok(CreateDeploymentOutput {
            deployment_id: Some(id),
        })
    }

    pub(crate) async fn batch_get_deployments_op(
        &self,
        input: BatchGetDeploymentsInput,
    ) -> Result<BatchGetDeploymentsOutput, AwsError> {
        if input.deployment_ids.len() > 25 {
            return Err(err(
                "BatchLimitExceededException",
                "The maximum number of names or IDs allowed for this request (25) was exceeded.",
            ));
        }
        let mut out = Vec::new();
        for id in &input.deployment_ids {
            if let Some(row) = self.0.store.deployment(id).await.map_err(internal)?
                && let Ok(info) = serde_json::from_str(&row.document)
            {
                out.push(info);
            }
        }
        Ok(BatchGetDeploymentsOutput {
            deployments_info: Some(out),
        })
    }

    pub(crate) async fn list_deployments_op(
        &self,
        input: ListDeploymentsInput,
    ) -> Result<ListDeploymentsOutput, AwsError> {
        if let Some(app) = &input.application_name {
            self.require_application(app).await?;
            if let Some(g) = &input.deployment_group_name {
                self.require_group(app, g).await?;
            }
        } else if input.deployment_group_name.is_some() {
            return Err(err(
                "ApplicationNameRequiredException",
                "The minimum number of required application names was not specified.",
            ));
        }
        if input.external_id.is_some() {
            return Ok(ListDeploymentsOutput {
                deployments: Some(Vec::new()),
                next_token: None,
            });
        }
        let rows = self
            .0
            .store
            .deployments(
                input.application_name.as_deref(),
                input.deployment_group_name.as_deref(),
            )
            .await
            .map_err(internal)?;
        let statuses: Vec<String> = input
            .include_only_statuses
            .iter()
            .flatten()
            .map(|s| status_name(*s))
            .collect();
        let range = input.create_time_range.clone().unwrap_or_default();
        let mut picked: Vec<(String, String)> = rows
            .into_iter()
            .filter(|r| statuses.is_empty() || statuses.contains(&r.status))
            .filter(|r| range.start.is_none_or(|s| r.created_ms >= s.millis()))
            .filter(|r| range.end.is_none_or(|e| r.created_ms <= e.millis()))
            .map(|r| {
                (
                    format!("{:016}-{}", i64::MAX - r.created_ms, r.deployment_id),
                    r.deployment_id,
                )
            })
            .collect();
        // Newest first, as the CLI shows them.
        picked.sort();
        let (ids, next) = page(picked, input.next_token.as_deref(), PAGE)?;
        Ok(ListDeploymentsOutput {
            deployments: Some(ids),
            next_token: next,
        })
    }

    pub(crate) async fn stop_deployment_op(
        &self,
        input: StopDeploymentInput,
    ) -> Result<StopDeploymentOutput, AwsError> {
        let (info, row) = self.require_deployment(&input.deployment_id).await?;
        if matches!(
            info.status,
            Some(
                DeploymentStatus::Succeeded | DeploymentStatus::Failed | DeploymentStatus::Stopped
            )
        ) {
            return Err(err(
                "DeploymentAlreadyCompletedException",
                format!(
                    "The deployment {} has already completed.",
                    input.deployment_id
                ),
            ));
        }
        let mut plan: Plan = serde_json::from_str(&row.settings).unwrap_or_default();
        plan.rollback_on_stop = input.auto_rollback_enabled;
        self.0
            .store
            .request_deployment_stop(
                &row.deployment_id,
                &serde_json::to_string(&plan).unwrap_or_default(),
            )
            .await
            .map_err(internal)?;
        self.0.poke();
        self.0.progressed();
        Ok(StopDeploymentOutput {
            status: Some(StopStatus::Pending),
            status_message: Some(
                "Stopping Pending. Stopping to schedule commands in the deployment instances"
                    .into(),
            ),
        })
    }

    pub(crate) async fn continue_deployment_op(
        &self,
        input: ContinueDeploymentInput,
    ) -> Result<(), AwsError> {
        let id = input.deployment_id.clone().unwrap_or_default();
        let (info, row) = self.require_deployment(&id).await?;
        if matches!(
            info.status,
            Some(
                DeploymentStatus::Succeeded | DeploymentStatus::Failed | DeploymentStatus::Stopped
            )
        ) {
            return Err(err(
                "DeploymentAlreadyCompletedException",
                format!("The deployment {id} has already completed."),
            ));
        }
        let blue_green = info
            .deployment_style
            .as_ref()
            .and_then(|s| s.deployment_type)
            == Some(DeploymentType::BlueGreen);
        if !blue_green {
            return Err(err(
                "UnsupportedActionForDeploymentTypeException",
                "ContinueDeployment applies to blue/green deployments only.",
            ));
        }
        if input.deployment_wait_type == Some(DeploymentWaitType::TerminationWait)
            || info.status != Some(DeploymentStatus::Ready)
        {
            return Err(err(
                "DeploymentIsNotInReadyStateException",
                format!("The deployment {id} is not waiting in the Ready state."),
            ));
        }
        let mut plan: Plan = serde_json::from_str(&row.settings).unwrap_or_default();
        plan.continued = true;
        self.0
            .store
            .set_deployment_settings(&id, &serde_json::to_string(&plan).unwrap_or_default())
            .await
            .map_err(internal)?;
        self.0.progressed();
        Ok(())
    }

    async fn target_docs(&self, id: &str) -> Result<Vec<InstanceTarget>, AwsError> {
        let (info, _) = self.require_deployment(id).await?;
        if matches!(
            info.status,
            Some(DeploymentStatus::Created | DeploymentStatus::Queued)
        ) {
            return Err(err(
                "DeploymentNotStartedException",
                "The specified deployment has not started.",
            ));
        }
        Ok(self
            .0
            .store
            .targets(id)
            .await
            .map_err(internal)?
            .into_iter()
            .filter_map(|(_, _, d)| serde_json::from_str(&d).ok())
            .collect())
    }

    pub(crate) async fn list_deployment_targets_op(
        &self,
        input: ListDeploymentTargetsInput,
    ) -> Result<ListDeploymentTargetsOutput, AwsError> {
        let targets = self.target_docs(&input.deployment_id).await?;
        let filters = input.target_filters.unwrap_or_default();
        let statuses = filters.get("TargetStatus").cloned().unwrap_or_default();
        let labels = filters
            .get("ServerInstanceLabel")
            .cloned()
            .unwrap_or_default();
        let status_of = |t: &InstanceTarget| {
            serde_json::to_value(t.status.unwrap_or_default())
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        let label_of = |t: &InstanceTarget| match t.instance_label {
            Some(TargetLabel::Blue) => "Blue",
            Some(TargetLabel::Green) => "Green",
            None => "Blue",
        };
        let ids: Vec<(String, String)> = targets
            .iter()
            .filter(|t| statuses.is_empty() || statuses.contains(&status_of(t)))
            .filter(|t| labels.is_empty() || labels.iter().any(|l| l == label_of(t)))
            .filter_map(|t| t.target_id.clone())
            .map(|id| (id.clone(), id))
            .collect();
        let (ids, next) = page(ids, input.next_token.as_deref(), PAGE)?;
        Ok(ListDeploymentTargetsOutput {
            target_ids: Some(ids),
            next_token: next,
        })
    }

    pub(crate) async fn targets_of(
        &self,
        id: &str,
        ids: &[String],
    ) -> Result<Vec<DeploymentTarget>, AwsError> {
        let targets = self.target_docs(id).await?;
        let mut out = Vec::new();
        for want in ids {
            let t = targets
                .iter()
                .find(|t| t.target_id.as_deref() == Some(want.as_str()))
                .ok_or_else(|| err("DeploymentTargetDoesNotExistException", format!("The provided target ID does not belong to the attempted deployment: {want}")))?;
            out.push(DeploymentTarget {
                deployment_target_type: Some(DeploymentTargetType::InstanceTarget),
                instance_target: Some(t.clone()),
                ..Default::default()
            });
        }
        Ok(out)
    }

    pub(crate) async fn list_deployment_instances_op(
        &self,
        input: ListDeploymentInstancesInput,
    ) -> Result<ListDeploymentInstancesOutput, AwsError> {
        let targets = self.target_docs(&input.deployment_id).await?;
        let statuses: Vec<InstanceStatus> = input.instance_status_filter.unwrap_or_default();
        let types: Vec<InstanceType> = input.instance_type_filter.unwrap_or_default();
        let ids: Vec<(String, String)> = targets
            .iter()
            .filter(|t| statuses.is_empty() || statuses.contains(&instance_status(t.status)))
            .filter(|t| types.is_empty() || types.contains(&instance_type(t.instance_label)))
            .filter_map(|t| t.target_id.clone())
            .map(|id| (id.clone(), id))
            .collect();
        let (ids, next) = page(ids, input.next_token.as_deref(), PAGE)?;
        Ok(ListDeploymentInstancesOutput {
            instances_list: Some(ids),
            next_token: next,
        })
    }

    pub(crate) async fn summaries_of(
        &self,
        id: &str,
        ids: &[String],
    ) -> Result<Vec<InstanceSummary>, AwsError> {
        let targets = self.target_docs(id).await?;
        let mut out = Vec::new();
        for want in ids {
            let t = targets
                .iter()
                .find(|t| t.target_id.as_deref() == Some(want.as_str()))
                .ok_or_else(|| {
                    err(
                        "InstanceDoesNotExistException",
                        format!("The specified instance does not exist in the deployment: {want}"),
                    )
                })?;
            out.push(InstanceSummary {
                deployment_id: Some(id.to_owned()),
                instance_id: Some(self.0.arn(&format!("instance/{want}"))),
                status: Some(instance_status(t.status)),
                last_updated_at: t.last_updated_at,
                lifecycle_events: t.lifecycle_events.clone(),
                instance_type: Some(instance_type(t.instance_label)),
            });
        }
        Ok(out)
    }
}

fn instance_status(s: Option<TargetStatus>) -> InstanceStatus {
    match s.unwrap_or_default() {
        TargetStatus::Pending => InstanceStatus::Pending,
        TargetStatus::InProgress => InstanceStatus::InProgress,
        TargetStatus::Succeeded => InstanceStatus::Succeeded,
        TargetStatus::Failed => InstanceStatus::Failed,
        TargetStatus::Skipped => InstanceStatus::Skipped,
        TargetStatus::Ready => InstanceStatus::Ready,
        TargetStatus::Unknown => InstanceStatus::Unknown,
    }
}

fn instance_type(l: Option<TargetLabel>) -> InstanceType {
    match l {
        Some(TargetLabel::Green) => InstanceType::Green,
        _ => InstanceType::Blue,
    }
}

/// The instances a deployment targets, by name, with their blue/green label.
pub(crate) async fn targeted_instances(
    svc: &DeployService,
    row: &DeploymentRow,
    _plan: &Plan,
) -> Result<Vec<(String, Option<TargetLabel>)>, StoreError> {
    let info: DeploymentInfo = serde_json::from_str(&row.document).unwrap_or_default();
    let group: DeploymentGroupInfo = svc
        .store
        .deployment_group(&row.app_name, &row.group_name)
        .await?
        .and_then(|d| serde_json::from_str(&d).ok())
        .unwrap_or_default();
    let mut group_sel = AnyOf::default();
    group_sel.0.push(Selection::flat(
        group
            .on_premises_instance_tag_filters
            .iter()
            .flatten()
            .map(Filter::from),
    ));
    group_sel.0.push(Selection::flat(
        group.ec2_tag_filters.iter().flatten().map(Filter::from),
    ));
    if let Some(s) = &group.on_premises_tag_set {
        group_sel.0.push(Selection::from_on_premises_set(s));
    }
    if let Some(s) = &group.ec2_tag_set {
        group_sel.0.push(Selection::from_ec2_set(s));
    }
    let blue_green = info
        .deployment_style
        .as_ref()
        .and_then(|s| s.deployment_type)
        == Some(DeploymentType::BlueGreen);
    let mut green_sel = AnyOf::default();
    if let Some(t) = &info.target_instances {
        green_sel.0.push(Selection::flat(
            t.tag_filters.iter().flatten().map(Filter::from),
        ));
        if let Some(s) = &t.ec2_tag_set {
            green_sel.0.push(Selection::from_ec2_set(s));
        }
    }
    let mut out = Vec::new();
    for inst in svc.store.instances().await? {
        if !inst.registered {
            continue;
        }
        let doc: InstanceInfo = serde_json::from_str(&inst.document).unwrap_or_default();
        let tags = doc.tags.unwrap_or_default();
        if blue_green {
            if green_sel.matches(&tags) {
                out.push((inst.name, Some(TargetLabel::Green)));
            } else if group_sel.matches(&tags) {
                out.push((inst.name, Some(TargetLabel::Blue)));
            }
        } else if group_sel.matches(&tags) {
            out.push((inst.name, None));
        }
    }
    Ok(out)
}

/// What a finished deployment leaves behind: the group's last attempted (and, on success,
/// last successful) deployment and target revision, and an automatic rollback.
pub(crate) async fn record_outcome(
    svc: &Arc<DeployService>,
    row: &DeploymentRow,
    info: &mut DeploymentInfo,
    plan: &Plan,
) -> Result<(), StoreError> {
    let status = info.status.unwrap_or_default();
    let Some(doc) = svc
        .store
        .deployment_group(&row.app_name, &row.group_name)
        .await?
    else {
        return Ok(());
    };
    let mut group: DeploymentGroupInfo = serde_json::from_str(&doc).unwrap_or_default();
    let last = LastDeploymentInfo {
        deployment_id: Some(row.deployment_id.clone()),
        status: Some(status),
        end_time: info.complete_time,
        create_time: info.create_time,
    };
    let previous_good = group.target_revision.clone();
    group.last_attempted_deployment = Some(last.clone());
    if status == DeploymentStatus::Succeeded {
        group.last_successful_deployment = Some(last);
        group.target_revision = info.revision.clone();
    }
    // Automatic rollback.
    let rollback = info.auto_rollback_configuration.clone().unwrap_or_default();
    let configured = |event: AutoRollbackEvent| {
        rollback.enabled.unwrap_or(false) && rollback.events.iter().flatten().any(|e| *e == event)
    };
    let wants = match status {
        DeploymentStatus::Failed => configured(AutoRollbackEvent::DeploymentFailure),
        // StopDeployment's own switch wins over the configuration.
        DeploymentStatus::Stopped => plan
            .rollback_on_stop
            .unwrap_or_else(|| configured(AutoRollbackEvent::DeploymentStopOnRequest)),
        _ => false,
    };
    let is_rollback = info.creator == Some(DeploymentCreator::CodeDeployRollback);
    if wants && !is_rollback {
        match previous_good {
            Some(revision) => {
                let id = new_deployment_id();
                let rb = DeploymentInfo {
                    deployment_id: Some(id.clone()),
                    status: Some(DeploymentStatus::Created),
                    create_time: Some(now()),
                    start_time: None,
                    complete_time: None,
                    error_information: None,
                    creator: Some(DeploymentCreator::CodeDeployRollback),
                    previous_revision: info.revision.clone(),
                    revision: Some(revision.clone()),
                    description: None,
                    deployment_overview: Some(crate::engine::zero_overview()),
                    rollback_info: Some(RollbackInfo {
                        rollback_triggering_deployment_id: Some(row.deployment_id.clone()),
                        ..Default::default()
                    }),
                    ..info.clone()
                };
                let rb_plan = Plan {
                    revision: Some(revision),
                    rollback_on_stop: None,
                    continued: false,
                    ready_since_ms: None,
                    ..plan.clone()
                };
                svc.store
                    .insert_deployment(
                        &DeploymentRow {
                            deployment_id: id.clone(),
                            app_name: row.app_name.clone(),
                            group_name: row.group_name.clone(),
                            status: "Created".into(),
                            created_ms: now().millis(),
                            document: serde_json::to_string(&rb).unwrap_or_default(),
                            settings: serde_json::to_string(&rb_plan).unwrap_or_default(),
                            stop_requested: false,
                        },
                        false,
                    )
                    .await?;
                info.rollback_info = Some(RollbackInfo {
                    rollback_deployment_id: Some(id.clone()),
                    rollback_message: Some(format!(
                        "Automatic rollback: deployment {id} redeploys the last successfully deployed revision."
                    )),
                    ..Default::default()
                });
                svc.poke();
            }
            None => {
                info.rollback_info = Some(RollbackInfo {
                    rollback_message: Some(
                        "Automatic rollback was not done: this deployment group has no previous successfully deployed revision.".into(),
                    ),
                    ..Default::default()
                });
            }
        }
    }
    svc.store
        .update_deployment_group(
            &row.app_name,
            &row.group_name,
            &row.group_name,
            &serde_json::to_string(&group).unwrap_or_default(),
        )
        .await
}
