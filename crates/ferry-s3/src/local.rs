//! In-process access for Ferry's other services (builds upload artifacts and read source
//! zips; deployments and pipelines read bundles): the same objects, versions and checks as
//! the HTTP API, without HTTP.

use std::collections::BTreeMap;
use std::path::Path;

use ferry_store::StoreError;
use ferry_store::s3::NewObject;
use tokio::io::AsyncWriteExt;

use crate::{S3, S3Error, body, time};

/// What a local upload stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Without quotes.
    pub etag: String,
    /// `null` unless the bucket has versioning.
    pub version_id: String,
    pub size: u64,
}

impl S3 {
    /// Creates a bucket for a service's own objects unless it exists.
    pub async fn ensure_bucket(
        &self,
        name: &str,
        region: &str,
        owner_arn: &str,
    ) -> Result<(), S3Error> {
        let bucket = ferry_store::s3::Bucket {
            name: name.to_owned(),
            region: region.to_owned(),
            owner_arn: owner_arn.to_owned(),
            versioning: String::new(),
            created_ms: time::now_ms(),
        };
        match self.store.create_bucket(&bucket).await {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores the file at `path` as `bucket`/`key`, with a content type and user metadata
    /// (`x-amz-meta-<name>`), as a new version of the key.
    pub async fn put_local_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: &str,
        metadata: &[(String, String)],
    ) -> Result<Stored, S3Error> {
        self.bucket(bucket).await?;
        if key.is_empty() || key.len() > crate::names::MAX_KEY_BYTES {
            return Err(S3Error::new("KeyTooLongError", 400, "Your key is too long"));
        }
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| S3Error::internal(format!("{}: {e}", path.display())))?;
        let got = body::assemble(&self.blobs, vec![Box::pin(file)], None).await?;
        let mut headers = BTreeMap::new();
        headers.insert("content-type".to_owned(), content_type.to_owned());
        for (k, v) in metadata {
            headers.insert(format!("x-amz-meta-{}", k.to_ascii_lowercase()), v.clone());
        }
        let object = NewObject {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            blob_key: Some(got.blob_key.clone()),
            size: got.size as i64,
            etag: got.etag(),
            headers: serde_json::to_string(&headers).unwrap_or_else(|_| "{}".into()),
            modified_ms: time::now_ms(),
        };
        match self.store.put_object_version(&object).await {
            Ok(w) => {
                self.drop_blobs(&w.orphaned).await;
                Ok(Stored {
                    etag: object.etag,
                    version_id: w.version_id,
                    size: got.size,
                })
            }
            Err(e) => {
                self.drop_blobs(std::slice::from_ref(&got.blob_key)).await;
                Err(match e {
                    StoreError::NotFound => S3Error::no_such_bucket(bucket),
                    e => e.into(),
                })
            }
        }
    }

    /// Stores `bytes` as `bucket`/`key` with a content type, as a new version of the key.
    pub async fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<Stored, S3Error> {
        let tmp = std::env::temp_dir().join(format!("ferry-put-{}", uuid::Uuid::new_v4()));
        tokio::fs::write(&tmp, bytes)
            .await
            .map_err(|e| S3Error::internal(format!("{}: {e}", tmp.display())))?;
        let stored = self
            .put_local_file(bucket, key, &tmp, content_type, &[])
            .await;
        let _ = tokio::fs::remove_file(&tmp).await;
        stored
    }

    /// The latest version of `bucket`/`key` with its content type, when it is at most `limit`
    /// bytes long; `Ok(None)` when it is longer.
    pub async fn read_small(
        &self,
        bucket: &str,
        key: &str,
        limit: u64,
    ) -> Result<Option<(Vec<u8>, String)>, S3Error> {
        self.bucket(bucket).await?;
        let o = self
            .store
            .object_version(bucket, key, None)
            .await?
            .filter(|o| !o.is_delete_marker)
            .ok_or_else(|| S3Error::no_such_key(key))?;
        if o.size as u64 > limit {
            return Ok(None);
        }
        let content_type = serde_json::from_str::<BTreeMap<String, String>>(&o.headers)
            .ok()
            .and_then(|h| h.get("content-type").cloned())
            .unwrap_or_default();
        let blob = o.blob_key.as_deref().unwrap_or_default();
        let mut reader = self.blobs.open_range(blob, 0, o.size as u64).await?;
        let mut bytes = Vec::with_capacity(o.size as usize);
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut bytes)
            .await
            .map_err(S3Error::internal)?;
        Ok(Some((bytes, content_type)))
    }

    /// Copies `bucket`/`key` (the latest version, or `version_id`) into the file `dest`.
    pub async fn read_to_file(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        dest: &Path,
    ) -> Result<u64, S3Error> {
        self.bucket(bucket).await?;
        let o = self
            .store
            .object_version(bucket, key, version_id)
            .await?
            .filter(|o| !o.is_delete_marker)
            .ok_or_else(|| S3Error::no_such_key(key))?;
        let blob = o.blob_key.as_deref().unwrap_or_default();
        let mut reader = self.blobs.open_range(blob, 0, o.size as u64).await?;
        let mut out = tokio::fs::File::create(dest)
            .await
            .map_err(|e| S3Error::internal(format!("{}: {e}", dest.display())))?;
        let n = tokio::io::copy(&mut reader, &mut out)
            .await
            .map_err(S3Error::internal)?;
        out.flush().await.map_err(S3Error::internal)?;
        Ok(n)
    }
}
