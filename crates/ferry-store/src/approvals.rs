//! Approval rules on pull requests, approval rule templates with the repositories they are
//! associated with, and per-revision overrides.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// One approval rule of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleRow {
    pub pull_request_id: i64,
    pub name: String,
    pub id: String,
    pub content: String,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub modified_user: String,
    /// The template the rule came from, if any: `(id, name)`.
    pub template: Option<(String, String)>,
}

/// One approval rule template.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub content: String,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub modified_user: String,
}

const RULE_COLUMNS: &str = "pull_request_id, rule_name, rule_id, content, created_ms, modified_ms, modified_user, template_id, template_name";
const TEMPLATE_COLUMNS: &str =
    "template_id, template_name, description, content, created_ms, modified_ms, modified_user";

fn row_to_rule(r: &AnyRow) -> RuleRow {
    let id: Option<String> = r.get(7);
    let name: Option<String> = r.get(8);
    RuleRow {
        pull_request_id: r.get(0),
        name: r.get(1),
        id: r.get(2),
        content: r.get(3),
        created_ms: r.get(4),
        modified_ms: r.get(5),
        modified_user: r.get(6),
        template: id.zip(name),
    }
}

fn row_to_template(r: &AnyRow) -> TemplateRow {
    TemplateRow {
        id: r.get(0),
        name: r.get(1),
        description: r.get(2),
        content: r.get(3),
        created_ms: r.get(4),
        modified_ms: r.get(5),
        modified_user: r.get(6),
    }
}

impl Store {
    /// The approval rules of a pull request, by creation.
    pub async fn approval_rules(&self, pull_request_id: i64) -> Result<Vec<RuleRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM cc_approval_rules WHERE pull_request_id = $1 ORDER BY created_ms, rule_name"
        ))
        .bind(pull_request_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(row_to_rule).collect())
    }

    /// Adds a rule; `Conflict` when the pull request has one of that name.
    pub async fn insert_approval_rule(&self, r: &RuleRow) -> Result<(), StoreError> {
        let (tid, tname) = r.template.clone().unzip();
        sqlx::query(&format!("INSERT INTO cc_approval_rules ({RULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
            .bind(r.pull_request_id)
            .bind(&r.name)
            .bind(&r.id)
            .bind(&r.content)
            .bind(r.created_ms)
            .bind(r.modified_ms)
            .bind(&r.modified_user)
            .bind(tid)
            .bind(tname)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(|e| StoreError::from_insert(e, &r.name))?;
        Ok(())
    }

    /// Replaces a rule's content.
    pub async fn update_approval_rule(
        &self,
        pull_request_id: i64,
        name: &str,
        content: &str,
        now_ms: i64,
        user: &str,
    ) -> Result<(), StoreError> {
        let res = sqlx::query(
            "UPDATE cc_approval_rules SET content = $1, modified_ms = $2, modified_user = $3 \
             WHERE pull_request_id = $4 AND rule_name = $5",
        )
        .bind(content)
        .bind(now_ms)
        .bind(user)
        .bind(pull_request_id)
        .bind(name)
        .execute(&mut *self.writer().await?)
        .await?;
        if res.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Deletes a rule and returns its id.
    pub async fn delete_approval_rule(
        &self,
        pull_request_id: i64,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("DELETE FROM cc_approval_rules WHERE pull_request_id = $1 AND rule_name = $2 RETURNING rule_id")
            .bind(pull_request_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Records who overrode the rules of a revision (`None` revokes the override).
    pub async fn set_override(
        &self,
        pull_request_id: i64,
        revision_id: &str,
        overrider: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM cc_pull_request_overrides WHERE pull_request_id = $1 AND revision_id = $2",
        )
        .bind(pull_request_id)
        .bind(revision_id)
        .execute(&mut *self.writer().await?)
        .await?;
        if let Some(who) = overrider {
            sqlx::query("INSERT INTO cc_pull_request_overrides (pull_request_id, revision_id, overrider) VALUES ($1, $2, $3)")
                .bind(pull_request_id)
                .bind(revision_id)
                .bind(who)
                .execute(&mut *self.writer().await?)
                .await?;
        }
        Ok(())
    }

    /// Who overrode the rules of a revision.
    pub async fn override_of(
        &self,
        pull_request_id: i64,
        revision_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT overrider FROM cc_pull_request_overrides WHERE pull_request_id = $1 AND revision_id = $2")
            .bind(pull_request_id)
            .bind(revision_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Adds a template; `Conflict` when the name is taken.
    pub async fn insert_template(&self, t: &TemplateRow) -> Result<(), StoreError> {
        sqlx::query(&format!("INSERT INTO cc_approval_rule_templates ({TEMPLATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(&t.id)
            .bind(&t.name)
            .bind(&t.description)
            .bind(&t.content)
            .bind(t.created_ms)
            .bind(t.modified_ms)
            .bind(&t.modified_user)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(|e| StoreError::from_insert(e, &t.name))?;
        Ok(())
    }

    /// A template by name.
    pub async fn template(&self, name: &str) -> Result<Option<TemplateRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {TEMPLATE_COLUMNS} FROM cc_approval_rule_templates WHERE template_name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(row_to_template))
    }

    /// Template names in order, after `after`.
    pub async fn template_names(&self, after: &str, limit: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT template_name FROM cc_approval_rule_templates WHERE template_name > $1 ORDER BY template_name LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Writes a changed template (matched by id).
    pub async fn update_template(&self, t: &TemplateRow) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE cc_approval_rule_templates SET template_name = $1, description = $2, content = $3, modified_ms = $4, \
             modified_user = $5 WHERE template_id = $6",
        )
        .bind(&t.name)
        .bind(&t.description)
        .bind(&t.content)
        .bind(t.modified_ms)
        .bind(&t.modified_user)
        .bind(&t.id)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| StoreError::from_insert(e, &t.name))?;
        Ok(())
    }

    /// Deletes a template and its associations; returns its id.
    pub async fn delete_template(&self, name: &str) -> Result<Option<String>, StoreError> {
        let Some(t) = self.template(name).await? else {
            return Ok(None);
        };
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM cc_template_repositories WHERE template_id = $1")
            .bind(&t.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM cc_approval_rule_templates WHERE template_id = $1")
            .bind(&t.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(t.id))
    }

    /// Associates a template with a repository (already associated is fine).
    pub async fn associate_template(
        &self,
        template_id: &str,
        repository_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cc_template_repositories (template_id, repository_id) VALUES ($1, $2) \
             ON CONFLICT (template_id, repository_id) DO NOTHING",
        )
        .bind(template_id)
        .bind(repository_id)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// Removes an association (absent is fine).
    pub async fn disassociate_template(
        &self,
        template_id: &str,
        repository_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM cc_template_repositories WHERE template_id = $1 AND repository_id = $2",
        )
        .bind(template_id)
        .bind(repository_id)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// The templates associated with a repository, by name.
    pub async fn templates_for_repository(
        &self,
        repository_id: &str,
    ) -> Result<Vec<TemplateRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.template_id, t.template_name, t.description, t.content, t.created_ms, t.modified_ms, t.modified_user \
             FROM cc_approval_rule_templates t JOIN cc_template_repositories a ON a.template_id = t.template_id \
             WHERE a.repository_id = $1 ORDER BY t.template_name"
        )
        .bind(repository_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(row_to_template).collect())
    }

    /// Names of the repositories a template is associated with, by name.
    pub async fn repositories_for_template(
        &self,
        template_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.repository_name FROM cc_repositories r JOIN cc_template_repositories a ON a.repository_id = r.repository_id \
             WHERE a.template_id = $1 ORDER BY r.repository_name",
        )
        .bind(template_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Appends an event to a pull request's history.
    pub async fn add_pull_request_event(
        &self,
        id: i64,
        event_type: &str,
        actor: &str,
        ms: i64,
        metadata: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        crate::pulls::insert_event(&mut tx, id, event_type, actor, ms, metadata).await?;
        tx.commit().await?;
        Ok(())
    }
}
