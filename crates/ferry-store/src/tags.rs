//! Tags on any resource, keyed by the resource's stable id (ARNs change on rename).

use std::collections::BTreeMap;

use sqlx::Row;

use crate::{Store, StoreError};

impl Store {
    /// The tags of a resource.
    pub async fn tags(&self, resource_id: &str) -> Result<BTreeMap<String, String>, StoreError> {
        let rows = sqlx::query(
            "SELECT tag_key, tag_value FROM resource_tags WHERE resource_id = $1 ORDER BY tag_key",
        )
        .bind(resource_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Adds or replaces tags, refusing to exceed `max` tags on the resource; all or nothing.
    pub async fn put_tags(
        &self,
        resource_id: &str,
        tags: &BTreeMap<String, String>,
        max: usize,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for (k, v) in tags {
            sqlx::query(
                "INSERT INTO resource_tags (resource_id, tag_key, tag_value) VALUES ($1, $2, $3) \
                 ON CONFLICT (resource_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
            )
            .bind(resource_id)
            .bind(k)
            .bind(v)
            .execute(&mut *tx)
            .await?;
        }
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM resource_tags WHERE resource_id = $1")
            .bind(resource_id)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
        if count as usize > max {
            tx.rollback().await?;
            return Err(StoreError::Conflict(format!("more than {max} tags")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes tags by key; absent keys are fine.
    pub async fn remove_tags(&self, resource_id: &str, keys: &[String]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for k in keys {
            sqlx::query("DELETE FROM resource_tags WHERE resource_id = $1 AND tag_key = $2")
                .bind(resource_id)
                .bind(k)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
