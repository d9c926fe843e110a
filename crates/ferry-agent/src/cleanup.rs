//! The `<deployment-group-id>-cleanup` file: the files and directories one install created,
//! one absolute path a line, in the order to delete them (files before the directories that
//! hold them). The next install of the group deletes exactly those, and nothing else.

use crate::install::InstallError;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The paths a cleanup file lists; none when there is no file yet. Lines that are not absolute
/// paths are skipped.
pub(crate) fn read(file: &Path) -> Result<Vec<PathBuf>, InstallError> {
    let text = match std::fs::read(file) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(InstallError::io(file, e)),
    };
    Ok(text
        .split(|b| *b == b'\n')
        .filter(|line| line.first() == Some(&b'/'))
        .map(|line| PathBuf::from(std::ffi::OsStr::from_bytes(line)))
        .collect())
}

/// Delete what `listed` names, in order: files and links are removed, directories only when
/// empty (scripts may have put files there); what is already gone is skipped. Returns what was
/// removed.
pub(crate) fn remove_listed(listed: &[PathBuf]) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for path in listed {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            continue;
        };
        let result = if meta.is_dir() {
            std::fs::remove_dir(path)
        } else {
            std::fs::remove_file(path)
        };
        match result {
            Ok(()) => removed.push(path.clone()),
            Err(e) => tracing::debug!(path = %path.display(), error = %e, "not removed by cleanup"),
        }
    }
    removed
}

/// Write the list of what an install created, `created` being in creation order.
pub(crate) fn write(file: &Path, created: &[PathBuf]) -> Result<(), InstallError> {
    let mut text = Vec::new();
    for path in created.iter().rev() {
        text.extend_from_slice(path.as_os_str().as_encoded_bytes());
        text.push(b'\n');
    }
    crate::fsutil::write_atomically(file, &text).map_err(|e| InstallError::io(file, e))
}
