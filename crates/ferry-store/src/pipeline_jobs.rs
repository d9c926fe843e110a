//! CodePipeline's custom action types, job-worker jobs and webhooks: the types as the API's JSON under
//! their `Category/Custom/Provider/Version` key; each job with its status (`Created` →
//! `Dispatched` by PollForJobs → `InProgress` by AcknowledgeJob → `Succeeded` | `Failed`), its
//! nonce, the action execution it stands for, its JobData and the worker's result.

use sqlx::Row;

use crate::{Store, StoreError};

/// A stored job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub job_id: String,
    pub type_key: String,
    pub status: String,
    pub nonce: String,
    pub pipeline: String,
    pub execution_id: String,
    pub action_id: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// The API's JobData as JSON.
    pub document: String,
    /// The worker's result as JSON, once it gave one.
    pub result: Option<String>,
}

const JOB_COLUMNS: &str = "job_id, type_key, status, nonce, pipeline, execution_id, action_id, created_ms, updated_ms, document, result";

fn job_of(r: &sqlx::any::AnyRow) -> JobRow {
    JobRow {
        job_id: r.get(0),
        type_key: r.get(1),
        status: r.get(2),
        nonce: r.get(3),
        pipeline: r.get(4),
        execution_id: r.get(5),
        action_id: r.get(6),
        created_ms: r.get(7),
        updated_ms: r.get(8),
        document: r.get(9),
        result: r.get(10),
    }
}

impl Store {
    /// Stores a custom action type; `Conflict` when the key exists.
    pub async fn create_action_type(
        &self,
        key: &str,
        document: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cp_action_types (type_key, document, created_ms) VALUES ($1, $2, $3)",
        )
        .bind(key)
        .bind(document)
        .bind(now_ms)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| StoreError::from_insert(e, key))?;
        Ok(())
    }

    /// Stores an action type, replacing the document of an existing key.
    pub async fn put_action_type(
        &self,
        key: &str,
        document: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cp_action_types (type_key, document, created_ms) VALUES ($1, $2, $3)
             ON CONFLICT (type_key) DO UPDATE SET document = excluded.document",
        )
        .bind(key)
        .bind(document)
        .bind(now_ms)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// Every custom action type, as `(key, document)` by key.
    pub async fn action_types(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT type_key, document FROM cp_action_types ORDER BY type_key")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Deletes a custom action type; `NotFound` when absent.
    pub async fn delete_action_type(&self, key: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM cp_action_types WHERE type_key = $1")
            .bind(key)
            .execute(&mut *self.writer().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Stores a new job.
    pub async fn create_job(&self, j: &JobRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO cp_jobs ({JOB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&j.job_id)
        .bind(&j.type_key)
        .bind(&j.status)
        .bind(&j.nonce)
        .bind(&j.pipeline)
        .bind(&j.execution_id)
        .bind(&j.action_id)
        .bind(j.created_ms)
        .bind(j.updated_ms)
        .bind(&j.document)
        .bind(&j.result)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// One job.
    pub async fn job(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM cp_jobs WHERE job_id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(job_of))
    }

    /// Hands up to `max` waiting (`Created`) jobs of a type to a worker: they become
    /// `Dispatched`, oldest first.
    pub async fn dispatch_jobs(
        &self,
        key: &str,
        max: usize,
        now_ms: i64,
    ) -> Result<Vec<JobRow>, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM cp_jobs WHERE type_key = $1 AND status = 'Created' ORDER BY created_ms, job_id"
        ))
        .bind(key)
        .fetch_all(&mut *tx)
        .await?;
        let mut out: Vec<JobRow> = rows.iter().map(job_of).take(max).collect();
        for j in &mut out {
            sqlx::query(
                "UPDATE cp_jobs SET status = 'Dispatched', updated_ms = $1 WHERE job_id = $2",
            )
            .bind(now_ms)
            .bind(&j.job_id)
            .execute(&mut *tx)
            .await?;
            j.status = "Dispatched".into();
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Moves a job from one of `from` to `to` (with the worker's result); `false` when it was
    /// in none of them.
    pub async fn move_job(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        result: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let status: Option<String> = sqlx::query("SELECT status FROM cp_jobs WHERE job_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.get(0));
        if !status.is_some_and(|s| from.contains(&s.as_str())) {
            return Ok(false);
        }
        sqlx::query("UPDATE cp_jobs SET status = $1, result = COALESCE($2, result), updated_ms = $3 WHERE job_id = $4")
            .bind(to)
            .bind(result)
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

impl Store {
    /// Stores a webhook under `name` (replacing one of that name, whose token it keeps);
    /// returns the token of its URL.
    pub async fn put_webhook(
        &self,
        name: &str,
        new_token: &str,
        document: &str,
    ) -> Result<String, StoreError> {
        let mut tx = self.begin_write().await?;
        let old: Option<String> = sqlx::query("SELECT token FROM cp_webhooks WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.get(0));
        let token = match old {
            Some(t) => {
                sqlx::query("UPDATE cp_webhooks SET document = $1 WHERE name = $2")
                    .bind(document)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                t
            }
            None => {
                sqlx::query("INSERT INTO cp_webhooks (name, token, document) VALUES ($1, $2, $3)")
                    .bind(name)
                    .bind(new_token)
                    .bind(document)
                    .execute(&mut *tx)
                    .await?;
                new_token.to_owned()
            }
        };
        tx.commit().await?;
        Ok(token)
    }

    /// Every webhook, as `(name, token, document)` by name.
    pub async fn webhooks(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query("SELECT name, token, document FROM cp_webhooks ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// The webhook whose URL carries `token`, as `(name, document)`.
    pub async fn webhook_by_token(
        &self,
        token: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query("SELECT name, document FROM cp_webhooks WHERE token = $1")
            .bind(token)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Deletes a webhook; deleting one that does not exist is not an error.
    pub async fn delete_webhook(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM cp_webhooks WHERE name = $1")
            .bind(name)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }
}
