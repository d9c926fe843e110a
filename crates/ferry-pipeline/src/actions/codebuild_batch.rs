//! The CodeBuild action with `BatchEnabled`: one batch build (StartBuildBatch) of the
//! project from the action's inputs. Each build of the batch writes its artifact under its
//! batch identifier, below a folder derived from the action's first output artifact. Without
//! `CombineArtifacts`, each output artifact is the artifact of the build whose identifier is
//! its name; with it, the one output artifact is a zip holding every build's artifact in a
//! folder named after the build's identifier. The action succeeds when the batch does.

use std::path::PathBuf;

use ferry_model::codebuild::{
    ArtifactNamespace, ArtifactPackaging, ArtifactsType, BatchGetBuildBatchesInput, BuildBatch,
    CodeBuild, ProjectArtifacts, StartBuildBatchInput, StatusType,
};

use super::codebuild::{project_name, sources, variables};
use super::{ActionJob, ActionResult};
use crate::record::ArtifactLoc;

/// The zip name each build of the batch writes, below `<folder>/<identifier>/`.
const BUILD_ARTIFACT: &str = "artifact.zip";

/// The folder the batch's builds write their artifacts under (kept across restarts because
/// the output locations are).
fn folder(job: &ActionJob) -> Option<ArtifactLoc> {
    job.outputs.first().map(|(_, loc)| ArtifactLoc {
        bucket: loc.bucket.clone(),
        key: format!("{}-batch", loc.key),
    })
}

pub(super) async fn run(job: &ActionJob) -> ActionResult {
    let api = &job.svc.builds;
    let ctx = job.context();
    let mut ended = api.0.subscribe_finished();
    let batch_id = match &job.external_id {
        Some(id) => id.clone(),
        None => match start(job, &ctx).await {
            Ok(id) => id,
            Err(result) => return result,
        },
    };
    let batch = loop {
        let got = api
            .batch_get_build_batches(
                &ctx,
                BatchGetBuildBatchesInput {
                    ids: vec![batch_id.clone()],
                },
            )
            .await;
        let batch = match got {
            Ok(out) => out.build_batches.unwrap_or_default().into_iter().next(),
            Err(e) => return ActionResult::failed("JobFailed", e.message),
        };
        let Some(batch) = batch else {
            return ActionResult::failed("JobFailed", format!("The batch {batch_id} is gone"));
        };
        if batch.complete == Some(true) {
            break batch;
        }
        if !job.pause_until(&mut ended).await {
            return ActionResult::interrupted();
        }
    };
    let status = batch.build_batch_status.unwrap_or_default();
    let mut result = ActionResult {
        succeeded: status == StatusType::Succeeded,
        external_id: Some(batch_id.clone()),
        summary: Some(format!("Batch build {batch_id} {}", status.as_str())),
        ..Default::default()
    };
    if !result.succeeded {
        result.error = Some((
            "JobFailed".into(),
            format!("Batch build terminated with state: {}", status.as_str()),
        ));
        return result;
    }
    match collect(job, &batch).await {
        Ok(outputs) => result.outputs = outputs,
        Err(message) => {
            result.succeeded = false;
            result.error = Some(("JobFailed".into(), message));
        }
    }
    result
}

async fn start(job: &ActionJob, ctx: &ferry_wire::RequestContext) -> Result<String, ActionResult> {
    let project = project_name(job);
    let src = sources(job).await?;
    let env = variables(job).map_err(|m| ActionResult::failed("JobFailed", m))?;
    let artifacts = match folder(job) {
        Some(f) => ProjectArtifacts {
            r#type: ArtifactsType::S3,
            location: Some(f.bucket),
            path: Some(f.key),
            name: Some(BUILD_ARTIFACT.to_owned()),
            namespace_type: Some(ArtifactNamespace::None),
            packaging: Some(ArtifactPackaging::Zip),
            ..Default::default()
        },
        None => ProjectArtifacts {
            r#type: ArtifactsType::NoArtifacts,
            ..Default::default()
        },
    };
    let input = StartBuildBatchInput {
        project_name: project.clone(),
        source_type_override: Some(src.kind),
        source_location_override: Some(src.location),
        source_version: src.version,
        environment_variables_override: (!env.is_empty()).then_some(env),
        secondary_sources_override: (!src.secondary.is_empty()).then_some(src.secondary),
        secondary_sources_version_override: (!src.secondary_versions.is_empty())
            .then_some(src.secondary_versions),
        artifacts_override: Some(artifacts),
        ..Default::default()
    };
    let started = job
        .svc
        .builds
        .start_build_batch(ctx, input)
        .await
        .map_err(|e| {
            ActionResult::failed(
                "JobFailed",
                format!("StartBuildBatch {project}: {}", e.message),
            )
        })?;
    let id = started.build_batch.and_then(|b| b.id).unwrap_or_default();
    job.started(&id, None).await;
    Ok(id)
}

/// The identifiers of the batch's builds that succeeded.
fn succeeded(batch: &BuildBatch) -> Vec<String> {
    batch
        .build_groups
        .iter()
        .flatten()
        .filter(|g| {
            g.current_build_summary
                .as_ref()
                .is_some_and(|s| s.build_status == Some(StatusType::Succeeded))
        })
        .filter_map(|g| g.identifier.clone())
        .collect()
}

/// The action's output artifacts from the builds' artifacts.
async fn collect(
    job: &ActionJob,
    batch: &BuildBatch,
) -> Result<Vec<(String, ArtifactLoc)>, String> {
    let Some(folder) = folder(job) else {
        return Ok(Vec::new());
    };
    let built = |identifier: &str| ArtifactLoc {
        bucket: folder.bucket.clone(),
        key: format!("{}/{identifier}/{BUILD_ARTIFACT}", folder.key),
    };
    let ids = succeeded(batch);
    let combine = job.config.get("CombineArtifacts").map(String::as_str) == Some("true");
    if !combine {
        let mut outputs = Vec::new();
        for (name, _) in &job.outputs {
            if !ids.contains(name) {
                return Err(format!(
                    "The output artifact {name} must be named after a build of the batch (succeeded: {})",
                    ids.join(", ")
                ));
            }
            outputs.push((name.clone(), built(name)));
        }
        return Ok(outputs);
    }
    let (name, target) = job.outputs[0].clone();
    let tmp = std::env::temp_dir().join(format!("ferry-combine-{}", uuid::Uuid::new_v4()));
    let combined = combine_zips(job, &ids, &built, &tmp, &target).await;
    let _ = tokio::fs::remove_dir_all(&tmp).await;
    combined.map(|()| vec![(name, target)])
}

/// Unpacks each build's zip into `<tmp>/tree/<identifier>/` and stores one zip of the tree
/// at `target`.
async fn combine_zips(
    job: &ActionJob,
    ids: &[String],
    built: &impl Fn(&str) -> ArtifactLoc,
    tmp: &std::path::Path,
    target: &ArtifactLoc,
) -> Result<(), String> {
    let s3 = &job.svc.s3;
    let tree = tmp.join("tree");
    tokio::fs::create_dir_all(&tree)
        .await
        .map_err(|e| e.to_string())?;
    for id in ids {
        let loc = built(id);
        let zip = tmp.join(format!("{id}.zip"));
        match s3.read_to_file(&loc.bucket, &loc.key, None, &zip).await {
            Ok(_) => {}
            // A build that wrote no artifact adds nothing.
            Err(e) if e.code == "NoSuchKey" => continue,
            Err(e) => return Err(format!("reading {id}'s artifact: {}", e.message)),
        }
        let dest = tree.join(id);
        tokio::task::spawn_blocking(move || ferry_build::archive::unzip(&zip, &dest))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("unpacking {id}'s artifact: {e}"))?;
    }
    let out = tmp.join("combined.zip");
    let files = list_files(&tree).map_err(|e| e.to_string())?;
    let out2 = out.clone();
    tokio::task::spawn_blocking(move || ferry_build::archive::zip_files(&files, &out2))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("packing the combined artifact: {e}"))?;
    s3.put_local_file(&target.bucket, &target.key, &out, "application/zip", &[])
        .await
        .map_err(|e| format!("storing the combined artifact: {}", e.message))?;
    Ok(())
}

/// Every regular file below `root`, with its path relative to `root` (`/`-separated).
fn list_files(root: &std::path::Path) -> std::io::Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file()
                && let Ok(rel) = path.strip_prefix(root)
            {
                let name = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((path.clone(), name));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}
