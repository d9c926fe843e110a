//! The CodeBuild build/test action: a build of `ProjectName` whose source is the primary input
//! artifact (`PrimarySource`, else the first), other inputs as secondary sources named after
//! their artifacts, `EnvironmentVariables` (a JSON list, variables already resolved) added,
//! and its artifacts (the first output artifact; the others from `secondary-artifacts` whose
//! identifiers are their names) written to the artifact store. The build's exported variables
//! become the action's output variables; the action succeeds when the build does.

use ferry_model::codebuild::{
    ArtifactNamespace, ArtifactPackaging, ArtifactsType, BatchGetBuildsInput, CodeBuild,
    EnvironmentVariable, ProjectArtifacts, ProjectSource, SourceType, StartBuildInput, StatusType,
};

use super::{ActionJob, ActionResult};
use crate::record::ArtifactLoc;

pub(super) async fn run(job: &ActionJob) -> ActionResult {
    let api = &job.svc.builds;
    let ctx = job.context();
    let mut ended = api.0.subscribe_finished();
    let build_id = match &job.external_id {
        Some(id) => id.clone(),
        None => match start(job, &ctx).await {
            Ok(id) => id,
            Err(result) => return result,
        },
    };
    loop {
        let got = api
            .batch_get_builds(
                &ctx,
                BatchGetBuildsInput {
                    ids: vec![build_id.clone()],
                },
            )
            .await;
        let build = match got {
            Ok(out) => out.builds.unwrap_or_default().into_iter().next(),
            Err(e) => return ActionResult::failed("JobFailed", e.message),
        };
        let Some(build) = build else {
            return ActionResult::failed("JobFailed", format!("The build {build_id} is gone"));
        };
        if build.build_complete != Some(true) {
            if !job.pause_until(&mut ended).await {
                return ActionResult::interrupted();
            };
            continue;
        }
        let status = build.build_status.unwrap_or_default();
        let mut result = ActionResult {
            succeeded: status == StatusType::Succeeded,
            external_id: Some(build_id.clone()),
            summary: Some(format!("Build {} {}", build_id, status.as_str())),
            ..Default::default()
        };
        if !result.succeeded {
            let why = build
                .phases
                .iter()
                .flatten()
                .filter_map(|p| p.contexts.as_ref())
                .flatten()
                .filter_map(|c| c.message.clone())
                .find(|m| !m.is_empty())
                .unwrap_or_else(|| format!("Build terminated with state: {}", status.as_str()));
            result.error = Some(("JobFailed".into(), why));
            return result;
        }
        for v in build.exported_environment_variables.iter().flatten() {
            if let Some(name) = &v.name {
                result
                    .variables
                    .insert(name.clone(), v.value.clone().unwrap_or_default());
            }
        }
        result.outputs = job.outputs.clone();
        return result;
    }
}

fn artifacts_to(loc: &ArtifactLoc, identifier: Option<String>) -> ProjectArtifacts {
    let (path, name) = loc.key.rsplit_once('/').unwrap_or(("", &loc.key));
    ProjectArtifacts {
        r#type: ArtifactsType::S3,
        location: Some(loc.bucket.clone()),
        path: Some(path.to_owned()),
        name: Some(name.to_owned()),
        namespace_type: Some(ArtifactNamespace::None),
        packaging: Some(ArtifactPackaging::Zip),
        artifact_identifier: identifier,
        ..Default::default()
    }
}

async fn start(job: &ActionJob, ctx: &ferry_wire::RequestContext) -> Result<String, ActionResult> {
    let project = job.config.get("ProjectName").cloned().unwrap_or_default();
    let primary_name = job
        .config
        .get("PrimarySource")
        .cloned()
        .or_else(|| job.inputs.first().map(|(n, _)| n.clone()));
    let primary = job
        .inputs
        .iter()
        .find(|(n, _)| Some(n) == primary_name.as_ref())
        .ok_or_else(|| {
            ActionResult::failed("JobFailed", "The CodeBuild action has no input artifact")
        })?;
    let secondary: Vec<ProjectSource> = job
        .inputs
        .iter()
        .filter(|(n, _)| n != &primary.0)
        .map(|(n, loc)| ProjectSource {
            r#type: SourceType::S3,
            location: Some(format!("{}/{}", loc.bucket, loc.key)),
            source_identifier: Some(n.clone()),
            ..Default::default()
        })
        .collect();
    let env: Vec<EnvironmentVariable> = match job.config.get("EnvironmentVariables") {
        None => Vec::new(),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            ActionResult::failed(
                "JobFailed",
                format!("EnvironmentVariables is not a JSON list of name/value/type: {e}"),
            )
        })?,
    };
    let mut input = StartBuildInput {
        project_name: project.clone(),
        source_type_override: Some(SourceType::S3),
        source_location_override: Some(format!("{}/{}", primary.1.bucket, primary.1.key)),
        environment_variables_override: (!env.is_empty()).then_some(env),
        secondary_sources_override: (!secondary.is_empty()).then_some(secondary),
        artifacts_override: Some(ProjectArtifacts {
            r#type: ArtifactsType::NoArtifacts,
            ..Default::default()
        }),
        ..Default::default()
    };
    if let Some((_, loc)) = job.outputs.first() {
        input.artifacts_override = Some(artifacts_to(loc, None));
    }
    if job.outputs.len() > 1 {
        input.secondary_artifacts_override = Some(
            job.outputs[1..]
                .iter()
                .map(|(n, loc)| artifacts_to(loc, Some(n.clone())))
                .collect(),
        );
    }
    let started = job.svc.builds.start_build(ctx, input).await.map_err(|e| {
        ActionResult::failed("JobFailed", format!("StartBuild {project}: {}", e.message))
    })?;
    let id = started.build.and_then(|b| b.id).unwrap_or_default();
    job.started(&id, None).await;
    Ok(id)
}
