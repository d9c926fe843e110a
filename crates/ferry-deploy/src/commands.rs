//! The agent command plane (`codedeploy-commands`, JSON 1.1, target prefix
//! `CodeDeployCommandService_v20141006`, reference §4.8): agents long-poll for the commands of
//! their host, fetch the deployment specification, acknowledge, send progress and complete.
//! A request is served only for the host whose registered IAM ARN signed it.

use std::sync::Arc;

use ferry_store::deploys::CommandRow;
use ferry_wire::{AwsError, RequestContext};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::service::{DeployService, now};

/// The `X-Amz-Target` prefixes the command plane answers to.
pub const TARGET_PREFIXES: &[&str] = &[
    "CodeDeployCommandService_v20141006",
    "CodeDeployCommandService",
];
/// The SigV4 service names agents sign with.
pub const SIGNING_NAMES: &[&str] = &["codedeploy-commands", "codedeploy-commands-secure"];
/// The most script output kept from progress updates.
const MAX_PROGRESS_LOG: usize = 4096;

fn client(message: impl Into<String>) -> AwsError {
    AwsError::new("ClientException", message)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HostInput {
    host_identifier: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SpecInput {
    deployment_execution_id: String,
    host_identifier: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CommandInput {
    host_command_identifier: String,
    #[serde(default)]
    command_status: Option<String>,
    #[serde(default)]
    diagnostics: Option<Envelope>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct HostCommand {
    host_command_identifier: String,
    host_identifier: String,
    deployment_execution_id: String,
    command_name: String,
    nonce: i64,
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, AwsError> {
    serde_json::from_slice(body).map_err(|e| {
        AwsError::new(
            "SerializationException",
            format!("The request is not valid: {e}"),
        )
    })
}

/// Answers one command-plane operation.
pub async fn dispatch(
    svc: &Arc<DeployService>,
    ctx: &RequestContext,
    op: &str,
    body: &[u8],
) -> Result<Vec<u8>, AwsError> {
    let out = match op {
        "PollHostCommand" => poll(svc, ctx, parse(body)?).await?,
        "GetDeploymentSpecification" => specification(svc, ctx, parse(body)?).await?,
        "PutHostCommandAcknowledgement" => acknowledge(svc, ctx, parse(body)?).await?,
        "PutHostCommandComplete" => complete(svc, ctx, parse(body)?).await?,
        "PostHostCommandUpdate" => update(svc, ctx, parse(body)?).await?,
        other => {
            return Err(AwsError::new(
                "UnknownOperationException",
                format!("Unknown operation {other}"),
            ));
        }
    };
    Ok(serde_json::to_vec(&out).unwrap_or_default())
}

/// The registered instance whose agent signed this request as `host`.
async fn instance_for(
    svc: &DeployService,
    ctx: &RequestContext,
    host: &str,
) -> Result<String, AwsError> {
    if ctx.principal_arn != host {
        return Err(client(format!(
            "The request was signed by {} but names host {host}; an agent may only act for its own instance.",
            ctx.principal_arn
        )));
    }
    let inst = svc
        .store
        .instance_by_arn(host)
        .await
        .map_err(AwsError::internal)?
        .ok_or_else(|| client(format!("No on-premises instance is registered for {host}.")))?;
    svc.store
        .touch_instance(&inst.name, now().millis())
        .await
        .map_err(AwsError::internal)?;
    Ok(inst.name)
}

/// A command of `ctx`'s own host.
async fn own_command(
    svc: &DeployService,
    ctx: &RequestContext,
    id: &str,
) -> Result<CommandRow, AwsError> {
    let c = svc
        .store
        .command(id)
        .await
        .map_err(AwsError::internal)?
        .ok_or_else(|| client(format!("No host command {id}.")))?;
    instance_for(svc, ctx, &c.host_arn).await?;
    Ok(c)
}

fn execution_id(c: &CommandRow) -> String {
    format!(
        "ferry/{}/{}/{}",
        c.deployment_id, c.instance_name, c.command_id
    )
}

async fn poll(
    svc: &Arc<DeployService>,
    ctx: &RequestContext,
    input: HostInput,
) -> Result<serde_json::Value, AwsError> {
    instance_for(svc, ctx, &input.host_identifier).await?;
    let signal = svc.host_signal(&input.host_identifier);
    let deadline = tokio::time::Instant::now() + svc.settings.long_poll;
    loop {
        let next = svc
            .store
            .next_command(&input.host_identifier)
            .await
            .map_err(AwsError::internal)?;
        if let Some(c) = next {
            return Ok(json!({"HostCommand": HostCommand {
                host_command_identifier: c.command_id.clone(),
                host_identifier: c.host_arn.clone(),
                deployment_execution_id: execution_id(&c),
                command_name: c.command_name.clone(),
                nonce: c.created_ms,
            }}));
        }
        tokio::select! {
            _ = signal.notified() => {}
            _ = tokio::time::sleep_until(deadline) => return Ok(json!({})),
        }
    }
}

async fn specification(
    svc: &Arc<DeployService>,
    ctx: &RequestContext,
    input: SpecInput,
) -> Result<serde_json::Value, AwsError> {
    instance_for(svc, ctx, &input.host_identifier).await?;
    let command_id = input
        .deployment_execution_id
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let c = own_command(svc, ctx, command_id).await?;
    if c.host_arn != input.host_identifier {
        return Err(client("The deployment execution belongs to another host."));
    }
    let spec = crate::spec::for_deployment(svc, &c.deployment_id)
        .await?
        .ok_or_else(|| client(format!("No deployment {}.", c.deployment_id)))?;
    Ok(json!({
        "DeploymentSystem": "CodeDeploy",
        "DeploymentSpecification": {
            "GenericEnvelope": {"Format": "TEXT/JSON", "Payload": spec},
        },
    }))
}

async fn acknowledge(
    svc: &Arc<DeployService>,
    ctx: &RequestContext,
    input: CommandInput,
) -> Result<serde_json::Value, AwsError> {
    let c = own_command(svc, ctx, &input.host_command_identifier).await?;
    svc.store
        .set_command_status(
            &c.command_id,
            &["Pending"],
            "InProgress",
            None,
            now().millis(),
        )
        .await
        .map_err(AwsError::internal)?;
    let status = svc
        .store
        .command(&c.command_id)
        .await
        .map_err(AwsError::internal)?
        .map_or_else(|| "Failed".to_owned(), |c| c.status);
    svc.progressed();
    Ok(json!({"CommandStatus": status}))
}

async fn complete(
    svc: &Arc<DeployService>,
    ctx: &RequestContext,
    input: CommandInput,
) -> Result<serde_json::Value, AwsError> {
    let c = own_command(svc, ctx, &input.host_command_identifier).await?;
    let status = match input.command_status.as_deref() {
        Some("Succeeded") => "Succeeded",
        Some("Failed") => "Failed",
        other => {
            return Err(client(format!(
                "CommandStatus must be Succeeded or Failed, not {other:?}."
            )));
        }
    };
    let payload = input.diagnostics.and_then(|d| d.payload);
    if let Some(p) = &payload
        && serde_json::from_str::<serde_json::Value>(p).is_err()
    {
        return Err(client("Diagnostics.Payload must be JSON."));
    }
    svc.store
        .set_command_status(
            &c.command_id,
            &["Pending", "InProgress"],
            status,
            payload.as_deref(),
            now().millis(),
        )
        .await
        .map_err(AwsError::internal)?;
    svc.progressed();
    Ok(json!({}))
}

async fn update(
    svc: &Arc<DeployService>,
    ctx: &RequestContext,
    input: CommandInput,
) -> Result<serde_json::Value, AwsError> {
    let c = own_command(svc, ctx, &input.host_command_identifier).await?;
    let new_log = input
        .diagnostics
        .and_then(|d| d.payload)
        .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok())
        .and_then(|v| v.get("log").and_then(|l| l.as_str()).map(str::to_owned));
    let diagnostics = match (&c.status[..], new_log) {
        ("InProgress", Some(more)) => {
            let before = c
                .diagnostics
                .as_deref()
                .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                .and_then(|v| v.get("log").and_then(|l| l.as_str()).map(str::to_owned))
                .unwrap_or_default();
            let mut log = before + &more;
            if log.len() > MAX_PROGRESS_LOG {
                let mut cut = log.len() - MAX_PROGRESS_LOG;
                while !log.is_char_boundary(cut) {
                    cut += 1;
                }
                log = log[cut..].to_owned();
            }
            Some(json!({"log": log}).to_string())
        }
        _ => None,
    };
    svc.store
        .touch_command(&c.command_id, diagnostics.as_deref(), now().millis())
        .await
        .map_err(AwsError::internal)?;
    Ok(json!({"CommandStatus": c.status}))
}
