//! Asset contents: hashed (MD5, SHA-1, SHA-256, SHA-512), checked against the hash a client
//! declared, and kept once per content in the blob store under `ca/<sha256>`, however many
//! assets in however many repositories refer to it. A content no asset refers to any more is
//! deleted, which is what frees space when versions are deleted or disposed.

use std::collections::BTreeMap;

use ferry_store::blob::BlobStore;
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

/// The hashes of `bytes`.
pub fn hash(bytes: &[u8]) -> Hashed {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let hashes = BTreeMap::from([
        ("MD5".to_owned(), hex::encode(Md5::digest(bytes))),
        ("SHA-1".to_owned(), hex::encode(Sha1::digest(bytes))),
        ("SHA-256".to_owned(), sha256.clone()),
        ("SHA-512".to_owned(), hex::encode(Sha512::digest(bytes))),
    ]);
    Hashed {
        sha256,
        size: bytes.len() as i64,
        doc: AssetDoc { hashes },
    }
}

/// The blob key of a content.
pub fn blob_key(sha256: &str) -> String {
    format!("ca/{}/{sha256}", &sha256[..2])
}

impl ArtifactService {
    /// Stores `bytes` (when `expected_sha256` is given it must match) unless the same content
    /// is stored already, then runs `record` — which makes an asset refer to it — while no
    /// deletion of unreferenced contents can run.
    pub async fn store_content<T, F, Fut>(
        &self,
        bytes: &[u8],
        expected_sha256: Option<&str>,
        record: F,
    ) -> Result<T, AwsError>
    where
        F: FnOnce(Hashed) -> Fut,
        Fut: std::future::Future<Output = Result<T, AwsError>>,
    {
        let hashed = hash(bytes);
        if let Some(want) = expected_sha256
            && !want.eq_ignore_ascii_case(&hashed.sha256)
        {
            return Err(invalid(format!(
                "The SHA256 hash of the asset, {}, does not match the given assetSHA256 {want}",
                hashed.sha256
            )));
        }
        let key = blob_key(&hashed.sha256);
        let _turn = self.contents.lock().await;
        if self.blobs.size(&key).await.map_err(internal)?.is_none() {
            self.blobs
                .put_checked(&key, bytes, &hashed.sha256)
                .await
                .map_err(internal)?;
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
