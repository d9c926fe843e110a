//! Asset contents: hashed (MD5, SHA-1, SHA-256, SHA-512), checked against the hash a client
//! declared, and kept once per content in the blob store under `ca/<sha256>`, however many
//! assets in however many repositories refer to it. A content no asset refers to any more is
//! deleted, which is what frees space when versions are deleted or disposed.

use std::collections::BTreeMap;

use ferry_store::blob::{BlobStore, BlobWriter};
use ferry_wire::AwsError;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use crate::records::AssetDoc;
use crate::service::{ArtifactService, internal, invalid};

/// A content's hashes and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    pub sha256: String,
    pub size: i64,
    pub doc: AssetDoc,
}

/// The four digests of a content, fed piece by piece.
#[derive(Default)]
pub struct Hasher {
    md5: Md5,
    sha1: Sha1,
    sha256: Sha256,
    sha512: Sha512,
    size: i64,
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        self.sha1.update(data);
        self.sha256.update(data);
        self.sha512.update(data);
        self.size += data.len() as i64;
    }

    pub fn finish(self) -> Hashed {
        let sha256 = hex::encode(self.sha256.finalize());
        let hashes = BTreeMap::from([
            ("MD5".to_owned(), hex::encode(self.md5.finalize())),
            ("SHA-1".to_owned(), hex::encode(self.sha1.finalize())),
            ("SHA-256".to_owned(), sha256.clone()),
            ("SHA-512".to_owned(), hex::encode(self.sha512.finalize())),
        ]);
        Hashed {
            sha256,
            size: self.size,
            doc: AssetDoc { hashes },
        }
    }
}

/// The hashes of `bytes`.
pub fn hash(bytes: &[u8]) -> Hashed {
    let mut h = Hasher::default();
    h.update(bytes);
    h.finish()
}

/// A content being received: written to a temporary blob and hashed as it arrives, so that
/// no upload is held in memory. Dropped or failed, it leaves nothing visible.
pub struct Spool {
    writer: BlobWriter,
    hasher: Hasher,
}

impl Spool {
    pub async fn write(&mut self, data: &[u8]) -> Result<(), String> {
        self.hasher.update(data);
        self.writer.write(data).await.map_err(|e| e.to_string())
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.writer.size()
    }

    pub fn finish(self) -> Spooled {
        Spooled {
            writer: self.writer,
            hashed: self.hasher.finish(),
        }
    }

    pub async fn abort(self) {
        self.writer.abort().await;
    }
}

/// A content received whole into a temporary blob, with its hashes.
pub struct Spooled {
    writer: BlobWriter,
    pub hashed: Hashed,
}

/// A content to store: bytes in memory, or a spooled upload.
pub enum Content<'a> {
    Bytes(&'a [u8]),
    Spooled(Spooled),
}

impl Content<'_> {
    /// Throws a content away unstored.
    pub async fn discard(self) {
        if let Content::Spooled(s) = self {
            s.writer.abort().await;
        }
    }
}

/// The blob key of a content.
pub fn blob_key(sha256: &str) -> String {
    format!("ca/{}/{sha256}", &sha256[..2])
}

impl ArtifactService {
    /// A new spool for an incoming content.
    pub async fn spool(&self) -> Result<Spool, String> {
        Ok(Spool {
            writer: self.blobs.spool().await.map_err(|e| e.to_string())?,
            hasher: Hasher::default(),
        })
    }

    /// Receives all of `reader` (at most `max` bytes) into a spool.
    pub async fn spool_all(
        &self,
        mut reader: impl tokio::io::AsyncRead + Unpin,
        max: u64,
    ) -> Result<Spooled, String> {
        use tokio::io::AsyncReadExt;
        let mut spool = self.spool().await?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) => return Ok(spool.finish()),
                Ok(n) => n,
                Err(e) => {
                    spool.abort().await;
                    return Err(format!("the upload was cut off: {e}"));
                }
            };
            if spool.size() + n as u64 > max {
                spool.abort().await;
                return Err(format!("the upload is larger than {max} bytes"));
            }
            if let Err(e) = spool.write(&buf[..n]).await {
                spool.abort().await;
                return Err(e);
            }
        }
    }

    /// Stores `content` (when `expected_sha256` is given it must match) unless the same
    /// content is stored already, then runs `record` — which makes an asset refer to it —
    /// while no deletion of unreferenced contents can run.
    pub async fn store_content<T, F, Fut>(
        &self,
        content: Content<'_>,
        expected_sha256: Option<&str>,
        record: F,
    ) -> Result<T, AwsError>
    where
        F: FnOnce(Hashed) -> Fut,
        Fut: std::future::Future<Output = Result<T, AwsError>>,
    {
        let (hashed, bytes, spooled) = match content {
            Content::Bytes(b) => (hash(b), Some(b), None),
            Content::Spooled(s) => (s.hashed.clone(), None, Some(s.writer)),
        };
        let mismatch = expected_sha256.filter(|want| !want.eq_ignore_ascii_case(&hashed.sha256));
        if let Some(want) = mismatch {
            if let Some(w) = spooled {
                w.abort().await;
            }
            return Err(invalid(format!(
                "The SHA256 hash of the asset, {}, does not match the given assetSHA256 {want}",
                hashed.sha256
            )));
        }
        let key = blob_key(&hashed.sha256);
        let _turn = self.contents.lock().await;
        let have = self.blobs.size(&key).await.map_err(internal)?.is_some();
        match (bytes, spooled) {
            (_, Some(w)) if have => w.abort().await,
            (_, Some(w)) => {
                w.commit_as(&self.blobs, &key).await.map_err(internal)?;
            }
            (Some(b), None) if !have => {
                self.blobs
                    .put_checked(&key, b, &hashed.sha256)
                    .await
                    .map_err(internal)?;
            }
            _ => {}
        }
        record(hashed).await
    }

    /// Deletes the blobs of `shas` that no asset refers to (the store said so when it removed
    /// their last assets; checked again here under the lock).
    pub async fn drop_contents(&self, shas: &[String]) {
        let _turn = self.contents.lock().await;
        for sha in shas {
            match self.store.ca_content_used(sha).await {
                Ok(false) => {
                    if let Err(e) = self.blobs.delete(&blob_key(sha)).await {
                        tracing::warn!(sha, error = %e, "could not delete an asset's content");
                    }
                }
                Ok(true) => {}
                Err(e) => tracing::warn!(sha, error = %e, "could not check an asset's content"),
            }
        }
    }

    /// A stored content read whole (for small ones).
    pub async fn content_of(&self, f: &crate::native::StoredFile) -> Result<Vec<u8>, AwsError> {
        self.blobs.get(&f.key).await.map_err(internal)
    }

    /// A reader over a stored content (an answer's [`StoredFile`](crate::native::StoredFile)).
    pub async fn open_content(
        &self,
        f: &crate::native::StoredFile,
    ) -> Result<std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>, AwsError> {
        self.blobs
            .open_range(&f.key, 0, f.size)
            .await
            .map_err(internal)
    }

    /// The bytes of a stored content.
    pub async fn content(&self, sha256: &str) -> Result<Vec<u8>, AwsError> {
        self.blobs.get(&blob_key(sha256)).await.map_err(internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_the_usual_digests() {
        let h = hash(b"abc");
        assert_eq!(h.size, 3);
        assert_eq!(h.doc.hashes["MD5"], "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            h.doc.hashes["SHA-1"],
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            h.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(h.doc.hashes["SHA-512"].starts_with("ddaf35a193617aba"));
        assert_eq!(blob_key(&h.sha256), format!("ca/ba/{}", h.sha256));
    }
}
