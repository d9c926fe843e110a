//! The S3 actions. Source (`S3Bucket`, `S3ObjectKey`): the object (the latest version, or the
//! version the execution was started with) copied into the artifact store as the output
//! artifact, with the variables `ETag` and `VersionId`. Deploy (`BucketName`, `Extract`,
//! `ObjectKey`): the input artifact unpacked into the bucket under `ObjectKey` as a prefix
//! (`Extract: true`), or stored whole as `ObjectKey` (`Extract: false`).

use std::path::{Path, PathBuf};

use super::{ActionJob, ActionResult};
use crate::record::SourceRev;

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch() -> std::io::Result<Scratch> {
    let dir =
        std::env::temp_dir().join(format!("ferry-s3-action-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(Scratch(dir))
}

pub(super) async fn source(job: &ActionJob) -> ActionResult {
    let bucket = job.config.get("S3Bucket").cloned().unwrap_or_default();
    let key = job.config.get("S3ObjectKey").cloned().unwrap_or_default();
    let svc = &job.svc;
    let version = match &job.source_override {
        Some((kind, value)) if kind == "S3_OBJECT_VERSION_ID" => Some(value.clone()),
        _ => None,
    };
    let object = match svc
        .store
        .object_version(&bucket, &key, version.as_deref())
        .await
    {
        Ok(Some(o)) if !o.is_delete_marker => o,
        Ok(_) => {
            return ActionResult::failed(
                "JobFailed",
                format!("The object s3://{bucket}/{key} does not exist"),
            );
        }
        Err(e) => return ActionResult::failed("JobFailed", e.to_string()),
    };
    let dir = match scratch() {
        Ok(d) => d,
        Err(e) => return ActionResult::failed("JobFailed", e.to_string()),
    };
    let file = dir.0.join("source.zip");
    if let Err(e) = svc
        .s3
        .read_to_file(&bucket, &key, Some(&object.version_id), &file)
        .await
    {
        return ActionResult::failed("JobFailed", e.message);
    }
    let mut result = ActionResult {
        succeeded: true,
        external_id: Some(object.version_id.clone()),
        summary: Some(format!("s3://{bucket}/{key}")),
        ..Default::default()
    };
    if let Some((name, loc)) = job.outputs.first().cloned() {
        if let Err(e) = svc
            .s3
            .ensure_bucket(&loc.bucket, &svc.settings.region, "ferry")
            .await
        {
            return ActionResult::failed("JobFailed", format!("artifact store: {}", e.message));
        }
        if let Err(e) = svc
            .s3
            .put_local_file(&loc.bucket, &loc.key, &file, "application/zip", &[])
            .await
        {
            return ActionResult::failed("JobFailed", e.message);
        }
        result.outputs.push((name, loc));
    }
    result.variables = [
        ("ETag".to_owned(), object.etag.clone()),
        ("VersionId".to_owned(), object.version_id.clone()),
    ]
    .into();
    result.source_revision = Some(SourceRev {
        action_name: job.declaration.name.clone(),
        revision_id: object.version_id,
        revision_summary: Some(format!("s3://{bucket}/{key}")),
    });
    result
}

/// Every file under `dir`, with its path relative to `dir` (`/`-separated).
fn files(dir: &Path, prefix: &str, out: &mut Vec<(PathBuf, String)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            files(&entry.path(), &rel, out)?;
        } else if kind.is_file() {
            out.push((entry.path(), rel));
        }
    }
    Ok(())
}

pub(super) async fn deploy(job: &ActionJob) -> ActionResult {
    let bucket = job.config.get("BucketName").cloned().unwrap_or_default();
    let extract = job
        .config
        .get("Extract")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let key = job.config.get("ObjectKey").cloned().unwrap_or_default();
    let Some((_, input)) = job.inputs.first() else {
        return ActionResult::failed("JobFailed", "The S3 deploy action has no input artifact");
    };
    let svc = &job.svc;
    let dir = match scratch() {
        Ok(d) => d,
        Err(e) => return ActionResult::failed("JobFailed", e.to_string()),
    };
    let zip = dir.0.join("artifact.zip");
    if let Err(e) = svc
        .s3
        .read_to_file(&input.bucket, &input.key, None, &zip)
        .await
    {
        return ActionResult::failed("JobFailed", e.message);
    }
    let uploads = if extract {
        let out = dir.0.join("files");
        let (z, o) = (zip.clone(), out.clone());
        match tokio::task::spawn_blocking(move || ferry_build::archive::unzip(&z, &o)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return ActionResult::failed("JobFailed", format!("unpacking the artifact: {e}"));
            }
            Err(e) => return ActionResult::failed("JobFailed", e.to_string()),
        }
        let mut list = Vec::new();
        if let Err(e) = files(&out, "", &mut list) {
            return ActionResult::failed("JobFailed", e.to_string());
        }
        let prefix = key.trim_matches('/');
        list.into_iter()
            .map(|(path, rel)| {
                let k = if prefix.is_empty() {
                    rel
                } else {
                    format!("{prefix}/{rel}")
                };
                (path, k)
            })
            .collect()
    } else {
        vec![(zip.clone(), key.clone())]
    };
    for (path, k) in &uploads {
        if let Err(e) = svc
            .s3
            .put_local_file(&bucket, k, path, "application/octet-stream", &[])
            .await
        {
            return ActionResult::failed("JobFailed", format!("s3://{bucket}/{k}: {}", e.message));
        }
    }
    ActionResult {
        succeeded: true,
        summary: Some(format!("{} object(s) to s3://{bucket}", uploads.len())),
        ..Default::default()
    }
}
