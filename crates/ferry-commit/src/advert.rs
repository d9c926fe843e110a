//! Cached ref advertisements (`info/refs`). Producing one means starting git, which costs far
//! more than everything else in the request; the answer only changes when the repository's refs
//! or `HEAD` change, which always happens through Ferry and bumps the repository's
//! `refs_version` in the database. So advertisements are kept per (repository, service,
//! protocol) and reused while the version they were made at is current, which also holds
//! across nodes sharing one database.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use ferry_store::repos::RepoRow;
use tokio::io::AsyncReadExt;

use crate::CommitService;
use crate::git::GitError;
use crate::transport::{self, GitService};

type Key = (String, GitService, bool);

/// Advertisements by repository id, service and whether protocol v2 was asked for.
#[derive(Default)]
pub struct AdvertCache {
    entries: Mutex<HashMap<Key, (i64, Bytes)>>,
}

impl AdvertCache {
    fn get(&self, key: &Key, version: i64) -> Option<Bytes> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(v, _)| *v == version)
            .map(|(_, b)| b.clone())
    }

    fn put(&self, key: Key, version: i64, body: Bytes) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(key, (version, body));
    }

    /// Forgets every advertisement of a repository (its refs changed on this node).
    pub fn invalidate(&self, repository_id: &str) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|(id, _, _), _| id != repository_id);
    }
}

impl CommitService {
    /// The complete `info/refs` answer body (service header included) for `repo`.
    pub async fn advertisement(
        &self,
        repo: &RepoRow,
        service: GitService,
        git_protocol: Option<&str>,
    ) -> Result<Bytes, GitError> {
        let key = (repo.id.clone(), service, transport::wants_v2(git_protocol));
        if let Some(hit) = self.adverts.get(&key, repo.refs_version) {
            return Ok(hit);
        }
        let mut child = transport::spawn(&self.git, &repo.id, service, true, git_protocol)?;
        let mut out = transport::advertisement_prefix(service, git_protocol);
        let mut stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let mut err = Vec::new();
        let (read_out, read_err) =
            tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        read_out?;
        read_err?;
        let status = child.wait().await?;
        if !status.success() {
            return Err(GitError::Command(
                format!("{} --advertise-refs", service.command()),
                String::from_utf8_lossy(&err).trim().to_owned(),
            ));
        }
        let body = Bytes::from(out);
        self.adverts.put(key, repo.refs_version, body.clone());
        Ok(body)
    }
}
