//! CodeArtifact's records: domains and repositories as JSON documents, packages (with their
//! origin controls in the document), versions (status and publication time as columns, the
//! rest as JSON) and assets (their content's SHA-256 and size as columns). A version and its
//! asset are written in one transaction, after the asset's blob is stored, so nothing is ever
//! visible half-written. Removing assets reports which contents no asset refers to any more,
//! so that the caller can delete their blobs.

use sqlx::Row;

use crate::db::WriteTx;
use crate::{Store, StoreError};

/// Which package a row belongs to (`namespace` is empty for formats without one).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PackageKey {
    pub domain: String,
    pub repository: String,
    pub format: String,
    pub namespace: String,
    pub name: String,
}

/// One stored version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    pub version: String,
    pub status: String,
    pub published_ms: i64,
    pub document: String,
}

/// One stored asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRow {
    pub name: String,
    pub sha256: String,
    pub size: i64,
    pub document: String,
}

/// A stored authorization token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub domain: String,
    pub principal_arn: String,
    pub user_name: String,
    pub expires_ms: i64,
}

const KEY_WHERE: &str =
    "domain = $1 AND repository = $2 AND format = $3 AND namespace = $4 AND name = $5";

fn bind_key<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    k: &'q PackageKey,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(&k.domain)
        .bind(&k.repository)
        .bind(&k.format)
        .bind(&k.namespace)
        .bind(&k.name)
}

fn version_of(r: &sqlx::any::AnyRow) -> VersionRow {
    VersionRow {
        version: r.get(0),
        status: r.get(1),
        published_ms: r.get(2),
        document: r.get(3),
    }
}

use crate::ca_changes::Changed;

/// Of `shas`, those no asset refers to any more.
async fn orphans(tx: &mut WriteTx, mut shas: Vec<String>) -> Result<Vec<String>, StoreError> {
    shas.sort();
    shas.dedup();
    let mut out = Vec::new();
    for sha in shas {
        let used = sqlx::query("SELECT 1 FROM ca_assets WHERE sha256 = $1 LIMIT 1")
            .bind(&sha)
            .fetch_optional(&mut **tx)
            .await?;
        if used.is_none() {
            out.push(sha);
        }
    }
    Ok(out)
}

impl Store {
    /// Marks CodeArtifact's records as changed when the returned guard drops, after the write
    /// it guards ended (an answer cached from what a reader saw before that is then stale:
    /// readers take the generation before they read).
    fn ca_changed(&self) -> Changed {
        Changed {
            generation: self.ca_generation.clone(),
            announce: (self.backend() == crate::Backend::Postgres).then(|| self.pool.clone()),
        }
    }

    /// A number that changes whenever CodeArtifact's records change: at once for this
    /// process's writes, and on PostgreSQL within a notification's latency for other nodes'
    /// (`ca_changes`).
    pub fn ca_generation(&self) -> u64 {
        self.ca_generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stores a new domain; `Conflict` when the name is taken.
    pub async fn create_ca_domain(
        &self,
        name: &str,
        document: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let _changed = self.ca_changed();
        sqlx::query("INSERT INTO ca_domains (name, document, created_ms) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(document)
            .bind(now_ms)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(|e| StoreError::from_insert(e, name))?;
        Ok(())
    }

    /// A domain's document.
    pub async fn ca_domain(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT document FROM ca_domains WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Every domain as `(name, document)`, by name.
    pub async fn ca_domains(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT name, document FROM ca_domains ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Replaces a domain's document; `NotFound` when absent.
    pub async fn update_ca_domain(&self, name: &str, document: &str) -> Result<(), StoreError> {
        let _changed = self.ca_changed();
        let done = sqlx::query("UPDATE ca_domains SET document = $2 WHERE name = $1")
            .bind(name)
            .bind(document)
            .execute(&mut *self.writer().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a domain: `Conflict` while it has repositories, `NotFound` when absent.
    pub async fn delete_ca_domain(&self, name: &str) -> Result<(), StoreError> {
        let _changed = self.ca_changed();
        let mut tx = self.begin_write().await?;
        let repos: i64 = sqlx::query("SELECT COUNT(*) FROM ca_repositories WHERE domain = $1")
            .bind(name)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
        if repos > 0 {
            return Err(StoreError::Conflict(name.to_owned()));
        }
        sqlx::query("DELETE FROM ca_package_groups WHERE domain = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM ca_domains WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// The number of repositories in a domain and the bytes of its distinct asset contents.
    pub async fn ca_domain_usage(&self, name: &str) -> Result<(i64, i64), StoreError> {
        let repos: i64 = sqlx::query("SELECT COUNT(*) FROM ca_repositories WHERE domain = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?
            .get(0);
        let bytes: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM \
             (SELECT DISTINCT sha256, size FROM ca_assets WHERE domain = $1) t",
        )
        .bind(name)
        .fetch_one(&self.pool)
        .await?
        .get(0);
        Ok((repos, bytes))
    }

    /// Stores a new repository; `Conflict` when the name is taken in the domain.
    pub async fn create_ca_repository(
        &self,
        domain: &str,
        name: &str,
        document: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let _changed = self.ca_changed();
        sqlx::query(
            "INSERT INTO ca_repositories (domain, name, document, created_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(domain)
        .bind(name)
        .bind(document)
        .bind(now_ms)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| StoreError::from_insert(e, name))?;
        Ok(())
    }

    /// A repository's document.
    pub async fn ca_repository(
        &self,
        domain: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT document FROM ca_repositories WHERE domain = $1 AND name = $2")
                .bind(domain)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Repositories as `(domain, name, document)`, of one domain or of all, by domain and name.
    pub async fn ca_repositories(
        &self,
        domain: Option<&str>,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = match domain {
            Some(d) => {
                sqlx::query(
                    "SELECT domain, name, document FROM ca_repositories WHERE domain = $1 ORDER BY domain, name",
                )
                .bind(d)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT domain, name, document FROM ca_repositories ORDER BY domain, name",
                )
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Replaces a repository's document; `NotFound` when absent.
    pub async fn update_ca_repository(
        &self,
        domain: &str,
        name: &str,
        document: &str,
    ) -> Result<(), StoreError> {
        let _changed = self.ca_changed();
        let done =
            sqlx::query("UPDATE ca_repositories SET document = $3 WHERE domain = $1 AND name = $2")
                .bind(domain)
                .bind(name)
                .bind(document)
                .execute(&mut *self.writer().await?)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a repository with its packages, versions and assets; returns the contents no
    /// asset refers to any more. `NotFound` when absent.
    pub async fn delete_ca_repository(
        &self,
        domain: &str,
        name: &str,
    ) -> Result<Vec<String>, StoreError> {
        let _changed = self.ca_changed();
        let mut tx = self.begin_write().await?;
        let shas: Vec<String> =
            sqlx::query("SELECT sha256 FROM ca_assets WHERE domain = $1 AND repository = $2")
                .bind(domain)
                .bind(name)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
        for table in ["ca_assets", "ca_versions", "ca_packages"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE domain = $1 AND repository = $2"
            ))
            .bind(domain)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        let done = sqlx::query("DELETE FROM ca_repositories WHERE domain = $1 AND name = $2")
            .bind(domain)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let gone = orphans(&mut tx, shas).await?;
        tx.commit().await?;
        Ok(gone)
    }

    /// A package's document.
    pub async fn ca_package(&self, k: &PackageKey) -> Result<Option<String>, StoreError> {
        let sql = format!("SELECT document FROM ca_packages WHERE {KEY_WHERE}");
        let row = bind_key(sqlx::query(&sql), k)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Stores a package's document, creating the package when it does not exist.
    pub async fn put_ca_package(&self, k: &PackageKey, document: &str) -> Result<(), StoreError> {
        let _changed = self.ca_changed();
        sqlx::query(
            "INSERT INTO ca_packages (domain, repository, format, namespace, name, document) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (domain, repository, format, namespace, name) DO UPDATE SET document = excluded.document",
        )
        .bind(&k.domain)
        .bind(&k.repository)
        .bind(&k.format)
        .bind(&k.namespace)
        .bind(&k.name)
        .bind(document)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// The packages of a repository with their documents, by format, namespace and name.
    pub async fn ca_packages(
        &self,
        domain: &str,
        repository: &str,
    ) -> Result<Vec<(PackageKey, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT format, namespace, name, document FROM ca_packages \
             WHERE domain = $1 AND repository = $2 ORDER BY format, namespace, name",
        )
        .bind(domain)
        .bind(repository)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    PackageKey {
                        domain: domain.to_owned(),
                        repository: repository.to_owned(),
                        format: r.get(0),
                        namespace: r.get(1),
                        name: r.get(2),
                    },
                    r.get(3),
                )
            })
            .collect())
    }

    /// Deletes a package with its versions and assets; returns the contents no asset refers
    /// to any more. `NotFound` when absent.
    pub async fn delete_ca_package(&self, k: &PackageKey) -> Result<Vec<String>, StoreError> {
        let _changed = self.ca_changed();
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT sha256 FROM ca_assets WHERE {KEY_WHERE}");
        let shas: Vec<String> = bind_key(sqlx::query(&sql), k)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for table in ["ca_assets", "ca_versions"] {
            let sql = format!("DELETE FROM {table} WHERE {KEY_WHERE}");
            bind_key(sqlx::query(&sql), k).execute(&mut *tx).await?;
        }
        let sql = format!("DELETE FROM ca_packages WHERE {KEY_WHERE}");
        let done = bind_key(sqlx::query(&sql), k).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let gone = orphans(&mut tx, shas).await?;
        tx.commit().await?;
        Ok(gone)
    }

    /// A package's versions, oldest publication first.
    pub async fn ca_versions(&self, k: &PackageKey) -> Result<Vec<VersionRow>, StoreError> {
        let sql = format!(
            "SELECT version, status, published_ms, document FROM ca_versions WHERE {KEY_WHERE} \
             ORDER BY published_ms, version"
        );
        let rows = bind_key(sqlx::query(&sql), k).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(version_of).collect())
    }

    /// One version.
    pub async fn ca_version(
        &self,
        k: &PackageKey,
        version: &str,
    ) -> Result<Option<VersionRow>, StoreError> {
        let sql = format!(
            "SELECT version, status, published_ms, document FROM ca_versions WHERE {KEY_WHERE} AND version = $6"
        );
        let row = bind_key(sqlx::query(&sql), k)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(version_of))
    }

    /// In one transaction: creates the package with `package_document` unless it exists,
    /// stores the version (inserting or replacing it), and adds `asset` to it. `Conflict` when
    /// the version already has an asset of that name.
    pub async fn put_ca_version(
        &self,
        k: &PackageKey,
        package_document: &str,
        v: &VersionRow,
        asset: Option<&AssetRow>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let _changed = self.ca_changed();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO ca_packages (domain, repository, format, namespace, name, document) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (domain, repository, format, namespace, name) DO NOTHING",
        )
        .bind(&k.domain)
        .bind(&k.repository)
        .bind(&k.format)
        .bind(&k.namespace)
        .bind(&k.name)
        .bind(package_document)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO ca_versions (domain, repository, format, namespace, name, version, status, published_ms, document) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (domain, repository, format, namespace, name, version) \
             DO UPDATE SET status = excluded.status, published_ms = excluded.published_ms, document = excluded.document",
        )
        .bind(&k.domain)
        .bind(&k.repository)
        .bind(&k.format)
        .bind(&k.namespace)
        .bind(&k.name)
        .bind(&v.version)
        .bind(&v.status)
        .bind(v.published_ms)
        .bind(&v.document)
        .execute(&mut *tx)
        .await?;
        if let Some(a) = asset {
            sqlx::query(
                "INSERT INTO ca_assets (domain, repository, format, namespace, name, version, asset, sha256, size, document, created_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&k.domain)
            .bind(&k.repository)
            .bind(&k.format)
            .bind(&k.namespace)
            .bind(&k.name)
            .bind(&v.version)
            .bind(&a.name)
            .bind(&a.sha256)
            .bind(a.size)
            .bind(&a.document)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::from_insert(e, &a.name))?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets a version's status and document; `NotFound` when absent.
    pub async fn set_ca_version(
        &self,
        k: &PackageKey,
        version: &str,
        status: &str,
        document: &str,
    ) -> Result<(), StoreError> {
        let _changed = self.ca_changed();
        let sql = format!(
            "UPDATE ca_versions SET status = $7, document = $8 WHERE {KEY_WHERE} AND version = $6"
        );
        let done = bind_key(sqlx::query(&sql), k)
            .bind(version)
            .bind(status)
            .bind(document)
            .execute(&mut *self.writer().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Removes a version's assets (and, with `delete_version`, the version); returns the
    /// contents no asset refers to any more.
    pub async fn drop_ca_assets(
        &self,
        k: &PackageKey,
        version: &str,
        delete_version: bool,
    ) -> Result<Vec<String>, StoreError> {
        let _changed = self.ca_changed();
        let mut tx = self.begin_write().await?;
        let sql = format!("SELECT sha256 FROM ca_assets WHERE {KEY_WHERE} AND version = $6");
        let shas: Vec<String> = bind_key(sqlx::query(&sql), k)
            .bind(version)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let sql = format!("DELETE FROM ca_assets WHERE {KEY_WHERE} AND version = $6");
        bind_key(sqlx::query(&sql), k)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        if delete_version {
            let sql = format!("DELETE FROM ca_versions WHERE {KEY_WHERE} AND version = $6");
            bind_key(sqlx::query(&sql), k)
                .bind(version)
                .execute(&mut *tx)
                .await?;
        }
        let gone = orphans(&mut tx, shas).await?;
        tx.commit().await?;
        Ok(gone)
    }

    /// A version's assets, by name.
    pub async fn ca_assets(
        &self,
        k: &PackageKey,
        version: &str,
    ) -> Result<Vec<AssetRow>, StoreError> {
        let sql = format!(
            "SELECT asset, sha256, size, document FROM ca_assets WHERE {KEY_WHERE} AND version = $6 ORDER BY asset"
        );
        let rows = bind_key(sqlx::query(&sql), k)
            .bind(version)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| AssetRow {
                name: r.get(0),
                sha256: r.get(1),
                size: r.get(2),
                document: r.get(3),
            })
            .collect())
    }

    /// Whether any asset has the content `sha256`.
    pub async fn ca_content_used(&self, sha256: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM ca_assets WHERE sha256 = $1 LIMIT 1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Stores a new package group; `Conflict` when the domain has one with this pattern.
    pub async fn create_ca_group(
        &self,
        domain: &str,
        pattern: &str,
        document: &str,
        created_ms: i64,
    ) -> Result<(), StoreError> {
        let _changed = self.ca_changed();
        sqlx::query(
            "INSERT INTO ca_package_groups (domain, pattern, document, created_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(domain)
        .bind(pattern)
        .bind(document)
        .bind(created_ms)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| StoreError::from_insert(e, pattern))?;
        Ok(())
    }

    /// Stores a package group's document, creating its row (created at `created_ms`) if
    /// absent.
    pub async fn put_ca_group(
        &self,
        domain: &str,
        pattern: &str,
        document: &str,
        created_ms: i64,
    ) -> Result<(), StoreError> {
        let _changed = self.ca_changed();
        sqlx::query(
            "INSERT INTO ca_package_groups (domain, pattern, document, created_ms) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (domain, pattern) DO UPDATE SET document = excluded.document",
        )
        .bind(domain)
        .bind(pattern)
        .bind(document)
        .bind(created_ms)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// A domain's package groups: pattern, document and creation time, by pattern.
    pub async fn ca_groups(&self, domain: &str) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT pattern, document, created_ms FROM ca_package_groups \
             WHERE domain = $1 ORDER BY pattern",
        )
        .bind(domain)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Deletes a package group; `NotFound` when absent.
    pub async fn delete_ca_group(&self, domain: &str, pattern: &str) -> Result<(), StoreError> {
        let _changed = self.ca_changed();
        let done = sqlx::query("DELETE FROM ca_package_groups WHERE domain = $1 AND pattern = $2")
            .bind(domain)
            .bind(pattern)
            .execute(&mut *self.writer().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Stores an authorization token by its hash.
    pub async fn create_ca_token(&self, hash: &str, t: &TokenRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO ca_tokens (token_hash, domain, principal_arn, user_name, expires_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash)
        .bind(&t.domain)
        .bind(&t.principal_arn)
        .bind(&t.user_name)
        .bind(t.expires_ms)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// The token with hash `hash`, expired or not.
    pub async fn ca_token(&self, hash: &str) -> Result<Option<TokenRow>, StoreError> {
        let row = sqlx::query(
            "SELECT domain, principal_arn, user_name, expires_ms FROM ca_tokens WHERE token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| TokenRow {
            domain: r.get(0),
            principal_arn: r.get(1),
            user_name: r.get(2),
            expires_ms: r.get(3),
        }))
    }
}
