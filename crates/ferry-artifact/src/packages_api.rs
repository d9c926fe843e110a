//! The CodeArtifact API for packages and versions in one repository (upstreams are not
//! consulted, as on AWS): generic publishing (PublishPackageVersion, one asset per call, the
//! body's SHA-256 checked, `unfinished` kept until an asset comes without it, after which the
//! version's assets are fixed), asset download,
//! listing and describing packages, versions and assets, readmes and dependencies, origin
//! controls, and deleting a package.

use ferry_model::codeartifact::*;
use ferry_store::StoreError;
use ferry_store::artifacts::{AssetRow, PackageKey, VersionRow};
use ferry_types::{Blob, Timestamp};
use ferry_wire::{AwsError, RequestContext};

use crate::api::{page, page_size};
use crate::assets::Content;
use crate::names;
use crate::records::{AssetDoc, PackageDoc, VersionDoc, revision_of};
use crate::service::{ArtifactService, conflict, internal, invalid, not_found, now_ms};

/// The package a request names, checked (`ArtifactService::target` with the request's
/// domain, owner, repository, format, namespace and package).
macro_rules! target_of {
    ($svc:expr, $i:expr) => {
        $svc.target(
            &$i.domain,
            $i.domain_owner.as_deref(),
            &$i.repository,
            $i.format,
            $i.namespace.as_deref(),
            &$i.package,
        )
    };
}
pub(crate) use target_of;

/// A package a request names, checked: its repository exists, the namespace follows the
/// format's rule, and the name is stored normalised.
pub(crate) struct Target {
    pub key: PackageKey,
    pub format: PackageFormat,
}

impl Target {
    pub fn namespace(&self) -> Option<String> {
        (!self.key.namespace.is_empty()).then(|| self.key.namespace.clone())
    }
}

/// The statuses clients are served.
pub(crate) fn status_of(s: &str) -> PackageVersionStatus {
    match s {
        "Unfinished" => PackageVersionStatus::Unfinished,
        "Unlisted" => PackageVersionStatus::Unlisted,
        "Archived" => PackageVersionStatus::Archived,
        "Disposed" => PackageVersionStatus::Disposed,
        "Deleted" => PackageVersionStatus::Deleted,
        _ => PackageVersionStatus::Published,
    }
}

pub(crate) fn version_missing(t: &Target, version: &str) -> AwsError {
    not_found(format!(
        "Package version {version} of {} not found in repository {}",
        t.key.name, t.key.repository
    ))
}

pub(crate) fn origin_of(d: &VersionDoc) -> PackageVersionOrigin {
    PackageVersionOrigin {
        domain_entry_point: Some(DomainEntryPoint {
            repository_name: d.origin_repository.clone(),
            external_connection_name: d.origin_external.clone(),
        }),
        origin_type: Some(match d.origin_type.as_str() {
            "INTERNAL" => PackageVersionOriginType::Internal,
            "EXTERNAL" => PackageVersionOriginType::External,
            _ => PackageVersionOriginType::Unknown,
        }),
    }
}

fn restrictions_of(p: &PackageDoc) -> PackageOriginConfiguration {
    PackageOriginConfiguration {
        restrictions: Some(PackageOriginRestrictions {
            publish: if p.publish == "BLOCK" {
                AllowPublish::Block
            } else {
                AllowPublish::Allow
            },
            upstream: if p.upstream == "BLOCK" {
                AllowUpstream::Block
            } else {
                AllowUpstream::Allow
            },
        }),
    }
}

impl ArtifactService {
    /// Checks the package a request names.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn target(
        &self,
        domain: &str,
        owner: Option<&str>,
        repository: &str,
        format: PackageFormat,
        namespace: Option<&str>,
        package: &str,
    ) -> Result<Target, AwsError> {
        self.repository(domain, owner, repository).await?;
        let namespace = namespace.unwrap_or_default();
        match names::namespace_rule(format) {
            Some(true) if namespace.is_empty() => {
                return Err(invalid(format!(
                    "{} packages need a namespace",
                    format.as_str()
                )));
            }
            None if !namespace.is_empty() => {
                return Err(invalid(format!(
                    "{} packages have no namespace",
                    format.as_str()
                )));
            }
            _ => {}
        }
        if !namespace.is_empty() && !names::valid_package(namespace) {
            return Err(invalid(format!("Invalid namespace {namespace:?}")));
        }
        if !names::valid_package(package) {
            return Err(invalid(format!("Invalid package name {package:?}")));
        }
        Ok(Target {
            key: PackageKey {
                domain: domain.to_owned(),
                repository: repository.to_owned(),
                format: format.as_str().to_owned(),
                namespace: namespace.to_owned(),
                name: names::normalise(format, package),
            },
            format,
        })
    }

    /// The package's origin controls; `ResourceNotFoundException` when it does not exist.
    pub(crate) async fn package_doc(&self, t: &Target) -> Result<PackageDoc, AwsError> {
        let doc = self
            .store
            .ca_package(&t.key)
            .await
            .map_err(internal)?
            .ok_or_else(|| {
                not_found(format!(
                    "Package {} not found in repository {}",
                    t.key.name, t.key.repository
                ))
            })?;
        serde_json::from_str(&doc).map_err(internal)
    }

    /// A stored version with its document.
    pub(crate) async fn version(
        &self,
        t: &Target,
        version: &str,
    ) -> Result<(VersionRow, VersionDoc), AwsError> {
        let row = self
            .store
            .ca_version(&t.key, version)
            .await
            .map_err(internal)?
            .ok_or_else(|| version_missing(t, version))?;
        let doc = serde_json::from_str(&row.document).map_err(internal)?;
        Ok((row, doc))
    }

    /// Adds one asset to a version (creating both when needed) with the given final status;
    /// the version's revision follows its assets.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn add_asset(
        &self,
        t: &Target,
        version: &str,
        asset_name: &str,
        content: Content<'_>,
        expected_sha256: Option<&str>,
        status: &str,
        mut doc: VersionDoc,
    ) -> Result<(String, AssetSummary), AwsError> {
        let existing = self
            .store
            .ca_version(&t.key, version)
            .await
            .map_err(internal)?;
        let mut names: Vec<(String, String)> = self
            .store
            .ca_assets(&t.key, version)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|a| (a.name, a.sha256))
            .collect();
        if names.iter().any(|(n, _)| n == asset_name) {
            content.discard().await;
            return Err(conflict(format!(
                "Asset {asset_name} already exists in {} {version}",
                t.key.name
            )));
        }
        let published_ms = existing.as_ref().map_or_else(now_ms, |v| v.published_ms);
        let package_doc = serde_json::to_string(&PackageDoc::published()).map_err(internal)?;
        let key = t.key.clone();
        self.store_content(content, expected_sha256, |h| async move {
            names.push((asset_name.to_owned(), h.sha256.clone()));
            doc.revision = revision_of(names.iter().map(|(n, s)| (n.as_str(), s.as_str())));
            let row = VersionRow {
                version: version.to_owned(),
                status: status.to_owned(),
                published_ms,
                document: serde_json::to_string(&doc).map_err(internal)?,
            };
            let asset = AssetRow {
                name: asset_name.to_owned(),
                sha256: h.sha256.clone(),
                size: h.size,
                document: serde_json::to_string(&h.doc).map_err(internal)?,
            };
            self.store
                .put_ca_version(&key, &package_doc, &row, Some(&asset), now_ms())
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => conflict(format!(
                        "Asset {asset_name} already exists in {} {version}",
                        key.name
                    )),
                    e => internal(e),
                })?;
            Ok((
                doc.revision.clone(),
                AssetSummary {
                    name: asset_name.to_owned(),
                    size: Some(h.size),
                    hashes: Some(h.doc.hashes.clone()),
                },
            ))
        })
        .await
    }

    pub(crate) async fn publish_generic(
        &self,
        _ctx: &RequestContext,
        i: PublishPackageVersionRequest,
    ) -> Result<PublishPackageVersionResult, AwsError> {
        if i.format != PackageFormat::Generic {
            return Err(invalid(
                "PublishPackageVersion publishes generic packages only",
            ));
        }
        let t = target_of!(self, i).await?;
        if !names::valid_version(&i.package_version) {
            return Err(invalid(format!(
                "Invalid package version {:?}",
                i.package_version
            )));
        }
        if !names::valid_asset_name(&i.asset_name) {
            return Err(invalid(format!("Invalid asset name {:?}", i.asset_name)));
        }
        let pkg = self.package_record(&t.key).await;
        if let Err(why) = self.may_publish(&t.key, pkg.as_ref()).await {
            return Err(AwsError::new("AccessDeniedException", why));
        }
        let (status, doc) = match self.store.ca_version(&t.key, &i.package_version).await {
            Ok(Some(v)) => {
                let status = match v.status.as_str() {
                    "Unfinished" if i.unfinished == Some(true) => "Unfinished",
                    "Unfinished" => "Published",
                    // Once a version is finished its assets are fixed.
                    other => {
                        return Err(conflict(format!(
                            "Package version {} is {other} and cannot take new assets",
                            i.package_version
                        )));
                    }
                };
                (
                    status,
                    serde_json::from_str::<VersionDoc>(&v.document).map_err(internal)?,
                )
            }
            Ok(None) => (
                if i.unfinished == Some(true) {
                    "Unfinished"
                } else {
                    "Published"
                },
                VersionDoc {
                    origin_type: "INTERNAL".into(),
                    origin_repository: Some(t.key.repository.clone()),
                    ..Default::default()
                },
            ),
            Err(e) => return Err(internal(e)),
        };
        let (revision, asset) = self
            .add_asset(
                &t,
                &i.package_version,
                &i.asset_name,
                Content::Bytes(&i.asset_content.0),
                Some(&i.asset_sha256),
                status,
                doc,
            )
            .await?;
        Ok(PublishPackageVersionResult {
            format: Some(t.format),
            namespace: t.namespace(),
            package: Some(t.key.name.clone()),
            version: Some(i.package_version),
            version_revision: Some(revision),
            status: Some(status_of(status)),
            asset: Some(asset),
        })
    }

    pub(crate) async fn get_asset(
        &self,
        i: GetPackageVersionAssetRequest,
    ) -> Result<GetPackageVersionAssetResult, AwsError> {
        let t = target_of!(self, i).await?;
        let (row, doc) = self.version(&t, &i.package_version).await?;
        if !matches!(row.status.as_str(), "Published" | "Unlisted" | "Unfinished") {
            return Err(not_found(format!(
                "Package version {} is {} and its assets cannot be downloaded",
                i.package_version, row.status
            )));
        }
        if i.package_version_revision
            .as_ref()
            .is_some_and(|r| *r != doc.revision)
        {
            return Err(not_found(format!(
                "Package version {} has no revision {}",
                i.package_version,
                i.package_version_revision.unwrap_or_default()
            )));
        }
        let asset = self
            .store
            .ca_assets(&t.key, &i.package_version)
            .await
            .map_err(internal)?
            .into_iter()
            .find(|a| a.name == i.asset)
            .ok_or_else(|| {
                not_found(format!(
                    "Asset {} not found in {} {}",
                    i.asset, t.key.name, i.package_version
                ))
            })?;
        let bytes = self.content(&asset.sha256).await?;
        Ok(GetPackageVersionAssetResult {
            asset: Some(Blob(bytes)),
            asset_name: Some(asset.name),
            package_version: Some(i.package_version),
            package_version_revision: Some(doc.revision),
        })
    }

    pub(crate) async fn list_packages(
        &self,
        i: ListPackagesRequest,
    ) -> Result<ListPackagesResult, AwsError> {
        self.repository(&i.domain, i.domain_owner.as_deref(), &i.repository)
            .await?;
        let size = page_size(i.max_results)?;
        let items = self
            .store
            .ca_packages(&i.domain, &i.repository)
            .await
            .map_err(internal)?
            .into_iter()
            .filter_map(|(k, doc)| {
                let p: PackageDoc = serde_json::from_str(&doc).ok()?;
                let format = PackageFormat::parse(&k.format)?;
                let keep = i.format.is_none_or(|f| f == format)
                    && i.namespace.as_ref().is_none_or(|n| *n == k.namespace)
                    && i.package_prefix
                        .as_ref()
                        .is_none_or(|pre| k.name.starts_with(pre.as_str()))
                    && i.publish.is_none_or(|want| want.as_str() == p.publish)
                    && i.upstream.is_none_or(|want| want.as_str() == p.upstream);
                keep.then(|| {
                    (
                        format!("{}/{}/{}", k.format, k.namespace, k.name),
                        PackageSummary {
                            format: Some(format),
                            namespace: (!k.namespace.is_empty()).then(|| k.namespace.clone()),
                            package: Some(k.name.clone()),
                            origin_configuration: Some(restrictions_of(&p)),
                        },
                    )
                })
            })
            .collect();
        let (packages, next_token) = page(items, i.next_token.as_deref(), size)?;
        Ok(ListPackagesResult {
            packages: Some(packages),
            next_token,
        })
    }

    pub(crate) async fn describe_package(
        &self,
        i: DescribePackageRequest,
    ) -> Result<DescribePackageResult, AwsError> {
        let t = target_of!(self, i).await?;
        let p = self.package_doc(&t).await?;
        Ok(DescribePackageResult {
            package: PackageDescription {
                format: Some(t.format),
                namespace: t.namespace(),
                name: Some(t.key.name.clone()),
                origin_configuration: Some(restrictions_of(&p)),
            },
        })
    }

    pub(crate) async fn delete_package(
        &self,
        i: DeletePackageRequest,
    ) -> Result<DeletePackageResult, AwsError> {
        let t = target_of!(self, i).await?;
        let p = self.package_doc(&t).await?;
        let gone = self
            .store
            .delete_ca_package(&t.key)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => not_found(format!("Package {} not found", t.key.name)),
                e => internal(e),
            })?;
        self.drop_contents(&gone).await;
        Ok(DeletePackageResult {
            deleted_package: Some(PackageSummary {
                format: Some(t.format),
                namespace: t.namespace(),
                package: Some(t.key.name.clone()),
                origin_configuration: Some(restrictions_of(&p)),
            }),
        })
    }

    pub(crate) async fn put_origin_configuration(
        &self,
        i: PutPackageOriginConfigurationRequest,
    ) -> Result<PutPackageOriginConfigurationResult, AwsError> {
        let t = target_of!(self, i).await?;
        let mut p = match self.store.ca_package(&t.key).await.map_err(internal)? {
            Some(doc) => serde_json::from_str::<PackageDoc>(&doc).map_err(internal)?,
            None => PackageDoc::published(),
        };
        p.publish = i.restrictions.publish.as_str().to_owned();
        p.upstream = i.restrictions.upstream.as_str().to_owned();
        let doc = serde_json::to_string(&p).map_err(internal)?;
        self.store
            .put_ca_package(&t.key, &doc)
            .await
            .map_err(internal)?;
        Ok(PutPackageOriginConfigurationResult {
            origin_configuration: Some(restrictions_of(&p)),
        })
    }

    pub(crate) async fn list_versions(
        &self,
        i: ListPackageVersionsRequest,
    ) -> Result<ListPackageVersionsResult, AwsError> {
        let t = target_of!(self, i).await?;
        self.package_doc(&t).await?;
        let size = page_size(i.max_results)?;
        let rows = self.store.ca_versions(&t.key).await.map_err(internal)?;
        let default_display_version = rows
            .iter()
            .rev()
            .find(|r| r.status == "Published")
            .map(|r| r.version.clone());
        let mut items: Vec<(String, PackageVersionSummary)> = Vec::new();
        for (n, r) in rows.into_iter().enumerate() {
            let Ok(doc) = serde_json::from_str::<VersionDoc>(&r.document) else {
                continue;
            };
            let status = status_of(&r.status);
            if i.status.is_some_and(|s| s != status) {
                continue;
            }
            let origin = origin_of(&doc);
            if i.origin_type.is_some_and(|o| Some(o) != origin.origin_type) {
                continue;
            }
            // Sorted by publication time (the store's order) when asked, else by version.
            let key = if i.sort_by.is_some() {
                format!("{n:012}")
            } else {
                r.version.clone()
            };
            items.push((
                key,
                PackageVersionSummary {
                    version: r.version,
                    revision: Some(doc.revision.clone()),
                    status,
                    origin: Some(origin),
                },
            ));
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (versions, next_token) = page(items, i.next_token.as_deref(), size)?;
        Ok(ListPackageVersionsResult {
            default_display_version,
            format: Some(t.format),
            namespace: t.namespace(),
            package: Some(t.key.name.clone()),
            versions: Some(versions),
            next_token,
        })
    }

    pub(crate) async fn describe_version(
        &self,
        i: DescribePackageVersionRequest,
    ) -> Result<DescribePackageVersionResult, AwsError> {
        let t = target_of!(self, i).await?;
        let (row, doc) = self.version(&t, &i.package_version).await?;
        Ok(DescribePackageVersionResult {
            package_version: PackageVersionDescription {
                format: Some(t.format),
                namespace: t.namespace(),
                package_name: Some(t.key.name.clone()),
                display_name: Some(doc.display_name.clone().unwrap_or(t.key.name.clone())),
                version: Some(row.version),
                summary: doc.summary.clone(),
                home_page: doc.home_page.clone(),
                source_code_repository: doc.source_code_repository.clone(),
                published_time: Some(Timestamp::from_millis(row.published_ms)),
                licenses: None,
                revision: Some(doc.revision.clone()),
                status: Some(status_of(&row.status)),
                origin: Some(origin_of(&doc)),
            },
        })
    }

    pub(crate) async fn list_assets(
        &self,
        i: ListPackageVersionAssetsRequest,
    ) -> Result<ListPackageVersionAssetsResult, AwsError> {
        let t = target_of!(self, i).await?;
        let (_, doc) = self.version(&t, &i.package_version).await?;
        let size = page_size(i.max_results)?;
        let items = self
            .store
            .ca_assets(&t.key, &i.package_version)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|a| {
                let hashes = serde_json::from_str::<AssetDoc>(&a.document)
                    .map(|d| d.hashes)
                    .unwrap_or_default();
                (
                    a.name.clone(),
                    AssetSummary {
                        name: a.name,
                        size: Some(a.size),
                        hashes: Some(hashes),
                    },
                )
            })
            .collect();
        let (assets, next_token) = page(items, i.next_token.as_deref(), size)?;
        Ok(ListPackageVersionAssetsResult {
            format: Some(t.format),
            namespace: t.namespace(),
            package: Some(t.key.name.clone()),
            version: Some(i.package_version),
            version_revision: Some(doc.revision),
            next_token,
            assets: Some(assets),
        })
    }

    pub(crate) async fn readme(
        &self,
        i: GetPackageVersionReadmeRequest,
    ) -> Result<GetPackageVersionReadmeResult, AwsError> {
        let t = target_of!(self, i).await?;
        let (row, doc) = self.version(&t, &i.package_version).await?;
        Ok(GetPackageVersionReadmeResult {
            format: Some(t.format),
            namespace: t.namespace(),
            package: Some(t.key.name.clone()),
            version: Some(row.version),
            version_revision: Some(doc.revision),
            readme: doc.readme,
        })
    }

    pub(crate) async fn dependencies(
        &self,
        i: ListPackageVersionDependenciesRequest,
    ) -> Result<ListPackageVersionDependenciesResult, AwsError> {
        let t = target_of!(self, i).await?;
        let (row, doc) = self.version(&t, &i.package_version).await?;
        let items = doc
            .dependencies
            .iter()
            .enumerate()
            .map(|(n, d)| {
                (
                    format!("{n:06}"),
                    PackageDependency {
                        namespace: d.namespace.clone(),
                        package: Some(d.package.clone()),
                        dependency_type: d.dependency_type.clone(),
                        version_requirement: d.version_requirement.clone(),
                    },
                )
            })
            .collect();
        let (dependencies, next_token) = page(items, i.next_token.as_deref(), 100)?;
        Ok(ListPackageVersionDependenciesResult {
            format: Some(t.format),
            namespace: t.namespace(),
            package: Some(t.key.name.clone()),
            version: Some(row.version),
            version_revision: Some(doc.revision),
            next_token,
            dependencies: Some(dependencies),
        })
    }
}
