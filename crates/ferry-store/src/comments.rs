//! CodeCommit comments: on a pull request or on a pair of compared commits, optionally at a
//! file location, and replies (which share their thread's context).

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// One comment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommentRow {
    pub id: String,
    pub repository_id: String,
    pub pull_request_id: Option<i64>,
    /// Empty when the comment is on a single commit.
    pub before_commit: String,
    pub after_commit: String,
    pub before_blob: Option<String>,
    pub after_blob: Option<String>,
    /// The location as JSON (`{}` for none): threads are grouped by it.
    pub location: String,
    pub in_reply_to: Option<String>,
    pub content: String,
    pub author_arn: String,
    pub deleted: bool,
    pub client_request_token: Option<String>,
    pub created_ms: i64,
    pub modified_ms: i64,
}

const COLUMNS: &str = "comment_id, repository_id, pull_request_id, before_commit, after_commit, before_blob, \
                       after_blob, location, in_reply_to, content, author_arn, deleted, client_request_token, \
                       created_ms, modified_ms";

fn row_to_comment(r: &AnyRow) -> CommentRow {
    CommentRow {
        id: r.get(0),
        repository_id: r.get(1),
        pull_request_id: r.get(2),
        before_commit: r.get(3),
        after_commit: r.get(4),
        before_blob: r.get(5),
        after_blob: r.get(6),
        location: r.get(7),
        in_reply_to: r.get(8),
        content: r.get(9),
        author_arn: r.get(10),
        deleted: r.get::<i64, _>(11) != 0,
        client_request_token: r.get(12),
        created_ms: r.get(13),
        modified_ms: r.get(14),
    }
}

impl Store {
    /// Inserts a comment; `Conflict` when its client request token was used before.
    pub async fn insert_comment(&self, c: &CommentRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO cc_comments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(&c.id)
        .bind(&c.repository_id)
        .bind(c.pull_request_id)
        .bind(&c.before_commit)
        .bind(&c.after_commit)
        .bind(&c.before_blob)
        .bind(&c.after_blob)
        .bind(&c.location)
        .bind(&c.in_reply_to)
        .bind(&c.content)
        .bind(&c.author_arn)
        .bind(i64::from(c.deleted))
        .bind(&c.client_request_token)
        .bind(c.created_ms)
        .bind(c.modified_ms)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| StoreError::from_insert(e, "comment"))?;
        Ok(())
    }

    /// A comment by id.
    pub async fn comment(&self, id: &str) -> Result<Option<CommentRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cc_comments WHERE comment_id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(row_to_comment))
    }

    /// The comment posted with a client request token.
    pub async fn comment_by_token(&self, token: &str) -> Result<Option<CommentRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cc_comments WHERE client_request_token = $1"
        ))
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(row_to_comment))
    }

    /// The comments of a pull request (oldest first).
    pub async fn comments_for_pull_request(
        &self,
        pull_request_id: i64,
    ) -> Result<Vec<CommentRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cc_comments WHERE pull_request_id = $1 ORDER BY created_ms, comment_id"
        ))
        .bind(pull_request_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(row_to_comment).collect())
    }

    /// The comments on compared commits (`before` empty for a single commit), oldest first.
    pub async fn comments_for_compared_commit(
        &self,
        repository_id: &str,
        before: &str,
        after: &str,
    ) -> Result<Vec<CommentRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cc_comments WHERE repository_id = $1 AND before_commit = $2 AND after_commit = $3 \
             AND pull_request_id IS NULL ORDER BY created_ms, comment_id"
        ))
        .bind(repository_id)
        .bind(before)
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(row_to_comment).collect())
    }

    /// Changes a comment's content (and whether it is deleted).
    pub async fn set_comment_content(
        &self,
        id: &str,
        content: &str,
        deleted: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE cc_comments SET content = $1, deleted = $2, modified_ms = $3 WHERE comment_id = $4")
            .bind(content)
            .bind(i64::from(deleted))
            .bind(now_ms)
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }
}

impl Store {
    /// Sets (or with `None` removes) a user's reaction to a comment.
    pub async fn set_reaction(
        &self,
        comment_id: &str,
        user_arn: &str,
        reaction: Option<&str>,
    ) -> Result<(), StoreError> {
        match reaction {
            Some(r) => {
                sqlx::query(
                    "INSERT INTO cc_comment_reactions (comment_id, user_arn, reaction) VALUES ($1, $2, $3) \
                     ON CONFLICT (comment_id, user_arn) DO UPDATE SET reaction = excluded.reaction",
                )
                .bind(comment_id)
                .bind(user_arn)
                .bind(r)
                .execute(&mut *self.writer().await?)
                .await?;
            }
            None => {
                sqlx::query(
                    "DELETE FROM cc_comment_reactions WHERE comment_id = $1 AND user_arn = $2",
                )
                .bind(comment_id)
                .bind(user_arn)
                .execute(&mut *self.writer().await?)
                .await?;
            }
        }
        Ok(())
    }

    /// `(user ARN, reaction short code)` of every reaction to a comment.
    pub async fn reactions(&self, comment_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT user_arn, reaction FROM cc_comment_reactions WHERE comment_id = $1 ORDER BY user_arn")
            .bind(comment_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
