//! What a repository serves of a package through its upstreams: the versions found over the
//! search order (`ArtifactService::search_order`; the first repository holding a version wins),
//! unless the requesting repository's package blocks upstream versions; and retention, which
//! keeps a version fetched from an upstream in the requesting repository, referring to the
//! same contents, as AWS does.

use std::collections::BTreeMap;

use ferry_store::artifacts::{AssetRow, PackageKey, VersionRow};

use crate::native::Caller;
use crate::records::{PackageDoc, VersionDoc};
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

    /// The versions with one of `statuses` visible from the caller's repository; `None` when
    /// no repository on the search order has the package.
    pub(crate) async fn merged(
        &self,
        caller: &Caller,
        namespace: &str,
        name: &str,
        statuses: &[&str],
    ) -> Option<Merged> {
        let order = self.search_order(&caller.domain, &caller.repository).await;
        let own = self
            .package_record(&caller.key(&caller.repository, namespace, name))
            .await;
        let upstream_allowed = own.as_ref().is_none_or(|p| p.upstream != "BLOCK");
        let mut out: Option<Merged> = None;
        for repo in order {
            if repo != caller.repository && !upstream_allowed {
                break;
            }
            let k = caller.key(&repo, namespace, name);
            let Some(pkg) = self.package_record(&k).await else {
                continue;
            };
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
        let pkg = PackageDoc {
            publish: "BLOCK".into(),
            upstream: "ALLOW".into(),
            dist_tags: BTreeMap::new(),
        };
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
