//! S3 metadata: buckets, object versions and multipart uploads. Object bytes are in the blob
//! store under opaque keys; these functions only ever make a version visible after its bytes
//! are complete, and hand back the blob keys that a change orphaned so the caller can remove
//! them once the transaction has committed.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Backend, Store, StoreError};

/// The version id of objects written while versioning was never enabled (or is suspended).
pub const NULL_VERSION: &str = "null";

/// A bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub name: String,
    pub region: String,
    pub owner_arn: String,
    /// `""` (never enabled), `"Enabled"` or `"Suspended"`.
    pub versioning: String,
    pub created_ms: i64,
}

/// One version of an object (or a delete marker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    pub bucket: String,
    pub key: String,
    pub version_id: String,
    pub seq: i64,
    pub is_latest: bool,
    pub is_delete_marker: bool,
    /// `None` for delete markers.
    pub blob_key: Option<String>,
    pub size: i64,
    /// Without quotes.
    pub etag: String,
    /// Stored response headers (content type, user metadata, checksums) as a JSON object.
    pub headers: String,
    pub modified_ms: i64,
}

/// What to write as a new object version.
#[derive(Debug, Clone)]
pub struct NewObject {
    pub bucket: String,
    pub key: String,
    pub blob_key: Option<String>,
    pub size: i64,
    pub etag: String,
    pub headers: String,
    pub modified_ms: i64,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub upload_id: String,
    pub bucket: String,
    pub key: String,
    pub headers: String,
    pub initiator_arn: String,
    pub initiated_ms: i64,
}

/// One uploaded part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub part_number: i64,
    pub blob_key: String,
    pub size: i64,
    pub etag: String,
    pub headers: String,
    pub modified_ms: i64,
}

/// Where a listing of latest objects resumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// From the first key.
    Start,
    /// Keys strictly greater than this one.
    Key(String),
    /// Keys greater than or equal to this one.
    From(String),
}

/// Where a listing of versions resumes: after `(key, seq)` in (key ascending, newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionsAfter {
    Start,
    /// Every version of keys up to and including this one is behind.
    Key(String),
    /// Keys greater than or equal to this one.
    From(String),
    /// Older versions of `key` than `seq`, then later keys.
    Version(String, i64),
}

/// A condition on a key's current object for a write to go ahead (S3's conditional writes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WriteCondition {
    /// Write whatever is there.
    #[default]
    Any,
    /// Only when the key has no current object (`If-None-Match: *`); a delete marker counts
    /// as none.
    Absent,
    /// Only when the current object has this ETag (`If-Match`), without quotes.
    ETag(String),
}

/// Why a conditional write did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteRefused {
    /// `Absent` was asked and the key has an object.
    Exists,
    /// `ETag` was asked and the key has no object.
    Missing,
    /// `ETag` was asked and the object's differs.
    Mismatch,
}

/// What a write or delete did to earlier versions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// The version id of what was written (a new object or delete marker).
    pub version_id: String,
    /// Blob keys no longer referenced; remove them after the call returns.
    pub orphaned: Vec<String>,
}

/// What a delete removed or added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    /// The version removed or the delete marker added.
    pub version_id: Option<String>,
    /// Whether that version is (was) a delete marker.
    pub delete_marker: bool,
    pub orphaned: Vec<String>,
}

const OBJECT_COLUMNS: &str = "bucket_name, object_key, version_id, seq, is_latest, is_delete_marker, blob_key, size, etag, headers, modified_ms";

fn object_of(r: &AnyRow) -> ObjectVersion {
    ObjectVersion {
        bucket: r.get(0),
        key: r.get(1),
        version_id: r.get(2),
        seq: r.get(3),
        is_latest: r.get::<i64, _>(4) != 0,
        is_delete_marker: r.get::<i64, _>(5) != 0,
        blob_key: r.get(6),
        size: r.get(7),
        etag: r.get(8),
        headers: r.get(9),
        modified_ms: r.get(10),
    }
}

fn bucket_of(r: &AnyRow) -> Bucket {
    Bucket {
        name: r.get(0),
        region: r.get(1),
        owner_arn: r.get(2),
        versioning: r.get(3),
        created_ms: r.get(4),
    }
}

/// A lock id for one key of one bucket (PostgreSQL advisory locks take a 64-bit integer).
fn lock_id(bucket: &str, key: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::new()
        .chain_update(bucket.as_bytes())
        .chain_update([0u8])
        .chain_update(key.as_bytes())
        .finalize();
    i64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

impl Store {
    /// Creates a bucket; `Conflict` when the name is taken.
    pub async fn create_bucket(&self, b: &Bucket) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO s3_buckets (bucket_name, region, owner_arn, versioning, created_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(&b.name)
            .bind(&b.region)
            .bind(&b.owner_arn)
            .bind(&b.versioning)
            .bind(b.created_ms)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(|e| StoreError::from_insert(e, &b.name))?;
        Ok(())
    }

    /// A bucket by name.
    pub async fn bucket(&self, name: &str) -> Result<Option<Bucket>, StoreError> {
        let row = sqlx::query("SELECT bucket_name, region, owner_arn, versioning, created_ms FROM s3_buckets WHERE bucket_name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(bucket_of))
    }

    /// Every bucket, by name.
    pub async fn buckets(&self) -> Result<Vec<Bucket>, StoreError> {
        let rows = sqlx::query("SELECT bucket_name, region, owner_arn, versioning, created_ms FROM s3_buckets ORDER BY bucket_name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(bucket_of).collect())
    }

    /// Deletes an empty bucket: `NotFound`, or `Conflict` while it holds any object version or
    /// multipart upload.
    pub async fn delete_bucket(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let busy: i64 = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM s3_objects WHERE bucket_name = $1 LIMIT 1) o) \
             + (SELECT COUNT(*) FROM (SELECT 1 FROM s3_uploads WHERE bucket_name = $1 LIMIT 1) u)",
        )
        .bind(name)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        if busy > 0 {
            return Err(StoreError::Conflict(name.to_owned()));
        }
        let done = sqlx::query("DELETE FROM s3_buckets WHERE bucket_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets a bucket's versioning status.
    pub async fn set_bucket_versioning(&self, name: &str, status: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE s3_buckets SET versioning = $1 WHERE bucket_name = $2")
            .bind(status)
            .bind(name)
            .execute(&mut *self.writer().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Serialises writers of one key (PostgreSQL; SQLite writers are serialised already).
    async fn lock_key(
        &self,
        tx: &mut crate::WriteTx,
        bucket: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock_id(bucket, key))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Writes a new version of an object (or a delete marker when `blob_key` is `None`)
    /// according to the bucket's versioning, making it the latest.
    pub async fn put_object_version(&self, o: &NewObject) -> Result<Written, StoreError> {
        let mut tx = self.begin_write().await?;
        let w = self.put_version_tx(&mut tx, o).await?;
        tx.commit().await?;
        Ok(w)
    }

    /// [`Store::put_object_version`] when `cond` holds for the key's current object, checked
    /// under the key's write lock; otherwise nothing is written.
    pub async fn put_object_version_if(
        &self,
        o: &NewObject,
        cond: &WriteCondition,
    ) -> Result<Result<Written, WriteRefused>, StoreError> {
        let mut tx = self.begin_write().await?;
        self.lock_key(&mut tx, &o.bucket, &o.key).await?;
        if let Err(refused) = self
            .check_condition(&mut tx, &o.bucket, &o.key, cond)
            .await?
        {
            return Ok(Err(refused));
        }
        let w = self.put_version_tx(&mut tx, o).await?;
        tx.commit().await?;
        Ok(Ok(w))
    }

    /// Whether `cond` holds for the current object of `bucket`/`key` inside `tx`.
    async fn check_condition(
        &self,
        tx: &mut crate::WriteTx,
        bucket: &str,
        key: &str,
        cond: &WriteCondition,
    ) -> Result<Result<(), WriteRefused>, StoreError> {
        if *cond == WriteCondition::Any {
            return Ok(Ok(()));
        }
        let current: Option<String> = sqlx::query(
            "SELECT etag FROM s3_objects WHERE bucket_name = $1 AND object_key = $2 AND is_latest = 1 AND is_delete_marker = 0",
        )
        .bind(bucket)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.get(0));
        Ok(match (cond, current) {
            (WriteCondition::Absent, Some(_)) => Err(WriteRefused::Exists),
            (WriteCondition::ETag(_), None) => Err(WriteRefused::Missing),
            (WriteCondition::ETag(want), Some(have)) if *want != have => {
                Err(WriteRefused::Mismatch)
            }
            _ => Ok(()),
        })
    }

    async fn put_version_tx(
        &self,
        tx: &mut crate::WriteTx,
        o: &NewObject,
    ) -> Result<Written, StoreError> {
        self.lock_key(tx, &o.bucket, &o.key).await?;
        let versioning: String =
            sqlx::query("SELECT versioning FROM s3_buckets WHERE bucket_name = $1")
                .bind(&o.bucket)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(StoreError::NotFound)?
                .get(0);
        let mut orphaned = Vec::new();
        let version_id = if versioning == "Enabled" {
            ferry_types::ids::random_alnum(32)
        } else {
            // The one 'null' version is replaced wherever it sits in the history.
            let old = sqlx::query("DELETE FROM s3_objects WHERE bucket_name = $1 AND object_key = $2 AND version_id = $3 RETURNING blob_key")
                .bind(&o.bucket)
                .bind(&o.key)
                .bind(NULL_VERSION)
                .fetch_optional(&mut **tx)
                .await?;
            if let Some(Some(b)) = old.map(|r| r.get::<Option<String>, _>(0)) {
                orphaned.push(b);
            }
            NULL_VERSION.to_owned()
        };
        sqlx::query("UPDATE s3_objects SET is_latest = 0 WHERE bucket_name = $1 AND object_key = $2 AND is_latest = 1")
            .bind(&o.bucket)
            .bind(&o.key)
            .execute(&mut **tx)
            .await?;
        let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM s3_objects WHERE bucket_name = $1 AND object_key = $2")
            .bind(&o.bucket)
            .bind(&o.key)
            .fetch_one(&mut **tx)
            .await?
            .get(0);
        sqlx::query(
            "INSERT INTO s3_objects (bucket_name, object_key, version_id, seq, is_latest, is_delete_marker, blob_key, size, etag, headers, modified_ms) \
             VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&o.bucket)
        .bind(&o.key)
        .bind(&version_id)
        .bind(seq)
        .bind(i64::from(o.blob_key.is_none()))
        .bind(&o.blob_key)
        .bind(o.size)
        .bind(&o.etag)
        .bind(&o.headers)
        .bind(o.modified_ms)
        .execute(&mut **tx)
        .await?;
        Ok(Written {
            version_id,
            orphaned,
        })
    }

    /// The latest version of a key (possibly a delete marker), or the given version.
    pub async fn object_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Option<ObjectVersion>, StoreError> {
        let row = match version_id {
            None => sqlx::query(&format!("SELECT {OBJECT_COLUMNS} FROM s3_objects WHERE bucket_name = $1 AND object_key = $2 AND is_latest = 1"))
                .bind(bucket)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
            Some(v) => sqlx::query(&format!("SELECT {OBJECT_COLUMNS} FROM s3_objects WHERE bucket_name = $1 AND object_key = $2 AND version_id = $3"))
                .bind(bucket)
                .bind(key)
                .bind(v)
                .fetch_optional(&self.pool)
                .await?,
        };
        Ok(row.as_ref().map(object_of))
    }

    /// Deletes as S3's DeleteObject does: with a version id that version is removed for good
    /// (the next newest becomes latest); without one, an unversioned bucket loses its 'null'
    /// version, a versioned one gains a delete marker. `NotFound` when the bucket is missing.
    pub async fn delete_object_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        now_ms: i64,
    ) -> Result<Deleted, StoreError> {
        let mut tx = self.begin_write().await?;
        self.lock_key(&mut tx, bucket, key).await?;
        let versioning: String =
            sqlx::query("SELECT versioning FROM s3_buckets WHERE bucket_name = $1")
                .bind(bucket)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?
                .get(0);
        let out = match (version_id, versioning.as_str()) {
            (None, "Enabled" | "Suspended") => {
                let w = self
                    .put_version_tx(
                        &mut tx,
                        &NewObject {
                            bucket: bucket.to_owned(),
                            key: key.to_owned(),
                            blob_key: None,
                            size: 0,
                            etag: String::new(),
                            headers: "{}".into(),
                            modified_ms: now_ms,
                        },
                    )
                    .await?;
                Deleted {
                    version_id: Some(w.version_id),
                    delete_marker: true,
                    orphaned: w.orphaned,
                }
            }
            (v, _) => {
                let v = v.unwrap_or(NULL_VERSION);
                let row = sqlx::query("DELETE FROM s3_objects WHERE bucket_name = $1 AND object_key = $2 AND version_id = $3 RETURNING is_latest, is_delete_marker, blob_key")
                    .bind(bucket)
                    .bind(key)
                    .bind(v)
                    .fetch_optional(&mut *tx)
                    .await?;
                match row {
                    None => Deleted::default(),
                    Some(r) => {
                        let (was_latest, marker, blob): (i64, i64, Option<String>) =
                            (r.get(0), r.get(1), r.get(2));
                        if was_latest != 0 {
                            sqlx::query(
                                "UPDATE s3_objects SET is_latest = 1 WHERE bucket_name = $1 AND object_key = $2 AND seq = \
                                 (SELECT MAX(seq) FROM s3_objects WHERE bucket_name = $1 AND object_key = $2)",
                            )
                            .bind(bucket)
                            .bind(key)
                            .execute(&mut *tx)
                            .await?;
                        }
                        Deleted {
                            version_id: version_id.map(str::to_owned),
                            delete_marker: marker != 0,
                            orphaned: blob.into_iter().collect(),
                        }
                    }
                }
            }
        };
        tx.commit().await?;
        Ok(out)
    }

    /// Latest, non-deleted objects of a bucket whose keys start with `prefix`, in key order.
    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        after: &After,
        limit: i64,
    ) -> Result<Vec<ObjectVersion>, StoreError> {
        let (cmp, bound) = match after {
            After::Start => (">=", prefix),
            After::Key(k) => (">", k.as_str()),
            After::From(k) => (">=", k.as_str()),
        };
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM s3_objects WHERE bucket_name = $1 AND is_latest = 1 AND is_delete_marker = 0 \
             AND object_key {cmp} $2 AND substr(object_key, 1, CAST($3 AS INTEGER)) = $4 ORDER BY object_key LIMIT $5"
        );
        let rows = sqlx::query(&sql)
            .bind(bucket)
            .bind(bound)
            .bind(prefix.chars().count() as i64)
            .bind(prefix)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(object_of).collect())
    }

    /// Versions (and delete markers) of a bucket whose keys start with `prefix`, by key and
    /// then newest first.
    pub async fn list_object_versions(
        &self,
        bucket: &str,
        prefix: &str,
        after: &VersionsAfter,
        limit: i64,
    ) -> Result<Vec<ObjectVersion>, StoreError> {
        let base = format!(
            "SELECT {OBJECT_COLUMNS} FROM s3_objects WHERE bucket_name = $1 AND substr(object_key, 1, CAST($2 AS INTEGER)) = $3"
        );
        let order = "ORDER BY object_key, seq DESC";
        let plen = prefix.chars().count() as i64;
        let rows = match after {
            VersionsAfter::Start => {
                sqlx::query(&format!("{base} {order} LIMIT $4"))
                    .bind(bucket)
                    .bind(plen)
                    .bind(prefix)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            VersionsAfter::Key(k) | VersionsAfter::From(k) => {
                let cmp = if matches!(after, VersionsAfter::Key(_)) {
                    ">"
                } else {
                    ">="
                };
                sqlx::query(&format!("{base} AND object_key {cmp} $4 {order} LIMIT $5"))
                    .bind(bucket)
                    .bind(plen)
                    .bind(prefix)
                    .bind(k)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            VersionsAfter::Version(k, seq) => sqlx::query(&format!(
                "{base} AND (object_key > $4 OR (object_key = $4 AND seq < $5)) {order} LIMIT $6"
            ))
            .bind(bucket)
            .bind(plen)
            .bind(prefix)
            .bind(k)
            .bind(*seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?,
        };
        Ok(rows.iter().map(object_of).collect())
    }

    /// Starts a multipart upload.
    pub async fn create_upload(&self, u: &Upload) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO s3_uploads (upload_id, bucket_name, object_key, headers, initiator_arn, initiated_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&u.upload_id)
            .bind(&u.bucket)
            .bind(&u.key)
            .bind(&u.headers)
            .bind(&u.initiator_arn)
            .bind(u.initiated_ms)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    /// A multipart upload of `bucket`/`key` by id.
    pub async fn upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Option<Upload>, StoreError> {
        let row = sqlx::query("SELECT upload_id, bucket_name, object_key, headers, initiator_arn, initiated_ms FROM s3_uploads WHERE upload_id = $1 AND bucket_name = $2 AND object_key = $3")
            .bind(upload_id)
            .bind(bucket)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(upload_of))
    }

    /// Uploads in progress in a bucket under `prefix`, by key then start time, after the
    /// `key_marker` key or, with an `upload_id_marker` too, after that upload of that key.
    pub async fn list_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        key_marker: &str,
        upload_id_marker: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Upload>, StoreError> {
        let after = match upload_id_marker {
            Some(id) => {
                sqlx::query("SELECT initiated_ms FROM s3_uploads WHERE upload_id = $1 AND bucket_name = $2 AND object_key = $3")
                    .bind(id)
                    .bind(bucket)
                    .bind(key_marker)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| (r.get::<i64, _>(0), id))
            }
            None => None,
        };
        let columns = "SELECT upload_id, bucket_name, object_key, headers, initiator_arn, initiated_ms FROM s3_uploads \
             WHERE bucket_name = $1 AND substr(object_key, 1, CAST($2 AS INTEGER)) = $3";
        let order = "ORDER BY object_key, initiated_ms, upload_id";
        let rows = match after {
            None => {
                sqlx::query(&format!("{columns} AND object_key > $4 {order} LIMIT $5"))
                    .bind(bucket)
                    .bind(prefix.chars().count() as i64)
                    .bind(prefix)
                    .bind(key_marker)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            Some((ms, id)) => sqlx::query(&format!(
                "{columns} AND (object_key > $4 OR (object_key = $4 AND (initiated_ms > $5 OR (initiated_ms = $5 AND upload_id > $6)))) {order} LIMIT $7"
            ))
            .bind(bucket)
            .bind(prefix.chars().count() as i64)
            .bind(prefix)
            .bind(key_marker)
            .bind(ms)
            .bind(id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?,
        };
        Ok(rows.iter().map(upload_of).collect())
    }

    /// Records a part (replacing an earlier upload of the same number); returns the replaced
    /// part's blob key. `NotFound` when the upload is gone.
    pub async fn put_part(&self, upload_id: &str, p: &Part) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT 1 FROM s3_uploads WHERE upload_id = $1")
            .bind(upload_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        let old: Option<String> = sqlx::query(
            "DELETE FROM s3_parts WHERE upload_id = $1 AND part_number = $2 RETURNING blob_key",
        )
        .bind(upload_id)
        .bind(p.part_number)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.get(0));
        sqlx::query("INSERT INTO s3_parts (upload_id, part_number, blob_key, size, etag, headers, modified_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(upload_id)
            .bind(p.part_number)
            .bind(&p.blob_key)
            .bind(p.size)
            .bind(&p.etag)
            .bind(&p.headers)
            .bind(p.modified_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(old)
    }

    /// The parts of an upload numbered above `after`, in order.
    pub async fn parts(
        &self,
        upload_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Part>, StoreError> {
        let rows = sqlx::query("SELECT part_number, blob_key, size, etag, headers, modified_ms FROM s3_parts WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3")
            .bind(upload_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| Part {
                part_number: r.get(0),
                blob_key: r.get(1),
                size: r.get(2),
                etag: r.get(3),
                headers: r.get(4),
                modified_ms: r.get(5),
            })
            .collect())
    }

    /// Removes an upload and its parts; returns the parts' blob keys. `NotFound` when absent.
    pub async fn abort_upload(&self, upload_id: &str) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        let blobs = remove_upload(&mut tx, upload_id).await?;
        tx.commit().await?;
        Ok(blobs)
    }

    /// Completes an upload: writes `object` (whose bytes the caller assembled from the parts)
    /// as the new version and removes the upload; every part blob is returned as orphaned.
    pub async fn complete_upload(
        &self,
        upload_id: &str,
        object: &NewObject,
    ) -> Result<Written, StoreError> {
        match self
            .complete_upload_if(upload_id, object, &WriteCondition::Any)
            .await?
        {
            Ok(w) => Ok(w),
            Err(_) => Err(StoreError::Conflict(object.key.clone())),
        }
    }

    /// [`Store::complete_upload`] when `cond` holds for the key's current object; otherwise
    /// nothing changes and the upload stays.
    pub async fn complete_upload_if(
        &self,
        upload_id: &str,
        object: &NewObject,
        cond: &WriteCondition,
    ) -> Result<Result<Written, WriteRefused>, StoreError> {
        let mut tx = self.begin_write().await?;
        self.lock_key(&mut tx, &object.bucket, &object.key).await?;
        if let Err(refused) = self
            .check_condition(&mut tx, &object.bucket, &object.key, cond)
            .await?
        {
            return Ok(Err(refused));
        }
        let parts = remove_upload(&mut tx, upload_id).await?;
        let mut w = self.put_version_tx(&mut tx, object).await?;
        tx.commit().await?;
        w.orphaned.extend(parts);
        Ok(Ok(w))
    }
}

async fn remove_upload(
    tx: &mut crate::WriteTx,
    upload_id: &str,
) -> Result<Vec<String>, StoreError> {
    let gone = sqlx::query("DELETE FROM s3_uploads WHERE upload_id = $1")
        .bind(upload_id)
        .execute(&mut **tx)
        .await?;
    if gone.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    let rows = sqlx::query("DELETE FROM s3_parts WHERE upload_id = $1 RETURNING blob_key")
        .bind(upload_id)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

fn upload_of(r: &AnyRow) -> Upload {
    Upload {
        upload_id: r.get(0),
        bucket: r.get(1),
        key: r.get(2),
        headers: r.get(3),
        initiator_arn: r.get(4),
        initiated_ms: r.get(5),
    }
}
