//! Ref changes and what follows them. Every change of a repository's refs (a push, a branch
//! created or deleted through the API) happens under that repository's lock; afterwards the
//! refs are compared with before, the first branch to arrive becomes the default branch (and
//! `HEAD`), the repository's modified time moves, and one event per changed ref is published.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use ferry_store::events::Event;
use ferry_store::repos::RepoRow;
use ferry_types::Timestamp;
use tokio::sync::OwnedMutexGuard;

use crate::CommitService;
use crate::git::GitError;

/// One async lock per repository id.
#[derive(Default)]
pub struct RepoLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl RepoLocks {
    /// Waits for and takes the lock of repository `id`.
    pub async fn lock(&self, id: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(id.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

/// A ref change in progress: holds the repository's lock and the refs as they were.
pub struct RefChange {
    repo: RepoRow,
    before: BTreeMap<String, String>,
    actor: String,
    _guard: OwnedMutexGuard<()>,
}

impl RefChange {
    /// Names who makes the change (reported by triggers).
    pub fn by(mut self, actor: &str) -> Self {
        actor.clone_into(&mut self.actor);
        self
    }
}

/// A ref that changed: `(name, old, new)`.
pub type RefUpdate = (String, Option<String>, Option<String>);

impl CommitService {
    /// Takes the repository's lock and records its refs before a change.
    pub async fn begin_ref_change(&self, repo: &RepoRow) -> Result<RefChange, GitError> {
        let guard = self.locks.lock(&repo.id).await;
        let before = self.git.refs(&repo.id).await?.into_iter().collect();
        Ok(RefChange {
            repo: repo.clone(),
            before,
            actor: String::new(),
            _guard: guard,
        })
    }

    /// Compares the refs with before, updates the metadata, publishes events and releases the
    /// lock. Returns what changed.
    pub async fn finish_ref_change(&self, change: RefChange) -> Result<Vec<RefUpdate>, GitError> {
        let after: BTreeMap<String, String> =
            self.git.refs(&change.repo.id).await?.into_iter().collect();
        let mut updates: Vec<RefUpdate> = Vec::new();
        for (name, new) in &after {
            match change.before.get(name) {
                Some(old) if old == new => {}
                old => updates.push((name.clone(), old.cloned(), Some(new.clone()))),
            }
        }
        for (name, old) in &change.before {
            if !after.contains_key(name) {
                updates.push((name.clone(), Some(old.clone()), None));
            }
        }
        if updates.is_empty() {
            return Ok(updates);
        }
        self.adverts.invalidate(&change.repo.id);
        let now = Timestamp::now().millis();
        let current = self
            .store
            .repository_by_id(&change.repo.id)
            .await
            .ok()
            .flatten();
        let has_default = current
            .as_ref()
            .and_then(|r| r.default_branch.as_ref())
            .is_some();
        if !has_default {
            let created: Vec<&str> = updates
                .iter()
                .filter(|(_, _, new)| new.is_some())
                .filter_map(|(n, _, _)| n.strip_prefix("refs/heads/"))
                .collect();
            let pick = ["main", "master"]
                .into_iter()
                .find(|p| created.contains(p))
                .or_else(|| created.first().copied());
            if let Some(branch) = pick
                && self
                    .store
                    .set_default_branch(&change.repo.id, branch, true, now)
                    .await
                    .unwrap_or(false)
            {
                self.git.set_head(&change.repo.id, branch).await?;
            }
        }
        if let Err(e) = self.store.touch_repository(&change.repo.id, now).await {
            tracing::warn!(error = %e, repository = %change.repo.name, "could not record push time");
        }
        let repo = current.unwrap_or_else(|| change.repo.clone());
        for (ref_name, old, new) in &updates {
            if let (true, Some(new)) = (ref_name.starts_with("refs/heads/"), new) {
                self.record_source_update(&repo, ref_name, old.as_deref(), new)
                    .await;
            }
        }
        let events: Vec<crate::triggers::RefEvent> = updates
            .iter()
            .map(|(name, old, new)| crate::triggers::RefEvent {
                ref_name: name.clone(),
                commit: new.clone().or_else(|| old.clone()),
                created: old.is_none(),
                deleted: new.is_none(),
            })
            .collect();
        self.fire_triggers(&repo, &events, &change.actor).await;
        let name = repo.name.clone();
        for (ref_name, old, new) in &updates {
            self.store.events().publish(Event::RefUpdated {
                repository_id: change.repo.id.clone(),
                repository_name: name.clone(),
                ref_name: ref_name.clone(),
                old: old.clone(),
                new: new.clone(),
            });
        }
        Ok(updates)
    }
}
