//! CodeCommit pull requests: the request rows (ids are sequential per installation, as AWS's are
//! per account and region), their event history, and approvals per revision.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// One pull request (one target: CodeCommit supports a single repository per request).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PullRow {
    pub id: i64,
    pub repository_id: String,
    pub title: String,
    pub description: Option<String>,
    /// `OPEN` or `CLOSED`.
    pub status: String,
    pub author_arn: String,
    /// Full ref names (`refs/heads/...`).
    pub source_ref: String,
    pub destination_ref: String,
    /// Tips when last recorded (at creation, on each source update, at merge or close).
    pub source_commit: String,
    pub destination_commit: String,
    pub merge_base: Option<String>,
    pub is_merged: bool,
    pub merged_by: Option<String>,
    pub merge_commit: Option<String>,
    pub merge_option: Option<String>,
    pub revision_id: String,
    pub client_request_token: Option<String>,
    pub created_ms: i64,
    pub last_activity_ms: i64,
}

/// One recorded event of a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullEvent {
    pub pull_request_id: i64,
    pub seq: i64,
    pub event_type: String,
    pub actor_arn: String,
    pub event_ms: i64,
    /// The event type's metadata as JSON.
    pub metadata: String,
}

const COLUMNS: &str = "pull_request_id, repository_id, title, description, status, author_arn, source_ref, \
                       destination_ref, source_commit, destination_commit, merge_base, is_merged, merged_by, \
                       merge_commit, merge_option, revision_id, client_request_token, created_ms, last_activity_ms";

fn row_to_pull(r: &AnyRow) -> PullRow {
    PullRow {
        id: r.get(0),
        repository_id: r.get(1),
        title: r.get(2),
        description: r.get(3),
        status: r.get(4),
        author_arn: r.get(5),
        source_ref: r.get(6),
        destination_ref: r.get(7),
        source_commit: r.get(8),
        destination_commit: r.get(9),
        merge_base: r.get(10),
        is_merged: r.get::<i64, _>(11) != 0,
        merged_by: r.get(12),
        merge_commit: r.get(13),
        merge_option: r.get(14),
        revision_id: r.get(15),
        client_request_token: r.get(16),
        created_ms: r.get(17),
        last_activity_ms: r.get(18),
    }
}

impl Store {
    /// Inserts a pull request with the next id and its first event; returns the id. A
    /// `client_request_token` already used answers `Conflict`.
    pub async fn insert_pull_request(
        &self,
        p: &PullRow,
        event: (&str, &str),
    ) -> Result<i64, StoreError> {
        for _ in 0..5 {
            let mut tx = self.begin_write().await?;
            let next: i64 =
                sqlx::query("SELECT COALESCE(MAX(pull_request_id), 0) + 1 FROM cc_pull_requests")
                    .fetch_one(&mut *tx)
                    .await?
                    .get(0);
            let res = sqlx::query(&format!(
                "INSERT INTO cc_pull_requests ({COLUMNS}) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
            ))
            .bind(next)
            .bind(&p.repository_id)
            .bind(&p.title)
            .bind(&p.description)
            .bind(&p.status)
            .bind(&p.author_arn)
            .bind(&p.source_ref)
            .bind(&p.destination_ref)
            .bind(&p.source_commit)
            .bind(&p.destination_commit)
            .bind(&p.merge_base)
            .bind(i64::from(p.is_merged))
            .bind(&p.merged_by)
            .bind(&p.merge_commit)
            .bind(&p.merge_option)
            .bind(&p.revision_id)
            .bind(&p.client_request_token)
            .bind(p.created_ms)
            .bind(p.last_activity_ms)
            .execute(&mut *tx)
            .await;
            match res {
                Ok(_) => {
                    insert_event(&mut tx, next, event.0, &p.author_arn, p.created_ms, event.1)
                        .await?;
                    tx.commit().await?;
                    return Ok(next);
                }
                Err(e) => {
                    let _ = tx.rollback().await;
                    let token_taken = match &p.client_request_token {
                        Some(t) => self.pull_request_by_token(t).await?.is_some(),
                        None => false,
                    };
                    match StoreError::from_insert(e, "pull request") {
                        StoreError::Conflict(_) if token_taken => {
                            return Err(StoreError::Conflict("client request token".into()));
                        }
                        StoreError::Conflict(_) => continue,
                        other => return Err(other),
                    }
                }
            }
        }
        Err(StoreError::Conflict("pull request id".into()))
    }

    /// A pull request by id.
    pub async fn pull_request(&self, id: i64) -> Result<Option<PullRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cc_pull_requests WHERE pull_request_id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(row_to_pull))
    }

    /// The pull request created with a client request token.
    pub async fn pull_request_by_token(&self, token: &str) -> Result<Option<PullRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cc_pull_requests WHERE client_request_token = $1"
        ))
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(row_to_pull))
    }

    /// Ids of a repository's pull requests, newest first, below `before` (a page's last id).
    pub async fn list_pull_requests(
        &self,
        repository_id: &str,
        author_arn: Option<&str>,
        status: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT pull_request_id FROM cc_pull_requests WHERE repository_id = $1 \
             AND ($2 = '' OR author_arn = $2) AND ($3 = '' OR status = $3) AND pull_request_id < $4 \
             ORDER BY pull_request_id DESC LIMIT $5",
        )
        .bind(repository_id)
        .bind(author_arn.unwrap_or(""))
        .bind(status.unwrap_or(""))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Open pull requests of a repository whose source is `source_ref`.
    pub async fn open_pull_requests_from(
        &self,
        repository_id: &str,
        source_ref: &str,
    ) -> Result<Vec<PullRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cc_pull_requests WHERE repository_id = $1 AND source_ref = $2 AND status = 'OPEN'"
        ))
        .bind(repository_id)
        .bind(source_ref)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(row_to_pull).collect())
    }

    /// Writes a changed pull request and, in the same transaction, the event that changed it
    /// (`(type, actor, metadata)`), if any.
    pub async fn update_pull_request(
        &self,
        p: &PullRow,
        event: Option<(&str, &str, &str)>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE cc_pull_requests SET title = $1, description = $2, status = $3, source_commit = $4, \
             destination_commit = $5, merge_base = $6, is_merged = $7, merged_by = $8, merge_commit = $9, \
             merge_option = $10, revision_id = $11, last_activity_ms = $12 WHERE pull_request_id = $13",
        )
        .bind(&p.title)
        .bind(&p.description)
        .bind(&p.status)
        .bind(&p.source_commit)
        .bind(&p.destination_commit)
        .bind(&p.merge_base)
        .bind(i64::from(p.is_merged))
        .bind(&p.merged_by)
        .bind(&p.merge_commit)
        .bind(&p.merge_option)
        .bind(&p.revision_id)
        .bind(p.last_activity_ms)
        .bind(p.id)
        .execute(&mut *tx)
        .await?;
        if let Some((kind, actor, metadata)) = event {
            insert_event(&mut tx, p.id, kind, actor, p.last_activity_ms, metadata).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every event of a pull request, oldest first.
    pub async fn pull_request_events(&self, id: i64) -> Result<Vec<PullEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT pull_request_id, seq, event_type, actor_arn, event_ms, metadata FROM cc_pull_request_events \
             WHERE pull_request_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| PullEvent {
                pull_request_id: r.get(0),
                seq: r.get(1),
                event_type: r.get(2),
                actor_arn: r.get(3),
                event_ms: r.get(4),
                metadata: r.get(5),
            })
            .collect())
    }

    /// Records one user's approval state for a revision, with its event.
    pub async fn set_approval(
        &self,
        id: i64,
        revision_id: &str,
        user_arn: &str,
        state: &str,
        now_ms: i64,
        metadata: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO cc_pull_request_approvals (pull_request_id, revision_id, user_arn, approval_state) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (pull_request_id, revision_id, user_arn) \
             DO UPDATE SET approval_state = excluded.approval_state",
        )
        .bind(id)
        .bind(revision_id)
        .bind(user_arn)
        .bind(state)
        .execute(&mut *tx)
        .await?;
        insert_event(
            &mut tx,
            id,
            "PULL_REQUEST_APPROVAL_STATE_CHANGED",
            user_arn,
            now_ms,
            metadata,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `(user ARN, state)` for every approval recorded on a revision.
    pub async fn approvals(
        &self,
        id: i64,
        revision_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_arn, approval_state FROM cc_pull_request_approvals \
             WHERE pull_request_id = $1 AND revision_id = $2 ORDER BY user_arn",
        )
        .bind(id)
        .bind(revision_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

pub(crate) async fn insert_event(
    tx: &mut crate::WriteTx,
    id: i64,
    event_type: &str,
    actor: &str,
    ms: i64,
    metadata: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cc_pull_request_events (pull_request_id, seq, event_type, actor_arn, event_ms, metadata) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5 FROM cc_pull_request_events WHERE pull_request_id = $1",
    )
    .bind(id)
    .bind(event_type)
    .bind(actor)
    .bind(ms)
    .bind(metadata)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
