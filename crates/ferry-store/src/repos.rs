//! CodeCommit repository metadata. The git data lives on disk under the repository's id, so
//! a rename touches only this row.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// One repository's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub default_branch: Option<String>,
    pub kms_key_id: Option<String>,
    pub created_ms: i64,
    pub modified_ms: i64,
    /// Bumped on every change of the repository's refs or `HEAD`.
    pub refs_version: i64,
}

/// The order of a repository listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoSort {
    Name,
    LastModified,
}

const COLUMNS: &str = "repository_id, repository_name, description, default_branch, kms_key_id, created_ms, modified_ms, refs_version";

fn row_to_repo(r: &AnyRow) -> RepoRow {
    RepoRow {
        id: r.get(0),
        name: r.get(1),
        description: r.get(2),
        default_branch: r.get(3),
        kms_key_id: r.get(4),
        created_ms: r.get(5),
        modified_ms: r.get(6),
        refs_version: r.get(7),
    }
}

impl Store {
    /// Inserts a new repository; `Conflict` when the name is taken.
    pub async fn insert_repository(&self, repo: &RepoRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO cc_repositories ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&repo.id)
        .bind(&repo.name)
        .bind(&repo.description)
        .bind(&repo.default_branch)
        .bind(&repo.kms_key_id)
        .bind(repo.created_ms)
        .bind(repo.modified_ms)
        .bind(repo.refs_version)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| StoreError::from_insert(e, &repo.name))?;
        Ok(())
    }

    /// A repository by name.
    pub async fn repository(&self, name: &str) -> Result<Option<RepoRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cc_repositories WHERE repository_name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(row_to_repo))
    }

    /// A repository by id.
    pub async fn repository_by_id(&self, id: &str) -> Result<Option<RepoRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cc_repositories WHERE repository_id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(row_to_repo))
    }

    /// One page of repositories in the given order, starting after `after` (the sort key of the
    /// last item of the previous page: `(modified_ms, name)`; `modified_ms` is ignored when
    /// sorting by name).
    pub async fn list_repositories(
        &self,
        sort: RepoSort,
        descending: bool,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<RepoRow>, StoreError> {
        let (cmp, dir) = if descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let rows = match (sort, after) {
            (RepoSort::Name, None) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM cc_repositories ORDER BY repository_name {dir} LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            (RepoSort::Name, Some((_, name))) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM cc_repositories WHERE repository_name {cmp} $1 \
                     ORDER BY repository_name {dir} LIMIT $2"
                ))
                .bind(name)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            (RepoSort::LastModified, None) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM cc_repositories ORDER BY modified_ms {dir}, repository_name {dir} LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            (RepoSort::LastModified, Some((ms, name))) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM cc_repositories \
                     WHERE modified_ms {cmp} $1 OR (modified_ms = $1 AND repository_name {cmp} $2) \
                     ORDER BY modified_ms {dir}, repository_name {dir} LIMIT $3"
                ))
                .bind(ms)
                .bind(name)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows.iter().map(row_to_repo).collect())
    }

    /// Deletes a repository by name and returns what was deleted.
    pub async fn delete_repository(&self, name: &str) -> Result<Option<RepoRow>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "DELETE FROM cc_repositories WHERE repository_name = $1 RETURNING {COLUMNS}"
        ))
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let repo = row.as_ref().map(row_to_repo);
        if let Some(r) = &repo {
            // Everything that belongs to the repository goes with it, in the same transaction.
            let pulls = "SELECT pull_request_id FROM cc_pull_requests WHERE repository_id = $1";
            for sql in [
                format!("DELETE FROM cc_pull_request_events WHERE pull_request_id IN ({pulls})"),
                format!("DELETE FROM cc_pull_request_approvals WHERE pull_request_id IN ({pulls})"),
                format!("DELETE FROM cc_pull_request_overrides WHERE pull_request_id IN ({pulls})"),
                format!("DELETE FROM cc_approval_rules WHERE pull_request_id IN ({pulls})"),
                "DELETE FROM cc_comment_reactions WHERE comment_id IN \
                 (SELECT comment_id FROM cc_comments WHERE repository_id = $1)"
                    .to_owned(),
                "DELETE FROM cc_comments WHERE repository_id = $1".to_owned(),
                "DELETE FROM cc_pull_requests WHERE repository_id = $1".to_owned(),
                "DELETE FROM cc_repository_triggers WHERE repository_id = $1".to_owned(),
                "DELETE FROM cc_template_repositories WHERE repository_id = $1".to_owned(),
                "DELETE FROM resource_tags WHERE resource_id = $1".to_owned(),
            ] {
                sqlx::query(&sql).bind(&r.id).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(repo)
    }

    /// Renames a repository: `NotFound` when `old` does not exist, `Conflict` when `new` does.
    pub async fn rename_repository(
        &self,
        old: &str,
        new: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let res = sqlx::query("UPDATE cc_repositories SET repository_name = $1, modified_ms = $2 WHERE repository_name = $3")
            .bind(new)
            .bind(now_ms)
            .bind(old)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(|e| StoreError::from_insert(e, new))?;
        if res.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Sets a repository's description (`None` clears it).
    pub async fn set_repository_description(
        &self,
        name: &str,
        description: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let res = sqlx::query("UPDATE cc_repositories SET description = $1, modified_ms = $2 WHERE repository_name = $3")
            .bind(description)
            .bind(now_ms)
            .bind(name)
            .execute(&mut *self.writer().await?)
            .await?;
        if res.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Sets the default branch. With `only_if_unset`, changes nothing when one is set already
    /// and answers whether it changed.
    pub async fn set_default_branch(
        &self,
        id: &str,
        branch: &str,
        only_if_unset: bool,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let sql = if only_if_unset {
            "UPDATE cc_repositories SET default_branch = $1, modified_ms = $2 WHERE repository_id = $3 AND default_branch IS NULL"
        } else {
            "UPDATE cc_repositories SET default_branch = $1, modified_ms = $2 WHERE repository_id = $3"
        };
        let res = sqlx::query(sql)
            .bind(branch)
            .bind(now_ms)
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Sets a repository's KMS key id and returns the previous one.
    pub async fn set_repository_kms_key(
        &self,
        id: &str,
        kms_key_id: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let before = self
            .repository_by_id(id)
            .await?
            .ok_or(StoreError::NotFound)?
            .kms_key_id;
        sqlx::query(
            "UPDATE cc_repositories SET kms_key_id = $1, modified_ms = $2 WHERE repository_id = $3",
        )
        .bind(kms_key_id)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(before)
    }

    /// Clears the default branch (when the last branch is deleted by a push).
    pub async fn clear_default_branch(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE cc_repositories SET default_branch = NULL, modified_ms = $1 WHERE repository_id = $2")
            .bind(now_ms)
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    /// Records that a repository's refs changed (a push, a branch created, the default branch
    /// moved): its modified time and its refs version move.
    pub async fn touch_repository(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE cc_repositories SET modified_ms = $1, refs_version = refs_version + 1 WHERE repository_id = $2",
        )
            .bind(now_ms)
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    /// Every repository id (for garbage-collecting orphaned git directories).
    pub async fn repository_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT repository_id FROM cc_repositories")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
