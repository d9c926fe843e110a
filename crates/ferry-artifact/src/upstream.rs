//! What a repository serves of a package through its upstreams: the versions found over the
//! package's search order (`package_order`: the first repository holding a version wins, a
//! repository whose record of the package blocks upstream versions ends the way up through it,
//! and a package group whose INTERNAL_UPSTREAM restriction refuses the requesting repository
//! keeps it to its own versions); and retention, which
//! keeps a version fetched from an upstream in the requesting repository, referring to the
//! same contents, as AWS does.

use std::collections::BTreeMap;

use ferry_store::artifacts::{AssetRow, PackageKey, VersionRow};

use crate::native::Caller;
use crate::records::{PackageDoc, RepositoryDoc, VersionDoc};
use crate::service::{ArtifactService, now_ms};

/// One version as the merged view sees it.
pub(crate) struct Found {
    pub repository: String,
    pub row: VersionRow,
    pub doc: VersionDoc,
}

/// The versions of a package visible from the requesting repository, and the package record
/// of the first repository that has the package.
pub(crate) struct Merged {
    pub versions: BTreeMap<String, Found>,
    pub package: PackageDoc,
}

impl Caller {
    /// The key of package `namespace`/`name` of the caller's format in `repository`.
    pub(crate) fn key(&self, repository: &str, namespace: &str, name: &str) -> PackageKey {
        PackageKey {
            domain: self.domain.clone(),
            repository: repository.to_owned(),
            format: self.format.as_str().to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }
}

impl ArtifactService {
    /// A package's record, when it exists.
    pub(crate) async fn package_record(&self, k: &PackageKey) -> Option<PackageDoc> {
        let doc = self.store.ca_package(k).await.ok()??;
        serde_json::from_str(&doc).ok()
    }

    /// The repositories a lookup of one package consults, with their records and the
    /// package's record in each: the search order, except that the upstreams of a repository
    /// whose record of the package blocks upstream versions are not entered. That is how
    /// origin controls stop dependency substitution: a package published to an internal
    /// repository is never shadowed by a namesake from a public one further up.
    pub(crate) async fn package_order(
        &self,
        caller: &Caller,
        namespace: &str,
        name: &str,
    ) -> Vec<(String, RepositoryDoc, Option<PackageDoc>)> {
        let all: BTreeMap<String, RepositoryDoc> = self
            .store
            .ca_repositories(Some(&caller.domain))
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(_, n, d)| Some((n, serde_json::from_str(&d).ok()?)))
            .collect();
        let mut out: Vec<(String, RepositoryDoc, Option<PackageDoc>)> = Vec::new();
        // The package's group may keep the requesting repository from taking versions from
        // its upstreams at all (INTERNAL_UPSTREAM).
        let own = caller.key(&caller.repository, namespace, name);
        let upstreams_allowed = self
            .group_allows(&own, &caller.repository, crate::groups::INTERNAL_UPSTREAM)
            .await
            .is_ok();
        let mut stack = vec![caller.repository.clone()];
        while let Some(r) = stack.pop() {
            if out.iter().any(|(n, ..)| *n == r) || out.len() >= crate::native::MAX_SEARCH {
                continue;
            }
            let Some(doc) = all.get(&r) else {
                continue;
            };
            let pkg = self.package_record(&caller.key(&r, namespace, name)).await;
            if upstreams_allowed && pkg.as_ref().is_none_or(|p| p.upstream != "BLOCK") {
                stack.extend(doc.upstreams.iter().rev().cloned());
            }
            out.push((r, doc.clone(), pkg));
        }
        out
    }

    /// The versions with one of `statuses` visible from the caller's repository; `None` when
    /// no repository on the package's search order has the package.
    pub(crate) async fn merged(
        &self,
        caller: &Caller,
        namespace: &str,
        name: &str,
        statuses: &[&str],
    ) -> Option<Merged> {
        let mut out: Option<Merged> = None;
        for (repo, _, pkg) in self.package_order(caller, namespace, name).await {
            let Some(pkg) = pkg else {
                continue;
            };
            let k = caller.key(&repo, namespace, name);
            let merged = out.get_or_insert_with(|| Merged {
                versions: BTreeMap::new(),
                package: pkg,
            });
            for row in self.store.ca_versions(&k).await.unwrap_or_default() {
                if !statuses.contains(&row.status.as_str())
                    || merged.versions.contains_key(&row.version)
                {
                    continue;
                }
                let Ok(doc) = serde_json::from_str::<VersionDoc>(&row.document) else {
                    continue;
                };
                merged.versions.insert(
                    row.version.clone(),
                    Found {
                        repository: repo.clone(),
                        row,
                        doc,
                    },
                );
            }
        }
        out
    }

    /// The asset `file` of a version found by [`merged`](Self::merged), retained in the
    /// caller's repository when it came from an upstream.
    pub(crate) async fn fetch_asset(
        &self,
        caller: &Caller,
        namespace: &str,
        name: &str,
        f: &Found,
        file: &str,
    ) -> Option<AssetRow> {
        let from = caller.key(&f.repository, namespace, name);
        let assets = self.store.ca_assets(&from, &f.row.version).await.ok()?;
        if let Some(asset) = assets.iter().find(|a| a.name == file) {
            if f.repository != caller.repository {
                self.retain(caller, namespace, name, f, &assets).await;
            }
            return Some(asset.clone());
        }
        // A file added upstream after the version was retained here: take it from the first
        // repository on the search order that has it.
        for repo in self.search_order(&caller.domain, &caller.repository).await {
            let k = caller.key(&repo, namespace, name);
            let Ok(Some(row)) = self.store.ca_version(&k, &f.row.version).await else {
                continue;
            };
            if !matches!(row.status.as_str(), "Published" | "Unlisted") {
                continue;
            }
            let assets = self.store.ca_assets(&k, &row.version).await.ok()?;
            if let Some(asset) = assets.iter().find(|a| a.name == file) {
                if repo != caller.repository {
                    let found = Found {
                        repository: repo,
                        row,
                        doc: f.doc.clone(),
                    };
                    self.retain(caller, namespace, name, &found, &assets).await;
                }
                return Some(asset.clone());
            }
        }
        None
    }

    /// Keeps a version fetched through an upstream, with all its assets, in the caller's
    /// repository; its package there gets the controls of an upstream-sourced package unless
    /// it has some already.
    async fn retain(
        &self,
        caller: &Caller,
        namespace: &str,
        name: &str,
        f: &Found,
        assets: &[AssetRow],
    ) {
        let to = caller.key(&caller.repository, namespace, name);
        let pkg = PackageDoc::ingested();
        let Ok(pkg) = serde_json::to_string(&pkg) else {
            return;
        };
        let _turn = self.contents.lock().await;
        for asset in assets {
            if let Err(e) = self
                .store
                .put_ca_version(&to, &pkg, &f.row, Some(asset), now_ms())
                .await
            {
                // Another request retained it first.
                tracing::debug!(error = %e, "retaining an upstream version");
            }
        }
    }
}
