//! CodePipeline's persistent state: pipelines (the current declaration, every stored version,
//! and a lease naming the node that drives the pipeline's executions), executions (the
//! engine's JSON record of each, with its status and times as columns) and the stage
//! transitions someone disabled.

use sqlx::Row;

use crate::{Store, StoreError};

/// A stored pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineRow {
    pub name: String,
    pub version: i64,
    /// The API's PipelineDeclaration, with tags and settings the engine keeps beside it.
    pub document: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A stored execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionRow {
    pub execution_id: String,
    pub pipeline: String,
    pub status: String,
    pub started_ms: i64,
    pub updated_ms: i64,
    /// The engine's record of the execution, as JSON.
    pub document: String,
}

/// Execution statuses that are not final.
pub const ACTIVE_STATUSES: &str = "('InProgress', 'Stopping')";

const PIPELINE_COLUMNS: &str = "name, version, document, created_ms, updated_ms";
const EXECUTION_COLUMNS: &str = "execution_id, pipeline, status, started_ms, updated_ms, document";

fn pipeline_of(r: &sqlx::any::AnyRow) -> PipelineRow {
    PipelineRow {
        name: r.get(0),
        version: r.get(1),
        document: r.get(2),
        created_ms: r.get(3),
        updated_ms: r.get(4),
    }
}

fn execution_of(r: &sqlx::any::AnyRow) -> ExecutionRow {
    ExecutionRow {
        execution_id: r.get(0),
        pipeline: r.get(1),
        status: r.get(2),
        started_ms: r.get(3),
        updated_ms: r.get(4),
        document: r.get(5),
    }
}

impl Store {
    /// Stores a new pipeline at version 1; `Conflict` when the name is taken.
    pub async fn create_pipeline(&self, row: &PipelineRow) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!(
            "INSERT INTO cp_pipelines ({PIPELINE_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(&row.name)
        .bind(row.version)
        .bind(&row.document)
        .bind(row.created_ms)
        .bind(row.updated_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_insert(e, &row.name))?;
        sqlx::query(
            "INSERT INTO cp_pipeline_versions (name, version, document) VALUES ($1, $2, $3)",
        )
        .bind(&row.name)
        .bind(row.version)
        .bind(&row.document)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a pipeline's declaration. With `new_version`, the document is also kept as
    /// that version (UpdatePipeline); without, only the current document changes (tags).
    /// `NotFound` when absent.
    pub async fn update_pipeline(
        &self,
        name: &str,
        document: &str,
        new_version: Option<i64>,
        updated_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = match new_version {
            Some(v) => {
                sqlx::query(
                    "UPDATE cp_pipelines SET document = $1, version = $2, updated_ms = $3 WHERE name = $4",
                )
                .bind(document)
                .bind(v)
                .bind(updated_ms)
                .bind(name)
                .execute(&mut *tx)
                .await?
            }
            None => {
                sqlx::query("UPDATE cp_pipelines SET document = $1 WHERE name = $2")
                    .bind(document)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?
            }
        };
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if let Some(v) = new_version {
            sqlx::query(
                "INSERT INTO cp_pipeline_versions (name, version, document) VALUES ($1, $2, $3)",
            )
            .bind(name)
            .bind(v)
            .bind(document)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A pipeline as it is now.
    pub async fn pipeline(&self, name: &str) -> Result<Option<PipelineRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PIPELINE_COLUMNS} FROM cp_pipelines WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(pipeline_of))
    }

    /// The declaration a pipeline had at `version`.
    pub async fn pipeline_version(
        &self,
        name: &str,
        version: i64,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT document FROM cp_pipeline_versions WHERE name = $1 AND version = $2",
        )
        .bind(name)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Every pipeline, by name.
    pub async fn pipelines(&self) -> Result<Vec<PipelineRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PIPELINE_COLUMNS} FROM cp_pipelines ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(pipeline_of).collect())
    }

    /// Deletes a pipeline with its versions, executions and transitions; `NotFound` when
    /// absent.
    pub async fn delete_pipeline(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM cp_pipelines WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        for table in ["cp_pipeline_versions", "cp_executions", "cp_transitions"] {
            let column = if table == "cp_pipeline_versions" {
                "name"
            } else {
                "pipeline"
            };
            sqlx::query(&format!("DELETE FROM {table} WHERE {column} = $1"))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes (or renews) the lease on driving `name`'s executions for `node` until
    /// `until_ms`; `false` when another node holds an unexpired lease.
    pub async fn lease_pipeline(
        &self,
        name: &str,
        node: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE cp_pipelines SET lease_owner = $1, lease_until_ms = $2 WHERE name = $3 \
             AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until_ms IS NULL OR lease_until_ms < $4)",
        )
        .bind(node)
        .bind(until_ms)
        .bind(name)
        .bind(now_ms)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives up `node`'s lease on `name`.
    pub async fn release_pipeline(&self, name: &str, node: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE cp_pipelines SET lease_owner = NULL, lease_until_ms = NULL WHERE name = $1 AND lease_owner = $2",
        )
        .bind(name)
        .bind(node)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// Names of pipelines with executions not yet finished.
    pub async fn pipelines_with_active_executions(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT DISTINCT pipeline FROM cp_executions WHERE status IN {ACTIVE_STATUSES} ORDER BY pipeline"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Inserts or replaces an execution.
    pub async fn put_execution(&self, row: &ExecutionRow) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE cp_executions SET status = $1, updated_ms = $2, document = $3 WHERE execution_id = $4",
        )
        .bind(&row.status)
        .bind(row.updated_ms)
        .bind(&row.document)
        .bind(&row.execution_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            sqlx::query(&format!(
                "INSERT INTO cp_executions ({EXECUTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
            ))
            .bind(&row.execution_id)
            .bind(&row.pipeline)
            .bind(&row.status)
            .bind(row.started_ms)
            .bind(row.updated_ms)
            .bind(&row.document)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One execution.
    pub async fn execution(&self, id: &str) -> Result<Option<ExecutionRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {EXECUTION_COLUMNS} FROM cp_executions WHERE execution_id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(execution_of))
    }

    /// A pipeline's executions, newest first; only the active ones with `active_only`.
    pub async fn executions(
        &self,
        pipeline: &str,
        active_only: bool,
    ) -> Result<Vec<ExecutionRow>, StoreError> {
        let filter = if active_only {
            format!(" AND status IN {ACTIVE_STATUSES}")
        } else {
            String::new()
        };
        let rows = sqlx::query(&format!(
            "SELECT {EXECUTION_COLUMNS} FROM cp_executions WHERE pipeline = $1{filter} \
             ORDER BY started_ms DESC, execution_id DESC"
        ))
        .bind(pipeline)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(execution_of).collect())
    }

    /// Stores a stage transition's state (the API's TransitionState as JSON).
    pub async fn put_transition(
        &self,
        pipeline: &str,
        stage: &str,
        document: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM cp_transitions WHERE pipeline = $1 AND stage = $2")
            .bind(pipeline)
            .bind(stage)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO cp_transitions (pipeline, stage, document) VALUES ($1, $2, $3)")
            .bind(pipeline)
            .bind(stage)
            .bind(document)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A pipeline's stored transitions, as `(stage, document)`.
    pub async fn transitions(&self, pipeline: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT stage, document FROM cp_transitions WHERE pipeline = $1")
            .bind(pipeline)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
