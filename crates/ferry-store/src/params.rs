//! SSM Parameter Store storage: parameters with every version kept (values of `SecureString`
//! versions sealed with the store's key) and the labels attached to versions.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// The most versions a parameter keeps; the oldest unlabeled one goes when a put exceeds it.
pub const MAX_PARAMETER_VERSIONS: i64 = 100;

/// One version of a parameter as stored (`value` is sealed when `secure`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamVersionRow {
    pub name: String,
    pub version: i64,
    pub param_type: String,
    pub value: String,
    pub description: Option<String>,
    pub key_id: Option<String>,
    pub allowed_pattern: Option<String>,
    pub tier: String,
    pub data_type: String,
    pub modified_ms: i64,
    pub modified_user: String,
    pub labels: Vec<String>,
}

impl ParamVersionRow {
    /// Whether the value is sealed.
    pub fn secure(&self) -> bool {
        self.param_type == "SecureString"
    }
}

/// A new version to write (`value` in clear; it is sealed here for `SecureString`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParamVersion {
    pub name: String,
    pub param_type: String,
    pub value: String,
    pub description: Option<String>,
    pub key_id: Option<String>,
    pub allowed_pattern: Option<String>,
    pub tier: String,
    pub data_type: String,
    pub modified_ms: i64,
    pub modified_user: String,
}

/// Why a put failed.
#[derive(Debug, thiserror::Error)]
pub enum PutParamError {
    #[error("the parameter exists")]
    Exists,
    #[error("the oldest version is labeled and the version limit is reached")]
    MaxVersions,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for PutParamError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

const COLUMNS: &str = "v.name, v.version, v.param_type, v.value, v.description, v.key_id, \
     v.allowed_pattern, v.tier, v.data_type, v.modified_ms, v.modified_user";

fn version_row(r: &AnyRow) -> ParamVersionRow {
    ParamVersionRow {
        name: r.get(0),
        version: r.get(1),
        param_type: r.get(2),
        value: r.get(3),
        description: r.get(4),
        key_id: r.get(5),
        allowed_pattern: r.get(6),
        tier: r.get(7),
        data_type: r.get(8),
        modified_ms: r.get(9),
        modified_user: r.get(10),
        labels: Vec::new(),
    }
}

/// The resource id the tags of a parameter are kept under.
pub fn parameter_tag_id(name: &str) -> String {
    format!("ssm:parameter:{name}")
}

impl Store {
    /// Writes a new version of a parameter: version 1 of a new one, or the next version when
    /// `overwrite` (else `Exists`). Returns the version written.
    pub async fn put_parameter(
        &self,
        p: &NewParamVersion,
        overwrite: bool,
        tags: &BTreeMap<String, String>,
    ) -> Result<i64, PutParamError> {
        let value = if p.param_type == "SecureString" {
            self.secrets.seal(&p.value)
        } else {
            p.value.clone()
        };
        let mut tx = self.begin_write().await?;
        let current: Option<i64> =
            sqlx::query("SELECT version FROM ssm_parameters WHERE name = $1")
                .bind(&p.name)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.get(0));
        let version = match current {
            Some(_) if !overwrite => return Err(PutParamError::Exists),
            Some(v) => {
                sqlx::query("UPDATE ssm_parameters SET version = $1 WHERE name = $2")
                    .bind(v + 1)
                    .bind(&p.name)
                    .execute(&mut *tx)
                    .await?;
                v + 1
            }
            None => {
                sqlx::query("INSERT INTO ssm_parameters (name, version) VALUES ($1, 1)")
                    .bind(&p.name)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match StoreError::from_insert(e, &p.name) {
                        StoreError::Conflict(_) => PutParamError::Exists,
                        e => PutParamError::Store(e),
                    })?;
                let tag_id = parameter_tag_id(&p.name);
                for (k, v) in tags {
                    sqlx::query(
                        "INSERT INTO resource_tags (resource_id, tag_key, tag_value) VALUES ($1, $2, $3) \
                         ON CONFLICT (resource_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
                    )
                    .bind(&tag_id)
                    .bind(k)
                    .bind(v)
                    .execute(&mut *tx)
                    .await?;
                }
                1
            }
        };
        sqlx::query(
            "INSERT INTO ssm_parameter_versions (name, version, param_type, value, description, key_id, \
               allowed_pattern, tier, data_type, modified_ms, modified_user) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&p.name)
        .bind(version)
        .bind(&p.param_type)
        .bind(&value)
        .bind(&p.description)
        .bind(&p.key_id)
        .bind(&p.allowed_pattern)
        .bind(&p.tier)
        .bind(&p.data_type)
        .bind(p.modified_ms)
        .bind(&p.modified_user)
        .execute(&mut *tx)
        .await?;
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM ssm_parameter_versions WHERE name = $1")
            .bind(&p.name)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
        if count > MAX_PARAMETER_VERSIONS {
            let oldest: i64 =
                sqlx::query("SELECT MIN(version) FROM ssm_parameter_versions WHERE name = $1")
                    .bind(&p.name)
                    .fetch_one(&mut *tx)
                    .await?
                    .get(0);
            let labeled: i64 = sqlx::query(
                "SELECT COUNT(*) FROM ssm_parameter_labels WHERE name = $1 AND version = $2",
            )
            .bind(&p.name)
            .bind(oldest)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
            if labeled > 0 {
                tx.rollback().await?;
                return Err(PutParamError::MaxVersions);
            }
            sqlx::query("DELETE FROM ssm_parameter_versions WHERE name = $1 AND version = $2")
                .bind(&p.name)
                .bind(oldest)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(version)
    }

    /// Opens a sealed `SecureString` value.
    pub fn open_parameter_value(&self, sealed: &str) -> Result<String, StoreError> {
        self.secrets.open(sealed)
    }

    /// The latest version of a parameter, with its labels.
    pub async fn parameter(&self, name: &str) -> Result<Option<ParamVersionRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM ssm_parameters p JOIN ssm_parameter_versions v \
               ON v.name = p.name AND v.version = p.version WHERE p.name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        self.with_labels(row.as_ref().map(version_row)).await
    }

    /// One version of a parameter, with its labels.
    pub async fn parameter_version(
        &self,
        name: &str,
        version: i64,
    ) -> Result<Option<ParamVersionRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM ssm_parameter_versions v WHERE v.name = $1 AND v.version = $2"
        ))
        .bind(name)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        self.with_labels(row.as_ref().map(version_row)).await
    }

    /// The version a label points at.
    pub async fn parameter_label(
        &self,
        name: &str,
        label: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query("SELECT version FROM ssm_parameter_labels WHERE name = $1 AND label = $2")
                .bind(name)
                .bind(label)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.get(0)),
        )
    }

    async fn with_labels(
        &self,
        row: Option<ParamVersionRow>,
    ) -> Result<Option<ParamVersionRow>, StoreError> {
        let Some(mut row) = row else {
            return Ok(None);
        };
        row.labels = sqlx::query(
            "SELECT label FROM ssm_parameter_labels WHERE name = $1 AND version = $2 ORDER BY label",
        )
        .bind(&row.name)
        .bind(row.version)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
        Ok(Some(row))
    }

    /// The latest versions of the parameters whose names start with `prefix`, by name, after
    /// `after`, at most `limit`.
    pub async fn parameters(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ParamVersionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM ssm_parameters p JOIN ssm_parameter_versions v \
               ON v.name = p.name AND v.version = p.version \
             WHERE substr(p.name, 1, length($1)) = $1 AND ($2 IS NULL OR p.name > $2) \
             ORDER BY p.name LIMIT $3"
        ))
        .bind(prefix)
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(row) = self.with_labels(Some(version_row(r))).await? {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Every version of a parameter, oldest first, with labels.
    pub async fn parameter_history(&self, name: &str) -> Result<Vec<ParamVersionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM ssm_parameter_versions v WHERE v.name = $1 ORDER BY v.version"
        ))
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        let labels = sqlx::query(
            "SELECT version, label FROM ssm_parameter_labels WHERE name = $1 ORDER BY label",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<ParamVersionRow> = rows.iter().map(version_row).collect();
        for l in &labels {
            let v: i64 = l.get(0);
            if let Some(row) = out.iter_mut().find(|r| r.version == v) {
                row.labels.push(l.get(1));
            }
        }
        Ok(out)
    }

    /// Moves `labels` to `version` of a parameter (from whichever version had them).
    pub async fn label_parameter_version(
        &self,
        name: &str,
        version: i64,
        labels: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for label in labels {
            sqlx::query(
                "INSERT INTO ssm_parameter_labels (name, label, version) VALUES ($1, $2, $3) \
                 ON CONFLICT (name, label) DO UPDATE SET version = excluded.version",
            )
            .bind(name)
            .bind(label)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a parameter with every version, label and tag; false when absent.
    pub async fn delete_parameter(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM ssm_parameters WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for sql in [
            "DELETE FROM ssm_parameter_versions WHERE name = $1",
            "DELETE FROM ssm_parameter_labels WHERE name = $1",
        ] {
            sqlx::query(sql).bind(name).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM resource_tags WHERE resource_id = $1")
            .bind(parameter_tag_id(name))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n > 0)
    }
}
