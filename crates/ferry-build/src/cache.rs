//! Build caches: the files matching the buildspec's `cache.paths`, kept between builds under a
//! key (the buildspec's `key`, shell-expanded, or one cache per project), restored after
//! DOWNLOAD_SOURCE (exact key first, then `fallback-keys` by prefix) and saved after the
//! artifacts. `S3` caches live in Ferry's S3 under `<location>/codebuild-cache/<project>/`,
//! `LOCAL` ones under the data dir; both last until invalidated. Paths under `/root/`, `~/` or
//! `$HOME/` mean the build's home directory (AWS builds run as root); other absolute paths are
//! not cached by the local executor.

use std::path::{Path, PathBuf};

use ferry_model::codebuild::{CacheType, ProjectCache};
use ferry_s3::S3;

use crate::buildspec::CacheSpec;

/// Where a project's caches are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStore {
    S3 { bucket: String, prefix: String },
    Local { dir: PathBuf },
}

impl CacheStore {
    /// The store a project's cache settings name, if any.
    pub fn of(cache: Option<&ProjectCache>, project: &str, local_root: &Path) -> Option<Self> {
        let c = cache?;
        let space = c
            .cache_namespace
            .clone()
            .unwrap_or_else(|| project.to_owned());
        match c.r#type {
            CacheType::S3 => {
                let loc = c.location.clone()?;
                let (bucket, prefix) = loc.split_once('/').unwrap_or((&loc, ""));
                let mut p = prefix.trim_matches('/').to_owned();
                if !p.is_empty() {
                    p.push('/');
                }
                Some(Self::S3 {
                    bucket: bucket.to_owned(),
                    prefix: format!("{p}codebuild-cache/{space}/"),
                })
            }
            CacheType::Local => Some(Self::Local {
                dir: local_root.join(sanitize(&space)),
            }),
            CacheType::NoCache => None,
        }
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The key a cache is stored under (file-name safe).
pub fn key_name(key: Option<&str>) -> String {
    match key.map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) => sanitize(k),
        None => "default".to_owned(),
    }
}

/// Splits `cache.paths` into patterns under the home directory and under the source.
pub fn split_paths(spec: &CacheSpec) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut home, mut src, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for p in &spec.paths {
        let p = p.trim();
        if let Some(rest) = p
            .strip_prefix("/root/")
            .or_else(|| p.strip_prefix("~/"))
            .or_else(|| p.strip_prefix("$HOME/"))
        {
            home.push(rest.to_owned());
        } else if p.starts_with('/') {
            skipped.push(p.to_owned());
        } else {
            src.push(p.to_owned());
        }
    }
    (home, src, skipped)
}

/// Packs the cached files of a workspace (`home/…` and `src/…` entries) into `dest`; the
/// number of files packed.
pub fn pack(ws: &Path, home: &[String], src: &[String], dest: &Path) -> std::io::Result<usize> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for (root, patterns, tag) in [
        (ws.join("home"), home, "home"),
        (ws.join("src"), src, "src"),
    ] {
        if patterns.is_empty() {
            continue;
        }
        match crate::artifacts::select_files(&root, None, patterns, &[], false) {
            Ok(sel) => files.extend(
                sel.into_iter()
                    .map(|s| (s.source, format!("{tag}/{}", s.archive_path))),
            ),
            Err(crate::artifacts::SelectError::NoMatch) => {}
            Err(e) => return Err(std::io::Error::other(e.to_string())),
        }
    }
    if !files.is_empty() {
        crate::archive::zip_files(&files, dest)?;
    }
    Ok(files.len())
}

/// Fetches the best cache for `key` (then `fallbacks` by prefix) into `dest`; the key used.
pub async fn fetch(
    store: &CacheStore,
    s3: &S3,
    key: &str,
    fallbacks: &[String],
    dest: &Path,
) -> Option<String> {
    match store {
        CacheStore::Local { dir } => {
            let exact = dir.join(format!("{key}.zip"));
            if tokio::fs::copy(&exact, dest).await.is_ok() {
                return Some(key.to_owned());
            }
            let mut entries = tokio::fs::read_dir(dir).await.ok()?;
            let mut names = Vec::new();
            while let Ok(Some(e)) = entries.next_entry().await {
                let modified = e.metadata().await.ok().and_then(|m| m.modified().ok());
                names.push((e.file_name().to_string_lossy().into_owned(), modified));
            }
            names.sort_by_key(|n| std::cmp::Reverse(n.1));
            for fb in fallbacks {
                let fb = key_name(Some(fb));
                if let Some((n, _)) = names
                    .iter()
                    .find(|(n, _)| n.starts_with(&fb) && n.ends_with(".zip"))
                    && tokio::fs::copy(dir.join(n), dest).await.is_ok()
                {
                    return Some(n.trim_end_matches(".zip").to_owned());
                }
            }
            None
        }
        CacheStore::S3 { bucket, prefix } => {
            if s3
                .read_to_file(bucket, &format!("{prefix}{key}.zip"), None, dest)
                .await
                .is_ok()
            {
                return Some(key.to_owned());
            }
            for fb in fallbacks {
                let fb = key_name(Some(fb));
                let mut found = s3
                    .store
                    .list_objects(
                        bucket,
                        &format!("{prefix}{fb}"),
                        &ferry_store::s3::After::Start,
                        1000,
                    )
                    .await
                    .ok()?;
                found.sort_by_key(|o| std::cmp::Reverse(o.modified_ms));
                if let Some(o) = found.first()
                    && s3.read_to_file(bucket, &o.key, None, dest).await.is_ok()
                {
                    return Some(o.key[prefix.len()..].trim_end_matches(".zip").to_owned());
                }
            }
            None
        }
    }
}

/// Stores a packed cache under `key`.
pub async fn store(store: &CacheStore, s3: &S3, key: &str, packed: &Path) -> Result<(), String> {
    match store {
        CacheStore::Local { dir } => {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| e.to_string())?;
            let tmp = dir.join(format!(".{key}.{}.tmp", uuid::Uuid::new_v4().simple()));
            tokio::fs::copy(packed, &tmp)
                .await
                .map_err(|e| e.to_string())?;
            tokio::fs::rename(&tmp, dir.join(format!("{key}.zip")))
                .await
                .map_err(|e| e.to_string())
        }
        CacheStore::S3 { bucket, prefix } => s3
            .put_local_file(
                bucket,
                &format!("{prefix}{key}.zip"),
                packed,
                "application/zip",
                &[],
            )
            .await
            .map(|_| ())
            .map_err(|e| format!("{}: {}", e.code, e.message)),
    }
}

/// Removes every cache of a store.
pub async fn invalidate(store: &CacheStore, s3: &S3) -> Result<(), String> {
    match store {
        CacheStore::Local { dir } => match tokio::fs::remove_dir_all(dir).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.to_string()),
        },
        CacheStore::S3 { bucket, prefix } => {
            let objects = s3
                .store
                .list_objects(bucket, prefix, &ferry_store::s3::After::Start, 10_000)
                .await
                .map_err(|e| e.to_string())?;
            for o in objects {
                let d = s3
                    .store
                    .delete_object_version(
                        bucket,
                        &o.key,
                        None,
                        ferry_types::Timestamp::now().millis(),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                for b in d.orphaned {
                    use ferry_store::blob::BlobStore;
                    let _ = s3.blobs.delete(&b).await;
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_keys_and_paths() {
        let c = ProjectCache {
            r#type: CacheType::S3,
            location: Some("bucket/some/prefix".into()),
            ..ProjectCache::default()
        };
        assert_eq!(
            CacheStore::of(Some(&c), "proj", Path::new("/x")),
            Some(CacheStore::S3 {
                bucket: "bucket".into(),
                prefix: "some/prefix/codebuild-cache/proj/".into()
            })
        );
        assert_eq!(key_name(Some("npm-ab/../c")), "npm-ab_.._c");
        assert_eq!(key_name(None), "default");
        let spec = CacheSpec {
            paths: vec![
                "/root/.m2/**/*".into(),
                "node_modules/**/*".into(),
                "/etc/**/*".into(),
                "~/.npm/**/*".into(),
            ],
            ..CacheSpec::default()
        };
        let (home, src, skipped) = split_paths(&spec);
        assert_eq!(home, vec![".m2/**/*".to_owned(), ".npm/**/*".to_owned()]);
        assert_eq!(src, vec!["node_modules/**/*".to_owned()]);
        assert_eq!(skipped, vec!["/etc/**/*".to_owned()]);
    }
}
