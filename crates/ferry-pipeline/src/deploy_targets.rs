//! ListDeployActionExecutionTargets: the hosts a CodeDeploy action's deployment went to, each
//! with its status and lifecycle events, read from CodeDeploy by the action's external id.

use ferry_model::codedeploy::{
    BatchGetDeploymentTargetsInput, CodeDeploy, ListDeploymentTargetsInput,
};
use ferry_model::codepipeline::{
    DeployActionExecutionTarget, DeployTargetEvent, DeployTargetEventContext,
};
use ferry_wire::AwsError;

use crate::service::PipelineService;

fn not_found(id: &str) -> AwsError {
    AwsError::new(
        "ActionExecutionNotFoundException",
        format!("The action execution {id} was not found, or did not deploy with CodeDeploy"),
    )
}

/// The targets of the deployment that action execution `id` started.
pub(crate) async fn of_action(
    svc: &PipelineService,
    pipeline: Option<&str>,
    id: &str,
) -> Result<Vec<DeployActionExecutionTarget>, AwsError> {
    let names: Vec<String> = match pipeline {
        Some(p) => {
            svc.stored(p).await?;
            vec![p.to_owned()]
        }
        None => svc
            .store
            .pipelines()
            .await
            .map_err(AwsError::internal)?
            .into_iter()
            .map(|r| r.name)
            .collect(),
    };
    let mut deployment = None;
    for name in names {
        for e in svc.records(&name, false).await? {
            if let Some(a) = e.actions().find(|a| a.id == id) {
                deployment = a.external_id.clone().filter(|x| x.starts_with("d-"));
            }
        }
    }
    let deployment = deployment.ok_or_else(|| not_found(id))?;
    let ctx = svc.context(pipeline.unwrap_or("targets"));
    let mut ids = Vec::new();
    let mut next = None;
    loop {
        let page = svc
            .deploys
            .list_deployment_targets(
                &ctx,
                ListDeploymentTargetsInput {
                    deployment_id: deployment.clone(),
                    next_token: next.take(),
                    target_filters: None,
                },
            )
            .await?;
        ids.extend(page.target_ids.unwrap_or_default());
        match page.next_token {
            Some(t) => next = Some(t),
            None => break,
        }
    }
    let mut out = Vec::new();
    for chunk in ids.chunks(25) {
        let got = svc
            .deploys
            .batch_get_deployment_targets(
                &ctx,
                BatchGetDeploymentTargetsInput {
                    deployment_id: deployment.clone(),
                    target_ids: chunk.to_vec(),
                },
            )
            .await?;
        for t in got.deployment_targets.unwrap_or_default() {
            let Some(i) = t.instance_target else {
                continue;
            };
            let events: Vec<DeployTargetEvent> = i
                .lifecycle_events
                .iter()
                .flatten()
                .map(|ev| DeployTargetEvent {
                    name: ev.lifecycle_event_name.clone(),
                    status: ev.status.map(|s| s.as_str().to_owned()),
                    start_time: ev.start_time,
                    end_time: ev.end_time,
                    context: ev
                        .diagnostics
                        .as_ref()
                        .and_then(|d| d.message.clone())
                        .map(|m| DeployTargetEventContext {
                            ssm_command_id: None,
                            message: Some(m),
                        }),
                })
                .collect();
            out.push(DeployActionExecutionTarget {
                target_id: i.target_id.clone(),
                target_type: Some("Instance".into()),
                status: i.status.map(|s| s.as_str().to_owned()),
                start_time: events.iter().filter_map(|e| e.start_time).min(),
                end_time: events.iter().filter_map(|e| e.end_time).max(),
                events: Some(events),
            });
        }
    }
    Ok(out)
}
