//! The Commands action (`Compute/AWS/Commands`, V2 pipelines): the action's `commands` run as
//! one build on the build executor, without a project of the user's. The build belongs to the
//! managed project `codepipeline/<pipeline>` and logs to `/aws/codepipeline/<pipeline>`; its
//! source is the first input artifact (others are secondary sources), its environment adds the
//! action's `environmentVariables`, the `outputVariables` are exported and become the
//! action's output variables, and the output artifact holds the files matching its `files`
//! patterns (everything when it names none). Builds time out after 55 minutes, as AWS's do.

use serde_json::json;

use super::{ActionJob, ActionResult, codebuild};

/// How long a Commands build may run.
const TIMEOUT_MINUTES: i32 = 55;

/// The buildspec the action's fields describe (JSON, which the YAML reader takes).
fn buildspec(job: &ActionJob) -> String {
    let d = &job.declaration;
    let mut spec = json!({
        "version": 0.2,
        "phases": { "build": { "commands": d.commands.clone().unwrap_or_default() } },
    });
    let exported = d.output_variables.clone().unwrap_or_default();
    let plain: serde_json::Map<String, serde_json::Value> = d
        .environment_variables
        .iter()
        .flatten()
        .filter(|v| v.r#type.as_ref().is_none_or(|t| t.as_str() == "PLAINTEXT"))
        .map(|v| (v.name.clone(), json!(v.value)))
        .collect();
    let secrets: serde_json::Map<String, serde_json::Value> = d
        .environment_variables
        .iter()
        .flatten()
        .filter(|v| {
            v.r#type
                .as_ref()
                .is_some_and(|t| t.as_str() == "SECRETS_MANAGER")
        })
        .map(|v| (v.name.clone(), json!(v.value)))
        .collect();
    let mut env = serde_json::Map::new();
    if !exported.is_empty() {
        env.insert("exported-variables".into(), json!(exported));
    }
    if !plain.is_empty() {
        env.insert("variables".into(), plain.into());
    }
    if !secrets.is_empty() {
        env.insert("secrets-manager".into(), secrets.into());
    }
    if !env.is_empty() {
        spec["env"] = env.into();
    }
    if let Some(out) = d.output_artifacts.iter().flatten().next() {
        let files = out
            .files
            .clone()
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| vec!["**/*".to_owned()]);
        spec["artifacts"] = json!({ "files": files });
    }
    // Over several lines, so that it reads as an inline buildspec rather than a path.
    serde_json::to_string_pretty(&spec).unwrap_or_default()
}

pub(super) async fn run(job: &ActionJob) -> ActionResult {
    let api = &job.svc.builds;
    let ctx = job.context();
    let mut ended = api.0.subscribe_finished();
    let build_id = match &job.external_id {
        Some(id) => id.clone(),
        None => {
            let project = format!("codepipeline/{}", job.pipeline);
            let group = format!("/aws/codepipeline/{}", job.pipeline);
            if let Err(e) = api
                .ensure_managed_project(&project, &group, TIMEOUT_MINUTES)
                .await
            {
                return ActionResult::failed("JobFailed", e.message);
            }
            match codebuild::start(job, &ctx, &project, Some(buildspec(job))).await {
                Ok(id) => id,
                Err(result) => return result,
            }
        }
    };
    let mut result = codebuild::wait(job, &ctx, &mut ended, &build_id).await;
    if result.succeeded {
        // Only the variables the action names are its outputs.
        let wanted = job.declaration.output_variables.clone().unwrap_or_default();
        result.variables.retain(|k, _| wanted.contains(k));
    }
    result
}
