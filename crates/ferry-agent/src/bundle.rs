//! Unpacking a revision bundle (`zip`, `tar`, `tgz`) into an empty directory: reading each
//! format's entries and handing them to the checked writer in `extract.rs`, with the
//! limits that keep a hostile bundle from filling the disk. On any error the partial output is
//! removed.

use crate::extract::{EntryKind, Extractor};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleType {
    Zip,
    Tar,
    Tgz,
}

impl BundleType {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "zip" => Some(Self::Zip),
            "tar" => Some(Self::Tar),
            "tgz" => Some(Self::Tgz),
            _ => None,
        }
    }

    /// The file extension the agent gives a downloaded bundle of this type.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Zip => "zip",
            Self::Tar => "tar",
            Self::Tgz => "tgz",
        }
    }
}

/// Bounds on what one bundle may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// Bytes written, over all entries.
    pub max_total_bytes: u64,
    /// Entries of any kind, directories included.
    pub max_entries: u64,
    /// Unpacked size over compressed size, per entry for zip and for the whole stream for tgz;
    /// only checked once the unpacked size passes [`RATIO_GUARD_FLOOR`].
    pub max_compression_ratio: u64,
}

/// Below this many unpacked bytes the compression ratio is not checked: small, very
/// compressible files are common and harmless.
pub const RATIO_GUARD_FLOOR: u64 = 1 << 20;

impl Default for UnpackLimits {
    fn default() -> Self {
        Self {
            max_total_bytes: 2 << 30,
            max_entries: 100_000,
            max_compression_ratio: 200,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read the bundle {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("the bundle is not a valid {kind} archive: {message}")]
    Corrupt { kind: &'static str, message: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("the bundle entry {entry:?} has an absolute path or a `..` component")]
    UnsafePath { entry: String },
    #[error("the bundle entry {entry:?} links to {target:?}, outside the unpacked bundle")]
    UnsafeLink { entry: String, target: String },
    #[error("the bundle entry {entry:?} is a {kind}, which a bundle may not contain")]
    UnsupportedEntry { entry: String, kind: &'static str },
    #[error("the bundle entry {entry:?} clashes with an earlier entry of another kind")]
    Conflict { entry: String },
    #[error("the bundle unpacks to more than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the bundle has more than {limit} entries")]
    TooManyEntries { limit: u64 },
    #[error("the bundle entry {entry:?} is compressed more than {limit} to 1 (a zip bomb?)")]
    CompressionRatio { entry: String, limit: u64 },
    #[error("the directory to unpack into, {0}, is not empty")]
    DestinationNotEmpty(PathBuf),
}

/// What an unpack wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnpackSummary {
    pub entries: u64,
    pub bytes: u64,
}

/// Unpack `bundle` into `dest`, which must be missing or empty. Blocking work runs on tokio's
/// blocking pool.
pub async fn unpack(
    bundle: &Path,
    kind: BundleType,
    dest: &Path,
    limits: UnpackLimits,
) -> Result<UnpackSummary, BundleError> {
    let (bundle, dest) = (bundle.to_owned(), dest.to_owned());
    tokio::task::spawn_blocking(move || unpack_blocking(&bundle, kind, &dest, limits))
        .await
        .unwrap_or_else(|e| {
            Err(BundleError::Corrupt {
                kind: kind.extension(),
                message: format!("the unpacking task failed: {e}"),
            })
        })
}

/// The synchronous body of [`unpack`].
pub fn unpack_blocking(
    bundle: &Path,
    kind: BundleType,
    dest: &Path,
    limits: UnpackLimits,
) -> Result<UnpackSummary, BundleError> {
    let read_err = |source| BundleError::Read {
        path: bundle.to_owned(),
        source,
    };
    let file = File::open(bundle).map_err(read_err)?;
    let compressed_len = file.metadata().map_err(read_err)?.len();
    let existed = prepare_destination(dest)?;
    let result = (|| {
        let mut out = Extractor::new(dest, limits);
        match kind {
            BundleType::Zip => read_zip(file, &mut out)?,
            BundleType::Tar => read_tar(BufReader::new(file), &mut out, None)?,
            BundleType::Tgz => {
                let gz = flate2::read::GzDecoder::new(BufReader::new(file));
                read_tar(gz, &mut out, Some(compressed_len))?
            }
        }
        out.finish()
    })();
    if result.is_err() {
        remove_output(dest, existed);
    }
    result
}

/// Create `dest`, or check that it is an empty directory; returns whether it existed.
fn prepare_destination(dest: &Path) -> Result<bool, BundleError> {
    let write_err = |source| BundleError::Write {
        path: dest.to_owned(),
        source,
    };
    match std::fs::read_dir(dest).map(|mut entries| entries.next().is_none()) {
        Ok(true) => Ok(true),
        Ok(false) => Err(BundleError::DestinationNotEmpty(dest.to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dest).map_err(write_err)?;
            Ok(false)
        }
        Err(e) => Err(write_err(e)),
    }
}

fn remove_output(dest: &Path, recreate: bool) {
    if let Err(e) = std::fs::remove_dir_all(dest) {
        tracing::warn!(path = %dest.display(), error = %e, "cannot remove a partly unpacked bundle");
    }
    if recreate {
        let _ = std::fs::create_dir(dest);
    }
}

fn read_zip(file: File, out: &mut Extractor) -> Result<(), BundleError> {
    let corrupt = |e: zip::result::ZipError| BundleError::Corrupt {
        kind: "zip",
        message: e.to_string(),
    };
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(corrupt)?;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(corrupt)?;
        let name = entry.name().to_owned();
        let mode = entry.unix_mode();
        let kind = if entry.is_symlink() {
            EntryKind::Symlink(read_link_target(&mut entry, &name)?)
        } else if entry.is_dir() {
            EntryKind::Directory
        } else {
            let ratio_base = entry.compressed_size();
            EntryKind::File {
                reader: &mut entry,
                ratio_base: Some(ratio_base),
            }
        };
        out.entry(name.as_ref(), &name, mode, kind)?;
    }
    Ok(())
}

/// A zip symlink's target is its content.
fn read_link_target(entry: &mut impl Read, name: &str) -> Result<PathBuf, BundleError> {
    let mut target = Vec::new();
    entry
        .take(4096)
        .read_to_end(&mut target)
        .map_err(|e| BundleError::Corrupt {
            kind: "zip",
            message: format!("{name}: {e}"),
        })?;
    String::from_utf8(target)
        .map(PathBuf::from)
        .map_err(|_| BundleError::Corrupt {
            kind: "zip",
            message: format!("{name}: the link target is not UTF-8"),
        })
}

/// Read a tar stream; `compressed_len` is the gzip file's size for a tgz (the ratio guard then
/// applies to the whole stream).
fn read_tar(
    reader: impl Read,
    out: &mut Extractor,
    compressed_len: Option<u64>,
) -> Result<(), BundleError> {
    let corrupt = |e: io::Error| BundleError::Corrupt {
        kind: "tar",
        message: e.to_string(),
    };
    out.set_stream_ratio_base(compressed_len);
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let path = entry.path().map_err(corrupt)?.into_owned();
        let name = path.to_string_lossy().into_owned();
        let header = entry.header();
        let mode = header.mode().ok();
        let link = || -> Result<PathBuf, BundleError> {
            match entry.link_name() {
                Ok(Some(target)) => Ok(target.into_owned()),
                Ok(None) => Err(BundleError::Corrupt {
                    kind: "tar",
                    message: format!("{name}: a link without a target"),
                }),
                Err(e) => Err(corrupt(e)),
            }
        };
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File {
                reader: &mut entry,
                ratio_base: None,
            },
            tar::EntryType::Directory => EntryKind::Directory,
            tar::EntryType::Symlink => EntryKind::Symlink(link()?),
            tar::EntryType::Link => EntryKind::HardLink(link()?),
            tar::EntryType::XGlobalHeader => continue,
            other => EntryKind::Unsupported(tar_kind_name(other)),
        };
        out.entry(&path, &name, mode, kind)?;
    }
    Ok(())
}

fn tar_kind_name(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Char => "character device",
        tar::EntryType::Block => "block device",
        tar::EntryType::Fifo => "named pipe",
        tar::EntryType::GNUSparse => "sparse file",
        _ => "special entry",
    }
}

#[cfg(test)]
#[path = "bundle_tests.rs"]
mod tests;
