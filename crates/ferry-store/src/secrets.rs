//! Secrets Manager storage: secrets (keyed by ARN, unique by name), their versions (values
//! sealed with the store's key) and the staging labels, each on at most one version.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A secret's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRow {
    pub arn: String,
    pub name: String,
    pub description: Option<String>,
    pub kms_key_id: Option<String>,
    pub created_ms: i64,
    pub last_changed_ms: i64,
    pub last_accessed_ms: Option<i64>,
    pub deleted_ms: Option<i64>,
    pub recovery_days: Option<i64>,
}

/// A version's value in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretValue {
    Text(String),
    Binary(Vec<u8>),
}

/// A version of a secret, with its value opened.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretVersionRow {
    pub version_id: String,
    pub value: SecretValue,
    pub created_ms: i64,
    pub stages: Vec<String>,
}

impl std::fmt::Debug for SecretVersionRow {
    // Never prints the value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretVersionRow")
            .field("version_id", &self.version_id)
            .field("created_ms", &self.created_ms)
            .field("stages", &self.stages)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "arn, name, description, kms_key_id, created_ms, last_changed_ms, \
     last_accessed_ms, deleted_ms, recovery_days";

fn secret_row(r: &AnyRow) -> SecretRow {
    SecretRow {
        arn: r.get(0),
        name: r.get(1),
        description: r.get(2),
        kms_key_id: r.get(3),
        created_ms: r.get(4),
        last_changed_ms: r.get(5),
        last_accessed_ms: r.get(6),
        deleted_ms: r.get(7),
        recovery_days: r.get(8),
    }
}

/// A new version to add: its id, value, and the stages it takes (`AWSCURRENT` moving makes the
/// version that held it `AWSPREVIOUS`).
pub struct NewSecretVersion<'a> {
    pub version_id: &'a str,
    pub value: &'a SecretValue,
    pub stages: &'a [String],
    pub created_ms: i64,
}

impl Store {
    fn seal_value(&self, v: &SecretValue) -> (String, i64) {
        use base64::Engine;
        match v {
            SecretValue::Text(s) => (self.secrets.seal(s), 0),
            SecretValue::Binary(b) => (
                self.secrets
                    .seal(&base64::engine::general_purpose::STANDARD.encode(b)),
                1,
            ),
        }
    }

    fn open_value(&self, sealed: &str, binary: bool) -> Result<SecretValue, StoreError> {
        use base64::Engine;
        let plain = self.secrets.open(sealed)?;
        if binary {
            base64::engine::general_purpose::STANDARD
                .decode(plain.as_bytes())
                .map(SecretValue::Binary)
                .map_err(|_| StoreError::Secret("binary secret is not base64".into()))
        } else {
            Ok(SecretValue::Text(plain))
        }
    }

    /// Creates a secret with its tags and, optionally, its first version (as `AWSCURRENT`);
    /// `Conflict` when the name is taken.
    pub async fn create_secret(
        &self,
        secret: &SecretRow,
        tags: &BTreeMap<String, String>,
        first: Option<NewSecretVersion<'_>>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!(
            "INSERT INTO sm_secrets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&secret.arn)
        .bind(&secret.name)
        .bind(&secret.description)
        .bind(&secret.kms_key_id)
        .bind(secret.created_ms)
        .bind(secret.last_changed_ms)
        .bind(secret.last_accessed_ms)
        .bind(secret.deleted_ms)
        .bind(secret.recovery_days)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_insert(e, &secret.name))?;
        for (k, v) in tags {
            sqlx::query(
                "INSERT INTO resource_tags (resource_id, tag_key, tag_value) VALUES ($1, $2, $3)",
            )
            .bind(&secret.arn)
            .bind(k)
            .bind(v)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(v) = first {
            self.insert_version(&mut tx, &secret.arn, &v).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn insert_version(
        &self,
        tx: &mut crate::WriteTx,
        arn: &str,
        v: &NewSecretVersion<'_>,
    ) -> Result<(), StoreError> {
        let (sealed, binary) = self.seal_value(v.value);
        sqlx::query(
            "INSERT INTO sm_secret_versions (arn, version_id, value, is_binary, created_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(arn)
        .bind(v.version_id)
        .bind(&sealed)
        .bind(binary)
        .bind(v.created_ms)
        .execute(&mut **tx)
        .await
        .map_err(|e| StoreError::from_insert(e, v.version_id))?;
        for stage in v.stages {
            if stage == "AWSCURRENT" {
                let holder: Option<String> = sqlx::query(
                    "SELECT version_id FROM sm_version_stages WHERE arn = $1 AND stage = 'AWSCURRENT'",
                )
                .bind(arn)
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| r.get(0));
                if let Some(old) = holder.filter(|old| old != v.version_id) {
                    Self::set_stage(tx, arn, "AWSPREVIOUS", &old).await?;
                }
            }
            Self::set_stage(tx, arn, stage, v.version_id).await?;
        }
        sqlx::query("UPDATE sm_secrets SET last_changed_ms = $1 WHERE arn = $2")
            .bind(v.created_ms)
            .bind(arn)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn set_stage(
        tx: &mut crate::WriteTx,
        arn: &str,
        stage: &str,
        version_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sm_version_stages (arn, stage, version_id) VALUES ($1, $2, $3) \
             ON CONFLICT (arn, stage) DO UPDATE SET version_id = excluded.version_id",
        )
        .bind(arn)
        .bind(stage)
        .bind(version_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Adds a version to an existing secret; `Conflict` when the version id exists.
    pub async fn add_secret_version(
        &self,
        arn: &str,
        v: NewSecretVersion<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        self.insert_version(&mut tx, arn, &v).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A secret by exact ARN.
    pub async fn secret_by_arn(&self, arn: &str) -> Result<Option<SecretRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM sm_secrets WHERE arn = $1"))
            .bind(arn)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(secret_row))
    }

    /// A secret by name.
    pub async fn secret_by_name(&self, name: &str) -> Result<Option<SecretRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM sm_secrets WHERE name = $1"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(secret_row))
    }

    /// Every secret, by name.
    pub async fn secrets(&self) -> Result<Vec<SecretRow>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM sm_secrets ORDER BY name"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(secret_row).collect())
    }

    /// Version id → staging labels of every version of a secret that has labels.
    pub async fn secret_stages(
        &self,
        arn: &str,
    ) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
        let rows = sqlx::query(
            "SELECT version_id, stage FROM sm_version_stages WHERE arn = $1 ORDER BY stage",
        )
        .bind(arn)
        .fetch_all(&self.pool)
        .await?;
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &rows {
            out.entry(r.get(0)).or_default().push(r.get(1));
        }
        Ok(out)
    }

    /// The version of a secret with `version_id`, or the one holding `stage`.
    pub async fn secret_version(
        &self,
        arn: &str,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> Result<Option<SecretVersionRow>, StoreError> {
        let id: Option<String> = match (version_id, stage) {
            (Some(id), _) => Some(id.to_owned()),
            (None, Some(stage)) => sqlx::query(
                "SELECT version_id FROM sm_version_stages WHERE arn = $1 AND stage = $2",
            )
            .bind(arn)
            .bind(stage)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0)),
            (None, None) => None,
        };
        let Some(id) = id else {
            return Ok(None);
        };
        let Some(row) = sqlx::query(
            "SELECT value, is_binary, created_ms FROM sm_secret_versions WHERE arn = $1 AND version_id = $2",
        )
        .bind(arn)
        .bind(&id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let sealed: String = row.get(0);
        let binary: i64 = row.get(1);
        let stages = self
            .secret_stages(arn)
            .await?
            .remove(&id)
            .unwrap_or_default();
        Ok(Some(SecretVersionRow {
            value: self.open_value(&sealed, binary == 1)?,
            version_id: id,
            created_ms: row.get(2),
            stages,
        }))
    }

    /// Every version of a secret as `(version id, created)`, oldest first.
    pub async fn secret_versions(&self, arn: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT version_id, created_ms FROM sm_secret_versions WHERE arn = $1 \
             ORDER BY created_ms, version_id",
        )
        .bind(arn)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Updates a secret's description and key (a `None` keeps the current value).
    pub async fn update_secret_metadata(
        &self,
        arn: &str,
        description: Option<&str>,
        kms_key_id: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sm_secrets SET description = COALESCE($1, description), \
               kms_key_id = COALESCE($2, kms_key_id), last_changed_ms = $3 WHERE arn = $4",
        )
        .bind(description)
        .bind(kms_key_id)
        .bind(now_ms)
        .bind(arn)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// Records an access (GetSecretValue).
    pub async fn touch_secret(&self, arn: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sm_secrets SET last_accessed_ms = $1 WHERE arn = $2")
            .bind(now_ms)
            .bind(arn)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    /// Schedules (`Some(at, days)`) or cancels (`None`) a secret's deletion.
    pub async fn schedule_secret_deletion(
        &self,
        arn: &str,
        when: Option<(i64, i64)>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sm_secrets SET deleted_ms = $1, recovery_days = $2 WHERE arn = $3")
            .bind(when.map(|w| w.0))
            .bind(when.map(|w| w.1))
            .bind(arn)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    /// Deletes a secret with its versions, stages and tags at once.
    pub async fn purge_secret(&self, arn: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for sql in [
            "DELETE FROM sm_version_stages WHERE arn = $1",
            "DELETE FROM sm_secret_versions WHERE arn = $1",
            "DELETE FROM resource_tags WHERE resource_id = $1",
            "DELETE FROM sm_secrets WHERE arn = $1",
        ] {
            sqlx::query(sql).bind(arn).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
