//! Repository trigger configurations, and installation secrets kept sealed in `meta` (such as
//! the key that signs trigger deliveries).

use sqlx::Row;

use crate::{Store, StoreError};

impl Store {
    /// A repository's trigger configuration: `(configuration id, triggers as JSON)`.
    pub async fn triggers(
        &self,
        repository_id: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query("SELECT configuration_id, triggers FROM cc_repository_triggers WHERE repository_id = $1")
            .bind(repository_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Replaces a repository's trigger configuration.
    pub async fn put_triggers(
        &self,
        repository_id: &str,
        configuration_id: &str,
        triggers: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cc_repository_triggers (repository_id, configuration_id, triggers) VALUES ($1, $2, $3) \
             ON CONFLICT (repository_id) DO UPDATE SET configuration_id = excluded.configuration_id, triggers = excluded.triggers",
        )
        .bind(repository_id)
        .bind(configuration_id)
        .bind(triggers)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// An installation secret named `name`, created (random, sealed at rest) on first use.
    pub async fn installation_secret(&self, name: &str) -> Result<String, StoreError> {
        let key = format!("secret:{name}");
        let fresh = ferry_types::ids::random_alnum(48);
        sqlx::query("INSERT INTO meta (meta_key, meta_value) VALUES ($1, $2) ON CONFLICT (meta_key) DO NOTHING")
            .bind(&key)
            .bind(self.secrets.seal(&fresh))
            .execute(&mut *self.writer().await?)
            .await?;
        let sealed: String = sqlx::query("SELECT meta_value FROM meta WHERE meta_key = $1")
            .bind(&key)
            .fetch_one(&self.pool)
            .await?
            .get(0);
        self.secrets.open(&sealed)
    }
}
