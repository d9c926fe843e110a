//! CodeDeploy's persistent state. Applications, deployment groups, custom deployment
//! configurations, registered revisions and on-premises instances are kept as the API's JSON
//! documents under their names. Deployments keep their document plus the columns the engine
//! queries (status, stop request, a lease held by the node driving it); each deployment's
//! targets and the commands agents poll for (one per lifecycle event sent to a host) have rows
//! of their own, so a restarted node can pick a deployment up where it stood.

use sqlx::Row;

use crate::{Store, StoreError};

/// A stored deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRow {
    pub deployment_id: String,
    pub app_name: String,
    pub group_name: String,
    pub status: String,
    pub created_ms: i64,
    /// The API's DeploymentInfo.
    pub document: String,
    /// What the engine needs that DeploymentInfo does not carry, as JSON.
    pub settings: String,
    pub stop_requested: bool,
}

/// A command for an agent: one lifecycle event of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRow {
    pub command_id: String,
    pub deployment_id: String,
    pub instance_name: String,
    pub host_arn: String,
    pub command_name: String,
    /// `Pending` → `InProgress` → `Succeeded` | `Failed`.
    pub status: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub diagnostics: Option<String>,
}

/// A stored on-premises instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRow {
    pub name: String,
    pub iam_arn: String,
    pub registered: bool,
    /// The API's InstanceInfo (with its tags).
    pub document: String,
    pub last_seen_ms: Option<i64>,
}

const DEPLOYMENT_COLUMNS: &str =
    "deployment_id, app_name, group_name, status, created_ms, document, settings, stop_requested";

fn deployment_of(r: &sqlx::any::AnyRow) -> DeploymentRow {
    DeploymentRow {
        deployment_id: r.get(0),
        app_name: r.get(1),
        group_name: r.get(2),
        status: r.get(3),
        created_ms: r.get(4),
        document: r.get(5),
        settings: r.get(6),
        stop_requested: r.get::<i64, _>(7) != 0,
    }
}

const COMMAND_COLUMNS: &str = "command_id, deployment_id, instance_name, host_arn, command_name, status, created_ms, updated_ms, diagnostics";

fn command_of(r: &sqlx::any::AnyRow) -> CommandRow {
    CommandRow {
        command_id: r.get(0),
        deployment_id: r.get(1),
        instance_name: r.get(2),
        host_arn: r.get(3),
        command_name: r.get(4),
        status: r.get(5),
        created_ms: r.get(6),
        updated_ms: r.get(7),
        diagnostics: r.get(8),
    }
}

const INSTANCE_COLUMNS: &str = "instance_name, iam_arn, registered, document, last_seen_ms";

fn instance_of(r: &sqlx::any::AnyRow) -> InstanceRow {
    InstanceRow {
        name: r.get(0),
        iam_arn: r.get(1),
        registered: r.get::<i64, _>(2) != 0,
        document: r.get(3),
        last_seen_ms: r.get(4),
    }
}

/// Statuses of a deployment that still holds its group.
pub const ACTIVE_DEPLOYMENT_STATUSES: &[&str] = &["Created", "Queued", "InProgress", "Ready"];

impl Store {
    // --- applications ------------------------------------------------------------------------

    /// Creates an application; `Conflict` when the name is taken.
    pub async fn create_application(
        &self,
        name: &str,
        document: &str,
        created_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cd_applications (app_name, document, created_ms) VALUES ($1, $2, $3)",
        )
        .bind(name)
        .bind(document)
        .bind(created_ms)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| StoreError::from_insert(e, name))?;
        Ok(())
    }

    /// An application's document.
    pub async fn application(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT document FROM cd_applications WHERE app_name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Every application name, sorted.
    pub async fn application_names(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT app_name FROM cd_applications ORDER BY app_name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Renames an application (its groups, revisions and deployments follow) and stores its
    /// new document; `NotFound` when absent, `Conflict` when the new name is taken.
    pub async fn rename_application(
        &self,
        old: &str,
        new: &str,
        document: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE cd_applications SET app_name = $1, document = $2 WHERE app_name = $3",
        )
        .bind(new)
        .bind(document)
        .bind(old)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_insert(e, new))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        for table in ["cd_groups", "cd_revisions", "cd_deployments"] {
            sqlx::query(&format!(
                "UPDATE {table} SET app_name = $1 WHERE app_name = $2"
            ))
            .bind(new)
            .bind(old)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an application with its deployment groups and registered revisions (its
    /// deployments stay readable); whether it existed.
    pub async fn delete_application(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        for table in ["cd_groups", "cd_revisions"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE app_name = $1"))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM cd_applications WHERE app_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    // --- deployment groups -------------------------------------------------------------------

    /// Creates a deployment group; `Conflict` when the name is taken in the application.
    pub async fn create_deployment_group(
        &self,
        app: &str,
        name: &str,
        group_id: &str,
        document: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cd_groups (app_name, group_name, group_id, document) VALUES ($1, $2, $3, $4)",
        )
        .bind(app)
        .bind(name)
        .bind(group_id)
        .bind(document)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| StoreError::from_insert(e, name))?;
        Ok(())
    }

    /// A deployment group's document.
    pub async fn deployment_group(
        &self,
        app: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT document FROM cd_groups WHERE app_name = $1 AND group_name = $2")
                .bind(app)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The deployment group names of an application, sorted.
    pub async fn deployment_group_names(&self, app: &str) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query("SELECT group_name FROM cd_groups WHERE app_name = $1 ORDER BY group_name")
                .bind(app)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Replaces a group's document, renaming it when `new_name` differs; `NotFound` when
    /// absent, `Conflict` when the new name is taken.
    pub async fn update_deployment_group(
        &self,
        app: &str,
        name: &str,
        new_name: &str,
        document: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE cd_groups SET group_name = $1, document = $2 WHERE app_name = $3 AND group_name = $4",
        )
        .bind(new_name)
        .bind(document)
        .bind(app)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_insert(e, new_name))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if name != new_name {
            sqlx::query(
                "UPDATE cd_deployments SET group_name = $1 WHERE app_name = $2 AND group_name = $3",
            )
            .bind(new_name)
            .bind(app)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a deployment group; whether it existed.
    pub async fn delete_deployment_group(&self, app: &str, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM cd_groups WHERE app_name = $1 AND group_name = $2")
            .bind(app)
            .bind(name)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    // --- deployment configurations -------------------------------------------------------------

    /// Creates a custom deployment configuration; `Conflict` when the name is taken.
    pub async fn create_deployment_config(
        &self,
        name: &str,
        document: &str,
        created_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cd_configs (config_name, document, created_ms) VALUES ($1, $2, $3)",
        )
        .bind(name)
        .bind(document)
        .bind(created_ms)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| StoreError::from_insert(e, name))?;
        Ok(())
    }

    /// A custom deployment configuration's document.
    pub async fn deployment_config(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT document FROM cd_configs WHERE config_name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Every custom deployment configuration name, sorted.
    pub async fn deployment_config_names(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT config_name FROM cd_configs ORDER BY config_name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Deletes a custom deployment configuration; whether it existed.
    pub async fn delete_deployment_config(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM cd_configs WHERE config_name = $1")
            .bind(name)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    // --- revisions ---------------------------------------------------------------------------

    /// Records (or replaces) a revision of an application under its key.
    pub async fn put_revision(
        &self,
        app: &str,
        key: &str,
        document: &str,
        registered_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM cd_revisions WHERE app_name = $1 AND revision_key = $2")
            .bind(app)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO cd_revisions (app_name, revision_key, document, registered_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(app)
        .bind(key)
        .bind(document)
        .bind(registered_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A revision's document.
    pub async fn revision(&self, app: &str, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT document FROM cd_revisions WHERE app_name = $1 AND revision_key = $2",
        )
        .bind(app)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Every revision document of an application, oldest registration first.
    pub async fn revisions(&self, app: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT document FROM cd_revisions WHERE app_name = $1 ORDER BY registered_ms, revision_key",
        )
        .bind(app)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    // --- on-premises instances -----------------------------------------------------------------

    /// Registers an instance; `Conflict("name")` when the name is registered, `Conflict("arn")`
    /// when the IAM ARN is. A deregistered instance of the same name is replaced.
    pub async fn register_instance(&self, row: &InstanceRow) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let by_name = sqlx::query("SELECT registered FROM cd_instances WHERE instance_name = $1")
            .bind(&row.name)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(r) = by_name {
            if r.get::<i64, _>(0) != 0 {
                return Err(StoreError::Conflict("name".into()));
            }
            sqlx::query("DELETE FROM cd_instances WHERE instance_name = $1")
                .bind(&row.name)
                .execute(&mut *tx)
                .await?;
        }
        let by_arn = sqlx::query(
            "SELECT instance_name FROM cd_instances WHERE iam_arn = $1 AND registered = 1",
        )
        .bind(&row.iam_arn)
        .fetch_optional(&mut *tx)
        .await?;
        if by_arn.is_some() {
            return Err(StoreError::Conflict("arn".into()));
        }
        sqlx::query(&format!(
            "INSERT INTO cd_instances ({INSTANCE_COLUMNS}) VALUES ($1, $2, 1, $3, $4)"
        ))
        .bind(&row.name)
        .bind(&row.iam_arn)
        .bind(&row.document)
        .bind(row.last_seen_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An instance by name (registered or not).
    pub async fn instance(&self, name: &str) -> Result<Option<InstanceRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {INSTANCE_COLUMNS} FROM cd_instances WHERE instance_name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(instance_of))
    }

    /// The registered instance an IAM ARN identifies.
    pub async fn instance_by_arn(&self, arn: &str) -> Result<Option<InstanceRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {INSTANCE_COLUMNS} FROM cd_instances WHERE iam_arn = $1 AND registered = 1"
        ))
        .bind(arn)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(instance_of))
    }

    /// Every instance, by name.
    pub async fn instances(&self) -> Result<Vec<InstanceRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {INSTANCE_COLUMNS} FROM cd_instances ORDER BY instance_name"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(instance_of).collect())
    }

    /// Replaces an instance's document (tags, deregistration) and registration flag.
    pub async fn update_instance(
        &self,
        name: &str,
        registered: bool,
        document: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE cd_instances SET registered = $1, document = $2 WHERE instance_name = $3",
        )
        .bind(i64::from(registered))
        .bind(document)
        .bind(name)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// Records that the agent of an instance was heard from.
    pub async fn touch_instance(&self, name: &str, at_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE cd_instances SET last_seen_ms = $1 WHERE instance_name = $2")
            .bind(at_ms)
            .bind(name)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    // --- deployments -------------------------------------------------------------------------

    /// Records a new deployment; when `exclusive`, refuses (`Conflict` with the active
    /// deployment's id) if its group already has an active one.
    pub async fn insert_deployment(
        &self,
        row: &DeploymentRow,
        exclusive: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if exclusive
            && let Some(active) = active_in(&mut tx, &row.app_name, &row.group_name).await?
        {
            return Err(StoreError::Conflict(active));
        }
        sqlx::query(&format!(
            "INSERT INTO cd_deployments ({DEPLOYMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&row.deployment_id)
        .bind(&row.app_name)
        .bind(&row.group_name)
        .bind(&row.status)
        .bind(row.created_ms)
        .bind(&row.document)
        .bind(&row.settings)
        .bind(i64::from(row.stop_requested))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A deployment by id.
    pub async fn deployment(&self, id: &str) -> Result<Option<DeploymentRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {DEPLOYMENT_COLUMNS} FROM cd_deployments WHERE deployment_id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(deployment_of))
    }

    /// Deployments, optionally of one application (and group), oldest first.
    pub async fn deployments(
        &self,
        app: Option<&str>,
        group: Option<&str>,
    ) -> Result<Vec<DeploymentRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DEPLOYMENT_COLUMNS} FROM cd_deployments \
             WHERE ($1 = '' OR app_name = $1) AND ($2 = '' OR group_name = $2) \
             ORDER BY created_ms, deployment_id"
        ))
        .bind(app.unwrap_or(""))
        .bind(group.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(deployment_of).collect())
    }

    /// Stores a deployment's status and document.
    pub async fn save_deployment(
        &self,
        id: &str,
        status: &str,
        document: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE cd_deployments SET status = $1, document = $2 WHERE deployment_id = $3",
        )
        .bind(status)
        .bind(document)
        .bind(id)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// Replaces a deployment's engine settings.
    pub async fn set_deployment_settings(
        &self,
        id: &str,
        settings: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE cd_deployments SET settings = $1 WHERE deployment_id = $2")
            .bind(settings)
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    /// Asks a deployment to stop (with the stop settings merged by the caller).
    pub async fn request_deployment_stop(
        &self,
        id: &str,
        settings: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE cd_deployments SET stop_requested = 1, settings = $1 WHERE deployment_id = $2",
        )
        .bind(settings)
        .bind(id)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// Claims up to `limit` deployments this node may drive: not finished, unleased or with an
    /// expired lease, and (for ones not started) the oldest of their group with no other
    /// deployment of the group in progress.
    pub async fn claim_deployments(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<DeploymentRow>, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(&format!(
            "SELECT {DEPLOYMENT_COLUMNS} FROM cd_deployments d \
             WHERE d.status IN ('Created', 'Queued', 'InProgress', 'Ready') \
               AND (d.lease_until_ms IS NULL OR d.lease_until_ms < $1 OR d.lease_owner = $2) \
             ORDER BY d.created_ms, d.deployment_id"
        ))
        .bind(now_ms)
        .bind(node)
        .fetch_all(&mut *tx)
        .await?;
        let all: Vec<DeploymentRow> = rows.iter().map(deployment_of).collect();
        let mut claimed = Vec::new();
        let mut groups_seen: Vec<(String, String)> = Vec::new();
        for d in all {
            let key = (d.app_name.clone(), d.group_name.clone());
            let first_of_group = !groups_seen.contains(&key);
            groups_seen.push(key);
            let started = d.status == "InProgress" || d.status == "Ready";
            if !started {
                // Only the oldest active deployment of a group may start.
                let older = sqlx::query(
                    "SELECT count(*) FROM cd_deployments WHERE app_name = $1 AND group_name = $2 \
                     AND status IN ('Created', 'Queued', 'InProgress', 'Ready') \
                     AND (created_ms < $3 OR (created_ms = $3 AND deployment_id < $4))",
                )
                .bind(&d.app_name)
                .bind(&d.group_name)
                .bind(d.created_ms)
                .bind(&d.deployment_id)
                .fetch_one(&mut *tx)
                .await?
                .get::<i64, _>(0);
                if older > 0 || !first_of_group {
                    continue;
                }
            }
            if claimed.len() >= limit {
                break;
            }
            sqlx::query(
                "UPDATE cd_deployments SET lease_owner = $1, lease_until_ms = $2 WHERE deployment_id = $3",
            )
            .bind(node)
            .bind(now_ms + lease_ms)
            .bind(&d.deployment_id)
            .execute(&mut *tx)
            .await?;
            claimed.push(d);
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Extends this node's leases on `ids`.
    pub async fn renew_deployment_leases(
        &self,
        node: &str,
        ids: &[String],
        until_ms: i64,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for id in ids {
            sqlx::query(
                "UPDATE cd_deployments SET lease_until_ms = $1 WHERE deployment_id = $2 AND lease_owner = $3",
            )
            .bind(until_ms)
            .bind(id)
            .bind(node)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // --- targets -----------------------------------------------------------------------------

    /// Records (or replaces) a deployment target's status and document.
    pub async fn put_target(
        &self,
        deployment: &str,
        instance: &str,
        status: &str,
        document: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE cd_targets SET status = $1, document = $2 WHERE deployment_id = $3 AND instance_name = $4",
        )
        .bind(status)
        .bind(document)
        .bind(deployment)
        .bind(instance)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO cd_targets (deployment_id, instance_name, status, document) VALUES ($1, $2, $3, $4)",
            )
            .bind(deployment)
            .bind(instance)
            .bind(status)
            .bind(document)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A deployment's targets as (instance, status, document), by instance name.
    pub async fn targets(
        &self,
        deployment: &str,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT instance_name, status, document FROM cd_targets WHERE deployment_id = $1 ORDER BY instance_name",
        )
        .bind(deployment)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    // --- agent commands ----------------------------------------------------------------------

    /// Queues a command for an agent.
    pub async fn insert_command(&self, c: &CommandRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO cd_commands ({COMMAND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&c.command_id)
        .bind(&c.deployment_id)
        .bind(&c.instance_name)
        .bind(&c.host_arn)
        .bind(&c.command_name)
        .bind(&c.status)
        .bind(c.created_ms)
        .bind(c.updated_ms)
        .bind(&c.diagnostics)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// A command by id.
    pub async fn command(&self, id: &str) -> Result<Option<CommandRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COMMAND_COLUMNS} FROM cd_commands WHERE command_id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(command_of))
    }

    /// The oldest command waiting for a host (not yet acknowledged).
    pub async fn next_command(&self, host_arn: &str) -> Result<Option<CommandRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COMMAND_COLUMNS} FROM cd_commands WHERE host_arn = $1 AND status = 'Pending' \
             ORDER BY created_ms, command_id LIMIT 1"
        ))
        .bind(host_arn)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(command_of))
    }

    /// Moves a command to `status` if it is in one of `from`; whether it moved.
    pub async fn set_command_status(
        &self,
        id: &str,
        from: &[&str],
        status: &str,
        diagnostics: Option<&str>,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let current = sqlx::query("SELECT status FROM cd_commands WHERE command_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.get::<String, _>(0));
        let Some(current) = current else {
            return Ok(false);
        };
        if !from.contains(&current.as_str()) {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE cd_commands SET status = $1, diagnostics = COALESCE($2, diagnostics), updated_ms = $3 WHERE command_id = $4",
        )
        .bind(status)
        .bind(diagnostics)
        .bind(at_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records progress of a running command (its output so far, a heartbeat).
    pub async fn touch_command(
        &self,
        id: &str,
        diagnostics: Option<&str>,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE cd_commands SET diagnostics = COALESCE($1, diagnostics), updated_ms = $2 WHERE command_id = $3",
        )
        .bind(diagnostics)
        .bind(at_ms)
        .bind(id)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// The commands of one target of a deployment, oldest first.
    pub async fn target_commands(
        &self,
        deployment: &str,
        instance: &str,
    ) -> Result<Vec<CommandRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COMMAND_COLUMNS} FROM cd_commands WHERE deployment_id = $1 AND instance_name = $2 \
             ORDER BY created_ms, command_id"
        ))
        .bind(deployment)
        .bind(instance)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(command_of).collect())
    }
}

/// The active deployment of a group, inside a transaction.
async fn active_in(
    tx: &mut crate::WriteTx,
    app: &str,
    group: &str,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT deployment_id FROM cd_deployments WHERE app_name = $1 AND group_name = $2 \
         AND status IN ('Created', 'Queued', 'InProgress', 'Ready') ORDER BY created_ms LIMIT 1",
    )
    .bind(app)
    .bind(group)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.get(0)))
}
