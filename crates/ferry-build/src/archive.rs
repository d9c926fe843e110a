//! Zip archives for builds: packing selected files into an artifact, and unpacking a source
//! zip without letting any entry land outside the destination (no `..`, no absolute paths, no
//! entries through symlinks).

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// The most bytes a source zip may unpack to.
const MAX_UNPACKED: u64 = 8 * 1024 * 1024 * 1024;

/// Writes `files` (`(path on disk, path in the archive)`) into a new zip at `dest`.
pub fn zip_files(files: &[(PathBuf, String)], dest: &Path) -> std::io::Result<()> {
    let file = std::fs::File::create(dest)?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let mut buf = vec![0u8; 256 * 1024];
    for (src, name) in files {
        #[cfg(unix)]
        let opts = {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(src)?.permissions().mode();
            opts.unix_permissions(mode & 0o777)
        };
        zip.start_file(name.as_str(), opts)
            .map_err(std::io::Error::other)?;
        let mut f = std::fs::File::open(src)?;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            zip.write_all(&buf[..n])?;
        }
    }
    zip.finish().map_err(std::io::Error::other)?.flush()
}

/// Unpacks the zip at `src` into `dest` (created).
pub fn unzip(src: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    let mut archive =
        zip::ZipArchive::new(std::fs::File::open(src)?).map_err(std::io::Error::other)?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(std::io::Error::other)?;
        let name = entry.name().to_owned();
        let rel = safe_relative(&name).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("entry {name:?} would land outside the source directory"),
            )
        })?;
        let out = dest.join(&rel);
        // Refuse to write through a symlink a previous entry or the tree created.
        let mut check = dest.to_path_buf();
        for c in rel.components() {
            check.push(c);
            if std::fs::symlink_metadata(&check).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("entry {name:?} goes through a symbolic link"),
                ));
            }
        }
        if entry.is_dir() {
            std::fs::create_dir_all(&out)?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        total += entry.size();
        if total > MAX_UNPACKED {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the source unpacks to more than 8 GiB",
            ));
        }
        let mut f = std::fs::File::create(&out)?;
        std::io::copy(&mut (&mut entry).take(MAX_UNPACKED), &mut f)?;
        #[cfg(unix)]
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&out, std::fs::Permissions::from_mode(mode & 0o755))?;
        }
    }
    Ok(())
}

/// A relative path made only of normal components, or `None`.
fn safe_relative(name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_hostile_entries() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        std::fs::write(&a, "hello").unwrap();
        let z = dir.path().join("x.zip");
        zip_files(&[(a.clone(), "dir/a.txt".into())], &z).unwrap();
        let out = dir.path().join("out");
        unzip(&z, &out).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("dir/a.txt")).unwrap(),
            "hello"
        );
        for bad in ["../evil", "/etc/evil", "a/../../evil"] {
            let z = dir.path().join("bad.zip");
            zip_files(&[(a.clone(), bad.into())], &z).unwrap();
            assert!(unzip(&z, &dir.path().join("o2")).is_err(), "{bad}");
        }
        assert!(!dir.path().join("evil").exists());
    }
}
