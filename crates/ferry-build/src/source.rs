//! DOWNLOAD_SOURCE: puts a build's source into its `CODEBUILD_SRC_DIR` — a clone of a Ferry
//! repository at the requested branch, tag or commit (CODECOMMIT), the contents of a zip in
//! Ferry's S3 (S3), or nothing (NO_SOURCE) — and reports the resolved version.

use std::path::Path;

use ferry_commit::CommitService;
use ferry_s3::S3;

/// Why the source could not be fetched (`CLIENT_ERROR` in DOWNLOAD_SOURCE).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// The repository name in a clone URL (`…/v1/repos/<name>`).
pub fn repository_name(location: &str) -> Option<&str> {
    let rest = location.split("/v1/repos/").nth(1)?;
    let name = rest.trim_end_matches('/').trim_end_matches(".git");
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

async fn git(dir: &Path, args: &[&str]) -> Result<String, SourceError> {
    let out = tokio::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .await
        .map_err(|e| SourceError(format!("git: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(SourceError(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ))
    }
}

/// Clones a Ferry repository into `dest` and checks out `version` (a commit id, a branch
/// with or without `refs/heads/`, a tag, or the default branch when `None`); returns the
/// commit id.
pub async fn codecommit(
    commit: &CommitService,
    location: &str,
    version: Option<&str>,
    dest: &Path,
) -> Result<String, SourceError> {
    let name = repository_name(location)
        .ok_or_else(|| SourceError(format!("Invalid CodeCommit source location: {location}")))?;
    let repo = commit.repository_for_git(name).await.ok_or_else(|| {
        SourceError(format!(
            "authorization failed for primary source and source version {}: repository {name} does not exist",
            version.unwrap_or("")
        ))
    })?;
    let path = commit.git.path(&repo.id);
    let parent = dest.parent().unwrap_or(dest);
    tokio::fs::create_dir_all(parent)
        .await
        .map_err(|e| SourceError(e.to_string()))?;
    let path_s = path.to_string_lossy().into_owned();
    let dest_s = dest.to_string_lossy().into_owned();
    git(
        parent,
        &["clone", "--quiet", "--no-hardlinks", &path_s, &dest_s],
    )
    .await?;
    if let Some(v) = version.filter(|v| !v.is_empty()) {
        let v = v.strip_prefix("refs/heads/").unwrap_or(v);
        let v = v.strip_prefix("refs/tags/").unwrap_or(v);
        let target = if git(
            dest,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/remotes/origin/{v}"),
            ],
        )
        .await
        .is_ok()
        {
            format!("origin/{v}")
        } else {
            v.to_owned()
        };
        git(dest, &["checkout", "--quiet", "--detach", &target])
            .await
            .map_err(|_| {
                SourceError(format!(
                    "authorization failed for primary source and source version {v}"
                ))
            })?;
    } else if git(dest, &["rev-parse", "--verify", "--quiet", "HEAD"])
        .await
        .is_err()
    {
        return Err(SourceError(format!(
            "repository {name} has no commits to build"
        )));
    }
    // In-build git commands talk to Ferry, not to the clone's on-disk origin.
    git(
        dest,
        &["remote", "set-url", "origin", &commit.clone_url_http(name)],
    )
    .await?;
    git(dest, &["rev-parse", "HEAD"]).await
}

/// Unpacks a zip stored in Ferry's S3 (`location` = `bucket/key`) into `dest`.
pub async fn s3_zip(
    s3: &S3,
    location: &str,
    version: Option<&str>,
    dest: &Path,
    scratch: &Path,
) -> Result<(), SourceError> {
    let (bucket, key) = location
        .trim_start_matches("s3://")
        .split_once('/')
        .ok_or_else(|| SourceError(format!("Invalid S3 source location: {location}")))?;
    let zip_path = scratch.join("source.zip");
    s3.read_to_file(bucket, key, version, &zip_path)
        .await
        .map_err(|e| SourceError(format!("NoSuchKey: {}: {}", location, e.message)))?;
    let dest = dest.to_owned();
    tokio::task::spawn_blocking(move || crate::archive::unzip(&zip_path, &dest))
        .await
        .map_err(|e| SourceError(e.to_string()))?
        .map_err(|e| SourceError(format!("could not unpack {location}: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn repository_names_from_clone_urls() {
        use super::repository_name as r;
        assert_eq!(
            r("https://git-codecommit.us-east-1.amazonaws.com/v1/repos/demo"),
            Some("demo")
        );
        assert_eq!(r("http://127.0.0.1:4590/v1/repos/my-app/"), Some("my-app"));
        assert_eq!(r("http://127.0.0.1:4590/v1/repos/a/b"), None);
        assert_eq!(r("s3://bucket/key"), None);
    }
}
