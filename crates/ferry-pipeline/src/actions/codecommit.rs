//! The CodeCommit source action: the head of `BranchName` in a Ferry repository (or the commit
//! the execution was started with), its tree packed as a zip without `.git` (`CODE_ZIP`) into
//! the artifact store, and the commit's variables: `CommitId`, `CommitMessage`,
//! `RepositoryName`, `BranchName`, `AuthorDate`, `CommitterDate`. With `OutputArtifactFormat`
//! `CODEBUILD_CLONE_REF` the artifact is instead a small JSON reference ([`CloneRef`]) that a
//! CodeBuild action turns into a full clone of the repository at that commit.

use std::path::Path;

use super::{ActionJob, ActionResult};
use crate::record::SourceRev;

/// The content type that marks a `CODEBUILD_CLONE_REF` artifact in the artifact store.
pub(crate) const CLONE_REF_TYPE: &str = "application/vnd.ferry.codebuild-clone-ref+json";

/// What a `CODEBUILD_CLONE_REF` artifact holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CloneRef {
    pub repository_name: String,
    pub branch_name: String,
    pub commit_id: String,
    pub clone_url: String,
}

async fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = tokio::process::Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .output()
        .await
        .map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// ISO-8601 in UTC, as CodePipeline shows commit dates (`2019-10-29T03:32:21Z`).
fn iso(epoch: &str) -> String {
    epoch
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

pub(super) async fn run(job: &ActionJob) -> ActionResult {
    let repo = job
        .config
        .get("RepositoryName")
        .cloned()
        .unwrap_or_default();
    let branch = job.config.get("BranchName").cloned().unwrap_or_default();
    let svc = &job.svc;
    let Some(row) = svc.commit.repository_for_git(&repo).await else {
        return ActionResult::failed("JobFailed", format!("The repository {repo} does not exist"));
    };
    let dir = svc.commit.git.path(&row.id);
    let wanted = match &job.source_override {
        Some((kind, value)) if kind == "COMMIT_ID" => value.clone(),
        _ => format!("refs/heads/{branch}"),
    };
    let commit = match git(
        &dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{wanted}^{{commit}}"),
        ],
    )
    .await
    {
        Ok(c) if c.trim().len() == 40 => c.trim().to_owned(),
        _ => {
            return ActionResult::failed(
                "JobFailed",
                format!("The branch or commit {wanted} does not exist in repository {repo}"),
            );
        }
    };
    let meta = match git(&dir, &["show", "-s", "--format=%at%n%ct%n%B", &commit]).await {
        Ok(m) => m,
        Err(e) => return ActionResult::failed("JobFailed", e),
    };
    let mut lines = meta.splitn(3, '\n');
    let author = iso(lines.next().unwrap_or(""));
    let committer = iso(lines.next().unwrap_or(""));
    let message: String = lines
        .next()
        .unwrap_or("")
        .trim_end()
        .chars()
        .take(100_000)
        .collect();

    let mut result = ActionResult {
        succeeded: true,
        summary: Some(message.lines().next().unwrap_or("").to_owned()),
        external_id: Some(commit.clone()),
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
        if job.config.get("OutputArtifactFormat").map(String::as_str) == Some("CODEBUILD_CLONE_REF")
        {
            let reference = CloneRef {
                repository_name: repo.clone(),
                branch_name: branch.clone(),
                commit_id: commit.clone(),
                clone_url: svc.commit.clone_url_http(&repo),
            };
            let bytes = serde_json::to_vec(&reference).unwrap_or_default();
            if let Err(e) = svc
                .s3
                .put_bytes(&loc.bucket, &loc.key, &bytes, CLONE_REF_TYPE)
                .await
            {
                return ActionResult::failed("JobFailed", format!("artifact store: {}", e.message));
            }
            result.outputs.push((name, loc));
            return with_variables(
                job, result, repo, branch, commit, message, author, committer,
            );
        }
        let tmp = std::env::temp_dir().join(format!("ferry-source-{}.zip", uuid::Uuid::new_v4()));
        let tmp_s = tmp.to_string_lossy().into_owned();
        let packed = git(&dir, &["archive", "--format=zip", "-o", &tmp_s, &commit]).await;
        let stored = match packed {
            Ok(_) => svc
                .s3
                .put_local_file(&loc.bucket, &loc.key, &tmp, "application/zip", &[])
                .await
                .map(|_| ())
                .map_err(|e| e.message),
            Err(e) => Err(e),
        };
        let _ = tokio::fs::remove_file(&tmp).await;
        if let Err(e) = stored {
            return ActionResult::failed("JobFailed", format!("packing the source: {e}"));
        }
        result.outputs.push((name, loc));
    }
    with_variables(
        job, result, repo, branch, commit, message, author, committer,
    )
}

/// The source action's output variables and source revision.
#[allow(clippy::too_many_arguments)]
fn with_variables(
    job: &ActionJob,
    mut result: ActionResult,
    repo: String,
    branch: String,
    commit: String,
    message: String,
    author: String,
    committer: String,
) -> ActionResult {
    result.variables = [
        ("CommitId", commit.clone()),
        ("CommitMessage", message.clone()),
        ("RepositoryName", repo),
        ("BranchName", branch),
        ("AuthorDate", author),
        ("CommitterDate", committer),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    result.source_revision = Some(SourceRev {
        action_name: job.declaration.name.clone(),
        revision_id: commit,
        revision_summary: Some(message),
    });
    result
}
