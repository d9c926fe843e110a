//! The CodeBuild build/test action: a build of `ProjectName` whose source is the primary input
//! artifact (`PrimarySource`, else the first), other inputs as secondary sources named after
//! their artifacts, `EnvironmentVariables` (a JSON list, variables already resolved) added,
//! and its artifacts (the first output artifact; the others from `secondary-artifacts` whose
//! identifiers are their names) written to the artifact store. An input that is a
//! `CODEBUILD_CLONE_REF` becomes a full clone of its repository at the commit. The build's
//! exported variables become the action's output variables; the action succeeds when the
//! build does.
//!
//! With `BatchEnabled` the action runs a batch build instead (`batch.rs` in this folder).

use ferry_model::codebuild::{
    ArtifactNamespace, ArtifactPackaging, ArtifactsType, BatchGetBuildsInput, CodeBuild,
    EnvironmentVariable, ProjectArtifacts, ProjectSource, ProjectSourceVersion, SourceType,
    StartBuildInput, StatusType,
};

use super::codecommit::{CLONE_REF_TYPE, CloneRef};
use super::{ActionJob, ActionResult};
use crate::record::ArtifactLoc;

pub(super) async fn run(job: &ActionJob) -> ActionResult {
    if job.config.get("BatchEnabled").map(String::as_str) == Some("true") {
        return super::codebuild_batch::run(job).await;
    }
    let api = &job.svc.builds;
    let ctx = job.context();
    let mut ended = api.0.subscribe_finished();
    let build_id = match &job.external_id {
        Some(id) => id.clone(),
        None => match start(job, &ctx, &project_name(job), None).await {
            Ok(id) => id,
            Err(result) => return result,
        },
    };
    wait(job, &ctx, &mut ended, &build_id).await
}

/// Waits for build `build_id` to end and turns it into the action's result.
pub(super) async fn wait(
    job: &ActionJob,
    ctx: &ferry_wire::RequestContext,
    ended: &mut tokio::sync::broadcast::Receiver<String>,
    build_id: &str,
) -> ActionResult {
    let api = &job.svc.builds;
    loop {
        let got = api
            .batch_get_builds(
                ctx,
                BatchGetBuildsInput {
                    ids: vec![build_id.to_owned()],
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
            if !job.pause_until(ended).await {
                return ActionResult::interrupted();
            };
            continue;
        }
        let status = build.build_status.unwrap_or_default();
        let mut result = ActionResult {
            succeeded: status == StatusType::Succeeded,
            external_id: Some(build_id.to_owned()),
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

/// A zip artifact written to `loc` (its last path segment is the name).
pub(super) fn artifacts_to(loc: &ArtifactLoc, identifier: Option<String>) -> ProjectArtifacts {
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

/// Where a build's sources come from: the primary source's type, location and version, and
/// the secondary sources with their versions.
pub(super) struct Sources {
    pub kind: SourceType,
    pub location: String,
    pub version: Option<String>,
    pub secondary: Vec<ProjectSource>,
    pub secondary_versions: Vec<ProjectSourceVersion>,
}

/// The clone reference stored at `loc`, when the artifact is one.
async fn clone_ref(job: &ActionJob, loc: &ArtifactLoc) -> Option<CloneRef> {
    let (bytes, content_type) = job
        .svc
        .s3
        .read_small(&loc.bucket, &loc.key, 64 * 1024)
        .await
        .ok()
        .flatten()?;
    (content_type == CLONE_REF_TYPE)
        .then(|| serde_json::from_slice(&bytes).ok())
        .flatten()
}

/// The build's sources from the action's input artifacts.
pub(super) async fn sources(job: &ActionJob) -> Result<Sources, ActionResult> {
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
            ActionResult::failed(
                "JobFailed",
                format!(
                    "The action has no input artifact {}",
                    primary_name.unwrap_or_default()
                ),
            )
        })?;
    let mut out = match clone_ref(job, &primary.1).await {
        Some(r) => Sources {
            kind: SourceType::Codecommit,
            location: r.clone_url,
            version: Some(r.commit_id),
            secondary: Vec::new(),
            secondary_versions: Vec::new(),
        },
        None => Sources {
            kind: SourceType::Codepipeline,
            location: format!("{}/{}", primary.1.bucket, primary.1.key),
            version: None,
            secondary: Vec::new(),
            secondary_versions: Vec::new(),
        },
    };
    for (name, loc) in job.inputs.iter().filter(|(n, _)| n != &primary.0) {
        match clone_ref(job, loc).await {
            Some(r) => {
                out.secondary.push(ProjectSource {
                    r#type: SourceType::Codecommit,
                    location: Some(r.clone_url),
                    source_identifier: Some(name.clone()),
                    ..Default::default()
                });
                out.secondary_versions.push(ProjectSourceVersion {
                    source_identifier: name.clone(),
                    source_version: r.commit_id,
                });
            }
            None => out.secondary.push(ProjectSource {
                r#type: SourceType::S3,
                location: Some(format!("{}/{}", loc.bucket, loc.key)),
                source_identifier: Some(name.clone()),
                ..Default::default()
            }),
        }
    }
    Ok(out)
}

/// `EnvironmentVariables` of the configuration.
pub(super) fn variables(job: &ActionJob) -> Result<Vec<EnvironmentVariable>, String> {
    match job.config.get("EnvironmentVariables") {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            format!("EnvironmentVariables is not a JSON list of name/value/type: {e}")
        }),
    }
}

/// The configured project.
pub(super) fn project_name(job: &ActionJob) -> String {
    job.config.get("ProjectName").cloned().unwrap_or_default()
}

/// Starts a build of `project`; `buildspec` overrides the project's (the Commands action's).
pub(super) async fn start(
    job: &ActionJob,
    ctx: &ferry_wire::RequestContext,
    project: &str,
    buildspec: Option<String>,
) -> Result<String, ActionResult> {
    let src = sources(job).await?;
    let env = variables(job).map_err(|m| ActionResult::failed("JobFailed", m))?;
    let mut input = StartBuildInput {
        project_name: project.to_owned(),
        source_type_override: Some(src.kind),
        source_location_override: Some(src.location),
        source_version: src.version,
        git_clone_depth_override: (src.kind == SourceType::Codecommit).then_some(0),
        environment_variables_override: (!env.is_empty()).then_some(env),
        secondary_sources_override: (!src.secondary.is_empty()).then_some(src.secondary),
        secondary_sources_version_override: (!src.secondary_versions.is_empty())
            .then_some(src.secondary_versions),
        buildspec_override: buildspec,
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
