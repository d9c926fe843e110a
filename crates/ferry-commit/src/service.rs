//! `CommitService`: the git-hosting domain object the server holds, and the settings it needs
//! to describe repositories (public URL, region, account).

use ferry_store::Store;
use ferry_store::repos::RepoRow;

use crate::advert::AdvertCache;
use crate::git::GitRepos;
use crate::push::RepoLocks;

/// How repositories are described to clients.
#[derive(Debug, Clone)]
pub struct CommitSettings {
    /// What clone URLs advertise, without a trailing `/` (`http://127.0.0.1:4580`).
    pub public_url: String,
    pub region: String,
    pub account_id: String,
}

/// Git hosting: metadata in the store, repositories on disk.
pub struct CommitService {
    pub store: Store,
    pub git: GitRepos,
    pub settings: CommitSettings,
    pub(crate) locks: RepoLocks,
    pub(crate) adverts: AdvertCache,
}

impl CommitService {
    /// A service over `store` with repositories under `git`.
    pub fn new(store: Store, git: GitRepos, settings: CommitSettings) -> Self {
        Self {
            store,
            git,
            settings,
            locks: RepoLocks::default(),
            adverts: AdvertCache::default(),
        }
    }

    /// `<public-url>/v1/repos/<name>`.
    pub fn clone_url_http(&self, name: &str) -> String {
        format!("{}/v1/repos/{name}", self.settings.public_url)
    }

    /// `ssh://<host>/v1/repos/<name>` (SSH transport arrives with the full CodeCommit work).
    pub fn clone_url_ssh(&self, name: &str) -> String {
        let host = self
            .settings
            .public_url
            .split("://")
            .nth(1)
            .unwrap_or(&self.settings.public_url)
            .split(['/', ':'])
            .next()
            .unwrap_or("localhost");
        format!("ssh://{host}/v1/repos/{name}")
    }

    /// The repository's ARN.
    pub fn arn(&self, name: &str) -> String {
        ferry_types::arn::build(
            "codecommit",
            &self.settings.region,
            &self.settings.account_id,
            name,
        )
    }

    /// Resolves a repository by name for the git transport.
    pub async fn repository_for_git(&self, name: &str) -> Option<RepoRow> {
        self.store.repository(name).await.ok().flatten()
    }
}

impl CommitService {
    /// Removes repository directories that no database row refers to and that are older than
    /// `min_age` (a crash between creating a repository's directory and committing its row,
    /// or between deleting the row and the directory, leaves one behind).
    pub async fn collect_orphans(&self, min_age: std::time::Duration) {
        let Ok(ids) = self.store.repository_ids().await else {
            return;
        };
        let known: std::collections::HashSet<String> = ids.into_iter().collect();
        let Ok(mut entries) = tokio::fs::read_dir(self.git.root()).await else {
            return;
        };
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".git") else {
                continue;
            };
            if known.contains(id) {
                continue;
            }
            let old_enough = entry
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= min_age);
            if old_enough {
                tracing::info!(id, "removing orphaned repository directory");
                let _ = self.git.remove(id).await;
            }
        }
    }
}
