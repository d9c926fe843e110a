//! Blob storage behind a trait: bytes by key, never in SQL. The local-disk implementation
//! writes to a temporary file, syncs it and renames it into place, so a reader sees either no
//! object or the whole object, never half of one. (An S3-compatible implementation comes with
//! scale-out.)

use std::future::Future;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::StoreError;

/// What a completed write stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub size: u64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
}

/// A store of immutable objects addressed by `/`-separated keys.
pub trait BlobStore: Send + Sync + 'static {
    /// Writes the whole of `reader` under `key`, replacing any earlier object atomically.
    fn put<R: AsyncRead + Unpin + Send>(
        &self,
        key: &str,
        reader: R,
    ) -> impl Future<Output = Result<BlobInfo, StoreError>> + Send;
    /// Writes like [`put`](Self::put), but the object becomes visible only if its SHA-256
    /// equals `sha256` (lower-case hex); otherwise nothing is stored and `Conflict` is returned.
    fn put_checked<R: AsyncRead + Unpin + Send>(
        &self,
        key: &str,
        reader: R,
        sha256: &str,
    ) -> impl Future<Output = Result<BlobInfo, StoreError>> + Send;
    /// Reads a whole object; `NotFound` when absent.
    fn get(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;
    /// The size of an object, `None` when absent.
    fn size(&self, key: &str) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;
    /// A reader over an object, for streaming it out; `NotFound` when absent.
    fn open(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<std::pin::Pin<Box<dyn AsyncRead + Send>>, StoreError>> + Send;
    /// Removes an object; absent is fine.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Blobs as files under one directory.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// A store rooted at `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        std::fs::create_dir_all(root.join(".tmp"))?;
        Ok(Self { root })
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        let valid = !key.is_empty()
            && !key.starts_with('/')
            && key.split('/').all(|seg| {
                !seg.is_empty() && seg != "." && seg != ".." && !seg.starts_with(".tmp")
            })
            && !key.contains('\0')
            && !key.contains('\\');
        if !valid {
            return Err(StoreError::Secret(format!("invalid blob key: {key:?}")));
        }
        Ok(self.root.join(key))
    }
}

impl BlobStore for LocalBlobStore {
    async fn put<R: AsyncRead + Unpin + Send>(
        &self,
        key: &str,
        reader: R,
    ) -> Result<BlobInfo, StoreError> {
        self.write(key, reader, None).await
    }

    async fn put_checked<R: AsyncRead + Unpin + Send>(
        &self,
        key: &str,
        reader: R,
        sha256: &str,
    ) -> Result<BlobInfo, StoreError> {
        self.write(key, reader, Some(sha256)).await
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        match tokio::fs::read(self.path_of(key)?).await {
            Ok(v) => Ok(v),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        match tokio::fs::metadata(self.path_of(key)?).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn open(
        &self,
        key: &str,
    ) -> Result<std::pin::Pin<Box<dyn AsyncRead + Send>>, StoreError> {
        match tokio::fs::File::open(self.path_of(key)?).await {
            Ok(f) => Ok(Box::pin(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match tokio::fs::remove_file(self.path_of(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl LocalBlobStore {
    /// Streams `reader` into a temporary file, checks it, syncs it and renames it into place.
    async fn write<R: AsyncRead + Unpin + Send>(
        &self,
        key: &str,
        mut reader: R,
        expect_sha256: Option<&str>,
    ) -> Result<BlobInfo, StoreError> {
        let dest = self.path_of(key)?;
        let tmp = self
            .root
            .join(".tmp")
            .join(uuid::Uuid::new_v4().to_string());
        let result = async {
            let mut file = tokio::fs::File::create(&tmp).await?;
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = reader.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                file.write_all(&buf[..n]).await?;
                size += n as u64;
            }
            file.sync_all().await?;
            drop(file);
            let sha256 = hex::encode(hasher.finalize());
            if expect_sha256.is_some_and(|e| !e.eq_ignore_ascii_case(&sha256)) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "content does not match its SHA-256",
                ));
            }
            if let Some(parent) = dest.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            tokio::fs::rename(&tmp, &dest).await?;
            Ok::<_, std::io::Error>(BlobInfo { size, sha256 })
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                Err(StoreError::Conflict(e.to_string()))
            }
            other => Ok(other?),
        }
    }
}

/// An object being written piece by piece; it becomes visible under its key only when
/// [`BlobWriter::commit`] succeeds. Dropping it uncommitted leaves nothing behind (the
/// temporary file is removed then, by [`BlobWriter::abort`], or by the next start's sweep
/// after a crash).
pub struct BlobWriter {
    file: tokio::fs::File,
    tmp: PathBuf,
    dest: PathBuf,
    size: u64,
}

impl BlobWriter {
    /// Appends bytes.
    pub async fn write(&mut self, data: &[u8]) -> Result<(), StoreError> {
        self.file.write_all(data).await?;
        self.size += data.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Syncs and moves the object into place.
    pub async fn commit(mut self) -> Result<u64, StoreError> {
        let result = async {
            self.file.flush().await?;
            self.file.sync_all().await?;
            if let Some(parent) = self.dest.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            tokio::fs::rename(&self.tmp, &self.dest).await
        }
        .await;
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&self.tmp).await;
            return Err(e.into());
        }
        Ok(self.size)
    }

    /// Syncs and moves the object into place under `key` of `store`.
    pub async fn commit_as(mut self, store: &LocalBlobStore, key: &str) -> Result<u64, StoreError> {
        match store.path_of(key) {
            Ok(dest) => self.dest = dest,
            Err(e) => {
                self.abort().await;
                return Err(e);
            }
        }
        self.commit().await
    }

    /// Throws the partial object away.
    pub async fn abort(self) {
        let _ = tokio::fs::remove_file(&self.tmp).await;
    }
}

impl Drop for BlobWriter {
    /// An object dropped uncommitted leaves nothing behind (after a commit the temporary
    /// file is gone already).
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl LocalBlobStore {
    /// Starts writing an object under `key` piece by piece.
    pub async fn writer(&self, key: &str) -> Result<BlobWriter, StoreError> {
        let dest = self.path_of(key)?;
        let tmp = self
            .root
            .join(".tmp")
            .join(uuid::Uuid::new_v4().to_string());
        let file = tokio::fs::File::create(&tmp).await?;
        Ok(BlobWriter {
            file,
            tmp,
            dest,
            size: 0,
        })
    }

    /// Starts writing an object whose key is known only once it is written (a content named
    /// by its hash); [`BlobWriter::commit_as`] puts it in place.
    pub async fn spool(&self) -> Result<BlobWriter, StoreError> {
        let tmp = self
            .root
            .join(".tmp")
            .join(uuid::Uuid::new_v4().to_string());
        let file = tokio::fs::File::create(&tmp).await?;
        Ok(BlobWriter {
            file,
            dest: tmp.clone(),
            tmp,
            size: 0,
        })
    }

    /// A reader over `len` bytes of an object starting at `start`; `NotFound` when absent.
    pub async fn open_range(
        &self,
        key: &str,
        start: u64,
        len: u64,
    ) -> Result<std::pin::Pin<Box<dyn AsyncRead + Send>>, StoreError> {
        use tokio::io::AsyncSeekExt;
        let mut f = match tokio::fs::File::open(self.path_of(key)?).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StoreError::NotFound),
            Err(e) => return Err(e.into()),
        };
        f.seek(std::io::SeekFrom::Start(start)).await?;
        Ok(Box::pin(f.take(len)))
    }
}

/// The root directory of a local store (for tests and garbage collection).
impl AsRef<Path> for LocalBlobStore {
    fn as_ref(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that yields some bytes and then fails, like a client that disconnects.
    struct Broken(bool);
    impl AsyncRead for Broken {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if self.0 {
                return std::task::Poll::Ready(Err(std::io::Error::other("client went away")));
            }
            self.0 = true;
            buf.put_slice(b"partial");
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn put_get_delete_and_no_half_objects() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::new(dir.path()).unwrap();
        let info = store.put("a/b/c.bin", &b"hello\n"[..]).await.unwrap();
        assert_eq!(info.size, 6);
        assert_eq!(
            info.sha256,
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        assert_eq!(store.get("a/b/c.bin").await.unwrap(), b"hello\n");
        assert!(store.put("a/b/c.bin", Broken(false)).await.is_err());
        assert_eq!(
            store.get("a/b/c.bin").await.unwrap(),
            b"hello\n",
            "failed write leaves the old object"
        );
        assert!(store.put("x/y", Broken(false)).await.is_err());
        assert!(matches!(store.get("x/y").await, Err(StoreError::NotFound)));
        assert_eq!(
            std::fs::read_dir(dir.path().join(".tmp")).unwrap().count(),
            0
        );
        let hello = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
        assert!(matches!(
            store.put_checked("chk", &b"other\n"[..], hello).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.size("chk").await.unwrap(),
            None,
            "a mismatch stores nothing"
        );
        store
            .put_checked("chk", &b"hello\n"[..], hello)
            .await
            .unwrap();
        assert_eq!(store.size("chk").await.unwrap(), Some(6));
        store.delete("a/b/c.bin").await.unwrap();
        store.delete("a/b/c.bin").await.unwrap();
        assert!(matches!(
            store.get("a/b/c.bin").await,
            Err(StoreError::NotFound)
        ));
        for bad in ["../etc/passwd", "/abs", "a/../b", "", "a//b", ".tmp/x"] {
            assert!(store.get(bad).await.is_err(), "{bad}");
        }
    }
}
