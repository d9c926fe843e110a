//! The operations on several versions of one package at once: UpdatePackageVersionsStatus,
//! DeletePackageVersions, DisposePackageVersions and CopyPackageVersions. Each takes the
//! versions as a list or as `{version: revision}`, may require an expected status, and reports
//! per version: the call succeeds even when every version failed, as on AWS.

use std::collections::BTreeMap;

use ferry_model::codeartifact::*;
use ferry_store::artifacts::VersionRow;
use ferry_wire::AwsError;

use crate::packages_api::{Target, status_of, target_of};
use crate::records::{PackageDoc, VersionDoc};
use crate::service::{ArtifactService, internal, invalid, now_ms};

type Successes = BTreeMap<String, SuccessfulPackageVersionInfo>;
type Failures = BTreeMap<String, PackageVersionError>;

fn failed(code: PackageVersionErrorCode, message: impl Into<String>) -> PackageVersionError {
    PackageVersionError {
        error_code: Some(code),
        error_message: Some(message.into()),
    }
}

/// The versions a request names, each with the revision it must have (if any).
fn requested(
    versions: Option<Vec<String>>,
    revisions: Option<BTreeMap<String, String>>,
) -> Result<Vec<(String, Option<String>)>, AwsError> {
    let versions = versions.unwrap_or_default();
    match revisions {
        Some(r) if !versions.is_empty() && !r.is_empty() => Err(invalid(
            "Give either versions or versionRevisions, not both",
        )),
        Some(r) if !r.is_empty() => Ok(r.into_iter().map(|(v, rev)| (v, Some(rev))).collect()),
        _ if versions.is_empty() => Err(invalid("Name at least one version")),
        _ => Ok(versions.into_iter().map(|v| (v, None)).collect()),
    }
}

impl ArtifactService {
    /// A version checked against what the request expects of it: its row and document, or
    /// the failure to report.
    async fn checked(
        &self,
        t: &Target,
        version: &str,
        revision: Option<&str>,
        expected: Option<PackageVersionStatus>,
    ) -> Result<Result<(VersionRow, VersionDoc), PackageVersionError>, AwsError> {
        let Some(row) = self
            .store
            .ca_version(&t.key, version)
            .await
            .map_err(internal)?
        else {
            return Ok(Err(failed(
                PackageVersionErrorCode::NotFound,
                format!("Package version {version} not found"),
            )));
        };
        let doc: VersionDoc = serde_json::from_str(&row.document).map_err(internal)?;
        if revision.is_some_and(|r| r != doc.revision) {
            return Ok(Err(failed(
                PackageVersionErrorCode::MismatchedRevision,
                format!("Package version {version} has another revision"),
            )));
        }
        if expected.is_some_and(|e| e != status_of(&row.status)) {
            return Ok(Err(failed(
                PackageVersionErrorCode::MismatchedStatus,
                format!("Package version {version} is {}", row.status),
            )));
        }
        Ok(Ok((row, doc)))
    }

    pub(crate) async fn update_status(
        &self,
        i: UpdatePackageVersionsStatusRequest,
    ) -> Result<UpdatePackageVersionsStatusResult, AwsError> {
        let target = i.target_status;
        if !matches!(
            target,
            PackageVersionStatus::Published
                | PackageVersionStatus::Unlisted
                | PackageVersionStatus::Archived
        ) {
            return Err(invalid(
                "targetStatus must be Published, Unlisted or Archived",
            ));
        }
        let t = target_of!(self, i).await?;
        let versions = requested(Some(i.versions), i.version_revisions)?;
        let (mut ok, mut bad) = (Successes::new(), Failures::new());
        for (v, rev) in versions {
            let (row, doc) = match self
                .checked(&t, &v, rev.as_deref(), i.expected_status)
                .await?
            {
                Ok(found) => found,
                Err(f) => {
                    bad.insert(v, f);
                    continue;
                }
            };
            let current = status_of(&row.status);
            if current == PackageVersionStatus::Disposed {
                bad.insert(
                    v,
                    failed(
                        PackageVersionErrorCode::NotAllowed,
                        "A disposed version cannot change status",
                    ),
                );
                continue;
            }
            if current == target {
                bad.insert(
                    v,
                    failed(
                        PackageVersionErrorCode::Skipped,
                        format!("Package version is already {}", target.as_str()),
                    ),
                );
                continue;
            }
            self.store
                .set_ca_version(&t.key, &v, target.as_str(), &row.document)
                .await
                .map_err(internal)?;
            ok.insert(
                v,
                SuccessfulPackageVersionInfo {
                    revision: Some(doc.revision),
                    status: Some(target),
                },
            );
        }
        Ok(UpdatePackageVersionsStatusResult {
            successful_versions: Some(ok),
            failed_versions: Some(bad),
        })
    }

    pub(crate) async fn delete_versions(
        &self,
        i: DeletePackageVersionsRequest,
    ) -> Result<DeletePackageVersionsResult, AwsError> {
        let t = target_of!(self, i).await?;
        let versions = requested(Some(i.versions), None)?;
        let (mut ok, mut bad) = (Successes::new(), Failures::new());
        for (v, _) in versions {
            let (_, doc) = match self.checked(&t, &v, None, i.expected_status).await? {
                Ok(found) => found,
                Err(f) => {
                    bad.insert(v, f);
                    continue;
                }
            };
            let gone = self
                .store
                .drop_ca_assets(&t.key, &v, true)
                .await
                .map_err(internal)?;
            self.drop_contents(&gone).await;
            ok.insert(
                v,
                SuccessfulPackageVersionInfo {
                    revision: Some(doc.revision),
                    status: Some(PackageVersionStatus::Deleted),
                },
            );
        }
        Ok(DeletePackageVersionsResult {
            successful_versions: Some(ok),
            failed_versions: Some(bad),
        })
    }

    pub(crate) async fn dispose_versions(
        &self,
        i: DisposePackageVersionsRequest,
    ) -> Result<DisposePackageVersionsResult, AwsError> {
        let t = target_of!(self, i).await?;
        let versions = requested(Some(i.versions), i.version_revisions)?;
        let (mut ok, mut bad) = (Successes::new(), Failures::new());
        for (v, rev) in versions {
            let (row, doc) = match self
                .checked(&t, &v, rev.as_deref(), i.expected_status)
                .await?
            {
                Ok(found) => found,
                Err(f) => {
                    bad.insert(v, f);
                    continue;
                }
            };
            if row.status != "Disposed" {
                let gone = self
                    .store
                    .drop_ca_assets(&t.key, &v, false)
                    .await
                    .map_err(internal)?;
                self.store
                    .set_ca_version(&t.key, &v, "Disposed", &row.document)
                    .await
                    .map_err(internal)?;
                self.drop_contents(&gone).await;
            }
            ok.insert(
                v,
                SuccessfulPackageVersionInfo {
                    revision: Some(doc.revision),
                    status: Some(PackageVersionStatus::Disposed),
                },
            );
        }
        Ok(DisposePackageVersionsResult {
            successful_versions: Some(ok),
            failed_versions: Some(bad),
        })
    }

    /// CopyPackageVersions between two repositories of one domain. The copies refer to the
    /// same contents (nothing is duplicated in the blob store). `includeFromUpstream` is not
    /// honoured yet: versions are copied only from the source repository itself.
    pub(crate) async fn copy_versions(
        &self,
        i: CopyPackageVersionsRequest,
    ) -> Result<CopyPackageVersionsResult, AwsError> {
        if i.source_repository == i.destination_repository {
            return Err(invalid(
                "The source and destination repositories must differ",
            ));
        }
        let from = self
            .target(
                &i.domain,
                i.domain_owner.as_deref(),
                &i.source_repository,
                i.format,
                i.namespace.as_deref(),
                &i.package,
            )
            .await?;
        let to = self
            .target(
                &i.domain,
                i.domain_owner.as_deref(),
                &i.destination_repository,
                i.format,
                i.namespace.as_deref(),
                &i.package,
            )
            .await?;
        let versions = requested(i.versions, i.version_revisions)?;
        let overwrite = i.allow_overwrite == Some(true);
        let package_doc = serde_json::to_string(&PackageDoc::published()).map_err(internal)?;
        let (mut ok, mut bad) = (Successes::new(), Failures::new());
        for (v, rev) in versions {
            let (row, doc) = match self.checked(&from, &v, rev.as_deref(), None).await? {
                Ok(found) => found,
                Err(f) => {
                    bad.insert(v, f);
                    continue;
                }
            };
            if !matches!(row.status.as_str(), "Published" | "Unlisted") {
                bad.insert(
                    v,
                    failed(
                        PackageVersionErrorCode::NotAllowed,
                        format!("A version that is {} cannot be copied", row.status),
                    ),
                );
                continue;
            }
            let exists = self
                .store
                .ca_version(&to.key, &v)
                .await
                .map_err(internal)?
                .is_some();
            if exists && !overwrite {
                bad.insert(
                    v,
                    failed(
                        PackageVersionErrorCode::AlreadyExists,
                        "The version exists in the destination repository",
                    ),
                );
                continue;
            }
            let assets = self
                .store
                .ca_assets(&from.key, &v)
                .await
                .map_err(internal)?;
            if exists {
                let gone = self
                    .store
                    .drop_ca_assets(&to.key, &v, true)
                    .await
                    .map_err(internal)?;
                self.drop_contents(&gone).await;
            }
            // The copies refer to contents the source refers to; no deletion runs meanwhile.
            let _turn = self.contents.lock().await;
            if assets.is_empty() {
                self.store
                    .put_ca_version(&to.key, &package_doc, &row, None, now_ms())
                    .await
                    .map_err(internal)?;
            }
            for a in &assets {
                self.store
                    .put_ca_version(&to.key, &package_doc, &row, Some(a), now_ms())
                    .await
                    .map_err(internal)?;
            }
            ok.insert(
                v,
                SuccessfulPackageVersionInfo {
                    revision: Some(doc.revision),
                    status: Some(status_of(&row.status)),
                },
            );
        }
        Ok(CopyPackageVersionsResult {
            successful_versions: Some(ok),
            failed_versions: Some(bad),
        })
    }
}
