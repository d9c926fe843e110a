//! CloudWatch Logs storage: log groups, their streams and the events in them. Events of a group
//! are numbered by a per-group sequence so that `(timestamp, seq)` orders them totally; reads
//! page by that pair.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A log group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroupRow {
    pub name: String,
    pub created_ms: i64,
    pub retention_days: Option<i64>,
    pub kms_key_id: Option<String>,
    pub class: String,
    pub stored_bytes: i64,
}

/// A log stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStreamRow {
    pub name: String,
    pub created_ms: i64,
    pub first_event_ms: Option<i64>,
    pub last_event_ms: Option<i64>,
    pub last_ingestion_ms: Option<i64>,
    pub stored_bytes: i64,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEventRow {
    pub seq: i64,
    pub stream_name: String,
    pub ts_ms: i64,
    pub ingest_ms: i64,
    pub message: String,
}

/// An event to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogEvent {
    pub ts_ms: i64,
    pub message: String,
}

/// Which streams an event read covers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StreamSelector {
    #[default]
    All,
    Names(Vec<String>),
    Prefix(String),
}

/// An event read: the events of `group` in the selected streams with `start_ms <= ts < end_ms`,
/// strictly after (ascending) or before (descending) the `cursor` position `(ts, seq)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventQuery {
    pub group: String,
    pub streams: StreamSelector,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub cursor: Option<(i64, i64)>,
    pub descending: bool,
    pub limit: usize,
}

const GROUP_COLUMNS: &str = "g.name, g.created_ms, g.retention_days, g.kms_key_id, g.log_group_class, \
     (SELECT CAST(COALESCE(SUM(s.stored_bytes), 0) AS BIGINT) FROM log_streams s WHERE s.group_name = g.name)";

fn group_row(r: &AnyRow) -> LogGroupRow {
    LogGroupRow {
        name: r.get(0),
        created_ms: r.get(1),
        retention_days: r.get(2),
        kms_key_id: r.get(3),
        class: r.get(4),
        stored_bytes: r.get(5),
    }
}

const STREAM_COLUMNS: &str =
    "name, created_ms, first_event_ms, last_event_ms, last_ingestion_ms, stored_bytes";

fn stream_row(r: &AnyRow) -> LogStreamRow {
    LogStreamRow {
        name: r.get(0),
        created_ms: r.get(1),
        first_event_ms: r.get(2),
        last_event_ms: r.get(3),
        last_ingestion_ms: r.get(4),
        stored_bytes: r.get(5),
    }
}

/// The resource id the tags of a log group are kept under.
pub fn log_group_tag_id(name: &str) -> String {
    format!("logs:log-group:{name}")
}

impl Store {
    /// Creates a log group with its tags; `Conflict` when the name is taken.
    pub async fn create_log_group(
        &self,
        group: &LogGroupRow,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO log_groups (name, created_ms, retention_days, kms_key_id, log_group_class, next_seq) \
             VALUES ($1, $2, $3, $4, $5, 1)",
        )
        .bind(&group.name)
        .bind(group.created_ms)
        .bind(group.retention_days)
        .bind(&group.kms_key_id)
        .bind(&group.class)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_insert(e, &group.name))?;
        let tag_id = log_group_tag_id(&group.name);
        sqlx::query("DELETE FROM resource_tags WHERE resource_id = $1")
            .bind(&tag_id)
            .execute(&mut *tx)
            .await?;
        for (k, v) in tags {
            sqlx::query(
                "INSERT INTO resource_tags (resource_id, tag_key, tag_value) VALUES ($1, $2, $3)",
            )
            .bind(&tag_id)
            .bind(k)
            .bind(v)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One log group.
    pub async fn log_group(&self, name: &str) -> Result<Option<LogGroupRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {GROUP_COLUMNS} FROM log_groups g WHERE g.name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(group_row))
    }

    /// Up to `limit` log groups by name, after `after`, whose names start with `prefix`.
    pub async fn log_groups(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LogGroupRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {GROUP_COLUMNS} FROM log_groups g \
             WHERE substr(g.name, 1, length($1)) = $1 AND ($2 IS NULL OR g.name > $2) \
             ORDER BY g.name LIMIT $3"
        ))
        .bind(prefix)
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(group_row).collect())
    }

    /// Deletes a log group with its streams, events and tags; false when absent.
    pub async fn delete_log_group(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM log_groups WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for sql in [
            "DELETE FROM log_events WHERE group_name = $1",
            "DELETE FROM log_streams WHERE group_name = $1",
        ] {
            sqlx::query(sql).bind(name).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM resource_tags WHERE resource_id = $1")
            .bind(log_group_tag_id(name))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done > 0)
    }

    /// Sets or clears a group's retention; false when the group is absent.
    pub async fn set_log_retention(
        &self,
        name: &str,
        days: Option<i64>,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE log_groups SET retention_days = $1 WHERE name = $2")
            .bind(days)
            .bind(name)
            .execute(&mut *self.writer().await?)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// Creates a stream in an existing group; `Conflict` when the name is taken.
    pub async fn create_log_stream(
        &self,
        group: &str,
        name: &str,
        created_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO log_streams (group_name, name, created_ms, stored_bytes) VALUES ($1, $2, $3, 0)",
        )
        .bind(group)
        .bind(name)
        .bind(created_ms)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| StoreError::from_insert(e, name))?;
        Ok(())
    }

    /// One stream of a group.
    pub async fn log_stream(
        &self,
        group: &str,
        name: &str,
    ) -> Result<Option<LogStreamRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {STREAM_COLUMNS} FROM log_streams WHERE group_name = $1 AND name = $2"
        ))
        .bind(group)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(stream_row))
    }

    /// Every stream of a group whose name starts with `prefix`, by name.
    pub async fn log_streams(
        &self,
        group: &str,
        prefix: &str,
    ) -> Result<Vec<LogStreamRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {STREAM_COLUMNS} FROM log_streams \
             WHERE group_name = $1 AND substr(name, 1, length($2)) = $2 ORDER BY name"
        ))
        .bind(group)
        .bind(prefix)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(stream_row).collect())
    }

    /// Deletes a stream and its events; false when absent.
    pub async fn delete_log_stream(&self, group: &str, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM log_streams WHERE group_name = $1 AND name = $2")
            .bind(group)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM log_events WHERE group_name = $1 AND stream_name = $2")
            .bind(group)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Appends events (in the caller's order) to a stream and updates the stream's times and
    /// size; `NotFound` when the group or the stream is absent.
    pub async fn put_log_events(
        &self,
        group: &str,
        stream: &str,
        events: &[NewLogEvent],
        ingest_ms: i64,
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        if !append_batches(
            self.backend(),
            &mut tx,
            &[(group, stream, events)],
            ingest_ms,
        )
        .await?
        .is_empty()
        {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Appends events to several streams in one transaction (a group commit of many writers'
    /// lines): each batch is `(group, stream, events)`. The streams in `open` are made first
    /// where they do not exist. A batch whose stream is gone is left out, and its index is in
    /// the answer; the others are stored.
    pub async fn put_log_batches(
        &self,
        open: &[OpenStream<'_>],
        batches: &[(&str, &str, &[NewLogEvent])],
        ingest_ms: i64,
    ) -> Result<Vec<usize>, StoreError> {
        if open.is_empty() && batches.iter().all(|b| b.2.is_empty()) {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_background_write().await?;
        // Each group once, then every stream in statements of many rows.
        let mut groups: Vec<(&str, i64)> = Vec::new();
        for o in open {
            if !groups.iter().any(|(g, _)| *g == o.group) {
                groups.push((o.group, o.created_ms));
            }
        }
        groups.sort_unstable();
        for (group, created_ms) in groups {
            sqlx::query(
                "INSERT INTO log_groups (name, created_ms, retention_days, kms_key_id, log_group_class, next_seq) \
                 VALUES ($1, $2, NULL, NULL, 'STANDARD', 1) ON CONFLICT DO NOTHING",
            )
            .bind(group)
            .bind(created_ms)
            .execute(&mut *tx)
            .await?;
        }
        for chunk in open.chunks(crate::rows::PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO log_streams (group_name, name, created_ms, stored_bytes) VALUES {} \
                 ON CONFLICT DO NOTHING",
                crate::rows::values(self.backend(), chunk.len(), &["", "", "", "0"])
            );
            let mut q = sqlx::query(&sql);
            for o in chunk {
                q = q.bind(o.group).bind(o.stream).bind(o.created_ms);
            }
            q.execute(&mut *tx).await?;
        }
        let missing = append_batches(self.backend(), &mut tx, batches, ingest_ms).await?;
        tx.commit().await?;
        Ok(missing)
    }

    /// Reads events (see [`EventQuery`]), ordered by `(ts, seq)` in the query's direction.
    pub async fn log_events(&self, q: &EventQuery) -> Result<Vec<LogEventRow>, StoreError> {
        let mut sql = String::from(
            "SELECT seq, stream_name, ts_ms, ingest_ms, message FROM log_events WHERE group_name = $1",
        );
        let mut texts: Vec<&str> = vec![&q.group];
        let mut nums: Vec<i64> = Vec::new();
        let mut n = 1;
        let mut ph = || {
            n += 1;
            format!("${n}")
        };
        match &q.streams {
            StreamSelector::All => {}
            StreamSelector::Names(names) => {
                if names.is_empty() {
                    return Ok(Vec::new());
                }
                let list: Vec<String> = names.iter().map(|_| ph()).collect();
                sql.push_str(&format!(" AND stream_name IN ({})", list.join(", ")));
                texts.extend(names.iter().map(String::as_str));
            }
            StreamSelector::Prefix(p) => {
                let (a, b) = (ph(), ph());
                sql.push_str(&format!(" AND substr(stream_name, 1, length({a})) = {b}"));
                texts.push(p);
                texts.push(p);
            }
        }
        // The numeric bounds follow the text parameters.
        if let Some(s) = q.start_ms {
            sql.push_str(&format!(" AND ts_ms >= {}", ph()));
            nums.push(s);
        }
        if let Some(e) = q.end_ms {
            sql.push_str(&format!(" AND ts_ms < {}", ph()));
            nums.push(e);
        }
        if let Some((ts, seq)) = q.cursor {
            let op = if q.descending { "<" } else { ">" };
            let (a, b, c) = (ph(), ph(), ph());
            sql.push_str(&format!(
                " AND (ts_ms {op} {a} OR (ts_ms = {b} AND seq {op} {c}))"
            ));
            nums.extend([ts, ts, seq]);
        }
        let dir = if q.descending { "DESC" } else { "ASC" };
        sql.push_str(&format!(" ORDER BY ts_ms {dir}, seq {dir} LIMIT {}", ph()));
        nums.push(q.limit as i64);
        let mut query = sqlx::query(&sql);
        for t in texts {
            query = query.bind(t);
        }
        for v in nums {
            query = query.bind(v);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| LogEventRow {
                seq: r.get(0),
                stream_name: r.get(1),
                ts_ms: r.get(2),
                ingest_ms: r.get(3),
                message: r.get(4),
            })
            .collect())
    }

    /// Deletes the events of a group older than `before_ms` (retention); returns how many.
    pub async fn prune_log_events(&self, group: &str, before_ms: i64) -> Result<u64, StoreError> {
        let n = sqlx::query("DELETE FROM log_events WHERE group_name = $1 AND ts_ms < $2")
            .bind(group)
            .bind(before_ms)
            .execute(&mut *self.writer().await?)
            .await?
            .rows_affected();
        Ok(n)
    }
}

/// A stream [`Store::put_log_batches`] makes first if it does not exist, with its group (a
/// standard class group without retention, as `CreateLogGroup` with no options makes).
#[derive(Debug, Clone, Copy)]
pub struct OpenStream<'a> {
    pub group: &'a str,
    pub stream: &'a str,
    pub created_ms: i64,
}

/// Appends events to streams inside a write transaction (each batch is `(group, stream,
/// events)`): moves each stream's first/last times and size, numbers the events in their
/// group, and inserts them. Answers the indexes of the batches whose stream or group is gone;
/// none of their events is written (a batch whose group went while its stream stayed has
/// moved that stream's figures: a group is deleted with its streams, so this does not last).
async fn append_batches(
    backend: crate::Backend,
    tx: &mut crate::WriteTx,
    batches: &[(&str, &str, &[NewLogEvent])],
    ingest_ms: i64,
) -> Result<Vec<usize>, StoreError> {
    let mut missing = Vec::new();
    // The batches whose stream was there, by group: (group, their indexes, how many events).
    let mut groups: Vec<(&str, Vec<usize>, i64)> = Vec::new();
    for (k, (group, stream, events)) in batches.iter().enumerate() {
        if events.is_empty() {
            continue;
        }
        let bytes: i64 = events.iter().map(|e| e.message.len() as i64).sum();
        let min_ts = events.iter().map(|e| e.ts_ms).min().unwrap_or(0);
        let max_ts = events.iter().map(|e| e.ts_ms).max().unwrap_or(0);
        let updated = sqlx::query(
            "UPDATE log_streams SET \
               first_event_ms = CASE WHEN first_event_ms IS NULL OR first_event_ms > $1 THEN $1 ELSE first_event_ms END, \
               last_event_ms = CASE WHEN last_event_ms IS NULL OR last_event_ms < $2 THEN $2 ELSE last_event_ms END, \
               last_ingestion_ms = $3, stored_bytes = stored_bytes + $4 \
             WHERE group_name = $5 AND name = $6",
        )
        .bind(min_ts)
        .bind(max_ts)
        .bind(ingest_ms)
        .bind(bytes)
        .bind(*group)
        .bind(*stream)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if updated == 0 {
            missing.push(k);
            continue;
        }
        match groups.iter_mut().find(|(g, _, _)| g == group) {
            Some((_, ks, n)) => {
                ks.push(k);
                *n += events.len() as i64;
            }
            None => groups.push((group, vec![k], events.len() as i64)),
        }
    }
    // Each group's numbers taken at once (its rows locked in name order, so that two nodes
    // writing to the same groups cannot each hold one the other waits for); then every event
    // in statements of many rows.
    groups.sort_by(|a, b| a.0.cmp(b.0));
    let mut rows: Vec<(&str, i64, &str, &NewLogEvent)> = Vec::new();
    for (group, ks, n) in groups {
        let next: Option<i64> = sqlx::query(
            "UPDATE log_groups SET next_seq = next_seq + $1 WHERE name = $2 RETURNING next_seq",
        )
        .bind(n)
        .bind(group)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.get(0));
        let Some(next) = next else {
            missing.extend(ks);
            continue;
        };
        let mut seq = next - n;
        for k in ks {
            let (_, stream, events) = batches[k];
            for e in events {
                rows.push((group, seq, stream, e));
                seq += 1;
            }
        }
    }
    for chunk in rows.chunks(crate::rows::PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO log_events (group_name, seq, stream_name, ts_ms, ingest_ms, message) VALUES {}",
            crate::rows::values(backend, chunk.len(), &["", "", "", "", "", ""])
        );
        let mut q = sqlx::query(&sql);
        for (group, seq, stream, e) in chunk {
            q = q
                .bind(*group)
                .bind(*seq)
                .bind(*stream)
                .bind(e.ts_ms)
                .bind(ingest_ms)
                .bind(&e.message);
        }
        q.execute(&mut **tx).await?;
    }
    missing.sort_unstable();
    Ok(missing)
}
