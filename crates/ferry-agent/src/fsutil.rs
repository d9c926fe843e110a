//! Small file-system helpers shared by the modules that keep the agent's records.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Write `file` through a temporary sibling and a rename (readers see the old or the new
/// contents, never a torn file), creating its directory first.
pub(crate) fn write_atomically(file: &Path, contents: &[u8]) -> io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, file)
}

/// `path` if it is absolute, without `.` components or a trailing slash; `None` when it is
/// relative or has a `..` component.
pub(crate) fn absolute_normalized(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::RootDir | Component::Normal(_) => out.push(component),
            Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    out.is_absolute().then_some(out)
}
