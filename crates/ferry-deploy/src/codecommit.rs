//! A Ferry extension: a commit of one of Ferry's own repositories as a revision. It is written
//! as a GitHub revision whose `repository` has no owner (`--github-location
//! repository=<ferry-repo>,commitId=<commit>`; GitHub repositories are `owner/name`, CodeCommit
//! names cannot hold a slash). The commit is resolved to its full id and packed with
//! `git archive` into a tar bundle kept in Ferry's S3, where agents download it like any other.

use ferry_model::codedeploy::{GitHubLocation, RevisionLocation, RevisionLocationType};
use ferry_wire::AwsError;

use crate::api::err;
use crate::service::DeployService;

/// The Ferry repository a revision names, with the commit as given.
pub fn local_repository(r: &RevisionLocation) -> Option<(&str, &str)> {
    if r.revision_type != Some(RevisionLocationType::GitHub) {
        return None;
    }
    let gh = r.git_hub_location.as_ref()?;
    let repo = gh.repository.as_deref()?;
    (!repo.contains('/')).then_some((repo, gh.commit_id.as_deref().unwrap_or("")))
}

/// The bucket that holds the bundles of this account's CodeCommit revisions.
pub fn bucket(svc: &DeployService) -> String {
    format!("ferry-codedeploy-{}", svc.settings.account_id)
}

/// The key of a commit's bundle.
pub fn key(repo: &str, commit: &str) -> String {
    format!("{repo}/{commit}.tar")
}

/// Resolves the commit of a Ferry-repository revision to its full id and makes sure its
/// bundle is in S3; returns the revision with the full id.
pub async fn prepare(
    svc: &DeployService,
    r: &RevisionLocation,
) -> Result<RevisionLocation, AwsError> {
    let (repo, commit) = local_repository(r).ok_or_else(|| {
        AwsError::new(
            "NotImplementedException",
            "GitHub revisions are not implemented by Ferry; name a Ferry repository (no owner) or use an S3 revision.",
        )
    })?;
    if commit.is_empty() {
        return Err(err(
            "InvalidRevisionException",
            "The revision's commitId is missing.",
        ));
    }
    let row = svc.commit.repository_for_git(repo).await.ok_or_else(|| {
        err(
            "RevisionDoesNotExistException",
            format!("The repository {repo} does not exist in Ferry."),
        )
    })?;
    let path = svc.commit.git.path(&row.id);
    let resolved = tokio::process::Command::new("git")
        .arg("--git-dir")
        .arg(&path)
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{commit}^{{commit}}"),
        ])
        .output()
        .await
        .map_err(AwsError::internal)?;
    let full = String::from_utf8_lossy(&resolved.stdout).trim().to_owned();
    if !resolved.status.success() || full.len() != 40 {
        return Err(err(
            "RevisionDoesNotExistException",
            format!("The commit {commit} does not exist in repository {repo}."),
        ));
    }
    let bucket = bucket(svc);
    let key = key(repo, &full);
    let known = svc
        .store
        .object_version(&bucket, &key, None)
        .await
        .ok()
        .flatten()
        .is_some();
    if !known {
        svc.s3
            .ensure_bucket(&bucket, &svc.settings.region, "ferry")
            .await
            .map_err(|e| AwsError::internal(e.message))?;
        let tmp = std::env::temp_dir().join(format!("ferry-revision-{}.tar", uuid::Uuid::new_v4()));
        let archived = tokio::process::Command::new("git")
            .arg("--git-dir")
            .arg(&path)
            .args(["archive", "--format=tar", "-o"])
            .arg(&tmp)
            .arg(&full)
            .output()
            .await
            .map_err(AwsError::internal)?;
        let stored = if archived.status.success() {
            svc.s3
                .put_local_file(&bucket, &key, &tmp, "application/x-tar", &[])
                .await
                .map(|_| ())
                .map_err(|e| AwsError::internal(e.message))
        } else {
            Err(AwsError::internal(
                String::from_utf8_lossy(&archived.stderr).into_owned(),
            ))
        };
        let _ = tokio::fs::remove_file(&tmp).await;
        stored?;
    }
    Ok(RevisionLocation {
        revision_type: Some(RevisionLocationType::GitHub),
        git_hub_location: Some(GitHubLocation {
            repository: Some(repo.to_owned()),
            commit_id: Some(full),
        }),
        ..Default::default()
    })
}
