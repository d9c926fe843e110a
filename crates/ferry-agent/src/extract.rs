//! The checked writer behind [`crate::bundle`]: puts archive entries under a destination
//! directory without ever leaving it. Entry paths must be relative with no `..`; parent
//! directories must be real directories; files are created fresh (`O_EXCL`, so never through a
//! symlink); symlinks are created only after every other entry, and each one must resolve
//! inside the destination in the final tree; devices and pipes are refused; hard links must
//! point at a file already unpacked. Byte, entry and compression-ratio limits are counted on
//! what is actually written.

use crate::bundle::{BundleError, RATIO_GUARD_FLOOR, UnpackLimits, UnpackSummary};
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// What one archive entry is.
pub(crate) enum EntryKind<'r> {
    Directory,
    /// `ratio_base` is the entry's compressed size when the format has one (zip).
    File {
        reader: &'r mut dyn Read,
        ratio_base: Option<u64>,
    },
    Symlink(PathBuf),
    /// Target path relative to the archive root.
    HardLink(PathBuf),
    Unsupported(&'static str),
}

pub(crate) struct Extractor {
    dest: PathBuf,
    limits: UnpackLimits,
    summary: UnpackSummary,
    /// The compressed size of the whole stream (tgz), for the ratio guard.
    stream_ratio_base: Option<u64>,
    /// Symlinks to create at the end: (relative path, target, entry name).
    symlinks: Vec<(PathBuf, PathBuf, String)>,
    /// Directory modes to apply at the end (relative path, mode).
    dir_modes: Vec<(PathBuf, u32)>,
}

/// Symlinks followed while checking where one resolves, at most (as Linux's `ELOOP`).
const MAX_LINK_HOPS: u32 = 40;

impl Extractor {
    pub fn new(dest: &Path, limits: UnpackLimits) -> Self {
        Self {
            dest: dest.to_owned(),
            limits,
            summary: UnpackSummary::default(),
            stream_ratio_base: None,
            symlinks: Vec::new(),
            dir_modes: Vec::new(),
        }
    }

    pub fn set_stream_ratio_base(&mut self, compressed_len: Option<u64>) {
        self.stream_ratio_base = compressed_len;
    }

    /// Write one entry. `path` is the entry's path as stored, `name` its printable form.
    pub fn entry(
        &mut self,
        path: &Path,
        name: &str,
        mode: Option<u32>,
        kind: EntryKind<'_>,
    ) -> Result<(), BundleError> {
        self.summary.entries += 1;
        if self.summary.entries > self.limits.max_entries {
            return Err(BundleError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        let Some(rel) = relative_path(path) else {
            return Err(BundleError::UnsafePath {
                entry: name.to_owned(),
            });
        };
        if rel.as_os_str().is_empty() {
            return Ok(()); // "./" and the like: the destination itself.
        }
        // A later entry replaces an earlier symlink of the same path.
        self.symlinks.retain(|(p, _, _)| *p != rel);
        match kind {
            EntryKind::Directory => {
                self.directory(&rel, name)?;
                self.dir_modes
                    .push((rel, mode.map_or(0o755, |m| m & 0o777) | 0o700));
                Ok(())
            }
            EntryKind::File { reader, ratio_base } => self.file(
                &rel,
                name,
                mode.map_or(0o644, |m| m & 0o777),
                reader,
                ratio_base,
            ),
            EntryKind::Symlink(target) => {
                let parent = rel.parent().unwrap_or(Path::new(""));
                if lexical_join(parent, &target).is_none() {
                    return Err(unsafe_link(name, &target));
                }
                self.symlinks.push((rel, target, name.to_owned()));
                Ok(())
            }
            EntryKind::HardLink(target) => self.hard_link(&rel, name, &target),
            EntryKind::Unsupported(kind) => Err(BundleError::UnsupportedEntry {
                entry: name.to_owned(),
                kind,
            }),
        }
    }

    /// Create the deferred symlinks, check each resolves inside, apply directory modes.
    pub fn finish(mut self) -> Result<UnpackSummary, BundleError> {
        let symlinks = std::mem::take(&mut self.symlinks);
        for (rel, target, name) in &symlinks {
            self.parent_dirs(rel, name)?;
            let path = self.dest.join(rel);
            self.clear_for_entry(&path, name)?;
            std::os::unix::fs::symlink(target, &path).map_err(|e| write_err(&path, e))?;
        }
        for (rel, target, name) in &symlinks {
            if !self.resolves_inside(rel) {
                return Err(unsafe_link(name, target));
            }
        }
        for (rel, mode) in self.dir_modes.iter().rev() {
            let path = self.dest.join(rel);
            fs::set_permissions(&path, fs::Permissions::from_mode(*mode))
                .map_err(|e| write_err(&path, e))?;
        }
        Ok(self.summary)
    }

    fn directory(&mut self, rel: &Path, name: &str) -> Result<(), BundleError> {
        self.parent_dirs(rel, name)?;
        self.ensure_dir(&self.dest.join(rel), name)
    }

    fn file(
        &mut self,
        rel: &Path,
        name: &str,
        mode: u32,
        reader: &mut dyn Read,
        ratio_base: Option<u64>,
    ) -> Result<(), BundleError> {
        self.parent_dirs(rel, name)?;
        let path = self.dest.join(rel);
        self.clear_for_entry(&path, name)?;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| write_err(&path, e))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(BundleError::Corrupt {
                        kind: "archive",
                        message: format!("{name}: {e}"),
                    });
                }
            };
            written += n;
            self.summary.bytes += n;
            self.check_size(name, written, ratio_base)?;
            file.write_all(&buf[..n as usize])
                .map_err(|e| write_err(&path, e))?;
        }
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| write_err(&path, e))
    }

    fn check_size(
        &self,
        name: &str,
        entry_bytes: u64,
        ratio_base: Option<u64>,
    ) -> Result<(), BundleError> {
        let limits = &self.limits;
        if self.summary.bytes > limits.max_total_bytes {
            return Err(BundleError::TooLarge {
                limit: limits.max_total_bytes,
            });
        }
        let over_ratio = |bytes: u64, base: u64| {
            bytes > RATIO_GUARD_FLOOR && bytes > base.saturating_mul(limits.max_compression_ratio)
        };
        let entry_over = ratio_base.is_some_and(|base| over_ratio(entry_bytes, base));
        let stream_over = self
            .stream_ratio_base
            .is_some_and(|base| over_ratio(self.summary.bytes, base));
        if entry_over || stream_over {
            return Err(BundleError::CompressionRatio {
                entry: name.to_owned(),
                limit: limits.max_compression_ratio,
            });
        }
        Ok(())
    }

    fn hard_link(&mut self, rel: &Path, name: &str, target: &Path) -> Result<(), BundleError> {
        let Some(target_rel) = relative_path(target).filter(|t| !t.as_os_str().is_empty()) else {
            return Err(unsafe_link(name, target));
        };
        self.parent_dirs(&target_rel, name)?;
        let source = self.dest.join(&target_rel);
        match fs::symlink_metadata(&source) {
            Ok(meta) if meta.is_file() => {}
            _ => return Err(unsafe_link(name, target)),
        }
        self.parent_dirs(rel, name)?;
        let path = self.dest.join(rel);
        self.clear_for_entry(&path, name)?;
        fs::hard_link(&source, &path).map_err(|e| write_err(&path, e))
    }

    /// Make sure every parent of `rel` is a real directory, creating the missing ones.
    fn parent_dirs(&self, rel: &Path, name: &str) -> Result<(), BundleError> {
        let mut path = self.dest.clone();
        if let Some(parent) = rel.parent() {
            for component in parent.components() {
                path.push(component);
                self.ensure_dir(&path, name)?;
            }
        }
        Ok(())
    }

    fn ensure_dir(&self, path: &Path, name: &str) -> Result<(), BundleError> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(BundleError::Conflict {
                entry: name.to_owned(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(path).map_err(|e| write_err(path, e))
            }
            Err(e) => Err(write_err(path, e)),
        }
    }

    /// A file or link may replace an earlier file or link of the same path, never a directory.
    fn clear_for_entry(&self, path: &Path, name: &str) -> Result<(), BundleError> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => Err(BundleError::Conflict {
                entry: name.to_owned(),
            }),
            Ok(_) => fs::remove_file(path).map_err(|e| write_err(path, e)),
            Err(_) => Ok(()),
        }
    }

    /// Whether the symlink at `rel` resolves inside the destination, following the links of
    /// the unpacked tree on the way (missing components resolve lexically).
    fn resolves_inside(&self, rel: &Path) -> bool {
        let mut stack: Vec<OsString> = rel
            .parent()
            .into_iter()
            .flat_map(Path::components)
            .map(|c| c.as_os_str().to_owned())
            .collect();
        let Ok(target) = fs::read_link(self.dest.join(rel)) else {
            return false;
        };
        let mut hops = 0;
        self.resolve(&mut stack, &target, &mut hops)
    }

    fn resolve(&self, stack: &mut Vec<OsString>, target: &Path, hops: &mut u32) -> bool {
        for component in target.components() {
            match component {
                Component::CurDir => {}
                Component::ParentDir => {
                    if stack.pop().is_none() {
                        return false;
                    }
                }
                Component::Normal(part) => {
                    stack.push(part.to_owned());
                    let path: PathBuf = std::iter::once(self.dest.as_os_str())
                        .chain(stack.iter().map(OsString::as_os_str))
                        .collect();
                    let Ok(meta) = fs::symlink_metadata(&path) else {
                        continue;
                    };
                    if meta.file_type().is_symlink() {
                        *hops += 1;
                        let Ok(next) = fs::read_link(&path) else {
                            return false;
                        };
                        stack.pop();
                        if *hops > MAX_LINK_HOPS || !self.resolve(stack, &next, hops) {
                            return false;
                        }
                    }
                }
                Component::RootDir | Component::Prefix(_) => return false,
            }
        }
        true
    }
}

/// The entry path made relative and free of `.`; `None` when absolute or when any component
/// is `..` (also between backslashes, as Windows-made zips separate with them).
pub(crate) fn relative_path(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => {
                let text = part.to_string_lossy();
                if text.split('\\').any(|p| p == "..") {
                    return None;
                }
                out.push(part);
            }
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// `base` joined with a relative `target`, `..` resolved lexically; `None` if it would climb
/// above `base`'s root or `target` is absolute.
fn lexical_join(base: &Path, target: &Path) -> Option<PathBuf> {
    let mut out = base.to_owned();
    for component in target.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn unsafe_link(name: &str, target: &Path) -> BundleError {
    BundleError::UnsafeLink {
        entry: name.to_owned(),
        target: target.display().to_string(),
    }
}

fn write_err(path: &Path, source: io::Error) -> BundleError {
    BundleError::Write {
        path: path.to_owned(),
        source,
    }
}
