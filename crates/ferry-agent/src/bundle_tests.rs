use super::*;
use std::io::{Cursor, Write};
use std::os::unix::fs::PermissionsExt;
use zip::write::SimpleFileOptions;

/// A scratch area: `root/bundle` is the archive, `root/out` the destination, and anything an
/// escaping entry could reach (`root/x`, `root/etc/...`) lies inside `root` too.
struct Scratch {
    root: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Self {
            root: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn out(&self) -> PathBuf {
        self.root.path().join("out")
    }
    fn unpack(&self, bytes: &[u8], kind: BundleType) -> Result<UnpackSummary, BundleError> {
        self.unpack_with(bytes, kind, UnpackLimits::default())
    }
    fn unpack_with(
        &self,
        bytes: &[u8],
        kind: BundleType,
        limits: UnpackLimits,
    ) -> Result<UnpackSummary, BundleError> {
        let bundle = self.root.path().join("bundle");
        std::fs::write(&bundle, bytes).expect("write bundle");
        unpack_blocking(&bundle, kind, &self.out(), limits)
    }
    /// Every path under the scratch root except the bundle file itself.
    fn listing(&self) -> Vec<String> {
        let mut found = Vec::new();
        walk(self.root.path(), self.root.path(), &mut found);
        found.retain(|p| p != "bundle");
        found.sort();
        found
    }
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        found.push(path.strip_prefix(root).unwrap().display().to_string());
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            walk(root, &path, found);
        }
    }
}

fn zip_of(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data, mode) in entries {
        let options = SimpleFileOptions::default().unix_permissions(*mode);
        if name.ends_with('/') {
            zip.add_directory(*name, options).unwrap();
        } else {
            zip.start_file(*name, options).unwrap();
            zip.write_all(data).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

/// A tar entry written with raw header fields, so hostile names get through.
enum TarEntry<'a> {
    File(&'a str, &'a [u8], u32),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
    Fifo(&'a str),
}

fn tar_of(entries: &[TarEntry<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        let (name, kind, data, mode, link): (&str, _, &[u8], u32, Option<&str>) = match entry {
            TarEntry::File(n, d, m) => (n, tar::EntryType::Regular, d, *m, None),
            TarEntry::Dir(n) => (n, tar::EntryType::Directory, b"", 0o755, None),
            TarEntry::Symlink(n, t) => (n, tar::EntryType::Symlink, b"", 0o777, Some(t)),
            TarEntry::HardLink(n, t) => (n, tar::EntryType::Link, b"", 0o644, Some(t)),
            TarEntry::Fifo(n) => (n, tar::EntryType::Fifo, b"", 0o644, None),
        };
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn zip_unpacks_with_modes() {
    let s = Scratch::new();
    let bytes = zip_of(&[
        ("appspec.yml", b"version: 0.0\n", 0o644),
        ("scripts/", b"", 0o755),
        ("scripts/start.sh", b"#!/bin/sh\necho hi\n", 0o755),
        ("deep/er/file.txt", b"data", 0o640),
    ]);
    let summary = s.unpack(&bytes, BundleType::Zip).expect("unpack");
    assert_eq!(summary.entries, 4);
    let out = s.out();
    assert_eq!(
        std::fs::read(out.join("scripts/start.sh")).unwrap(),
        b"#!/bin/sh\necho hi\n"
    );
    assert_eq!(mode_of(&out.join("scripts/start.sh")), 0o755);
    assert_eq!(mode_of(&out.join("appspec.yml")), 0o644);
    assert_eq!(mode_of(&out.join("deep/er/file.txt")), 0o640);
}

#[test]
fn tar_and_tgz_unpack_with_modes_and_links() {
    let tar = tar_of(&[
        TarEntry::Dir("app/"),
        TarEntry::File("app/run.sh", b"#!/bin/sh\n", 0o4755),
        TarEntry::File("./app/conf", b"x=1", 0o600),
        TarEntry::Symlink("app/current", "run.sh"),
        TarEntry::HardLink("app/conf2", "app/conf"),
    ]);
    for (bytes, kind) in [
        (tar.clone(), BundleType::Tar),
        (gzip(&tar), BundleType::Tgz),
    ] {
        let s = Scratch::new();
        s.unpack(&bytes, kind).expect("unpack");
        let out = s.out();
        // The setuid bit is not taken from a bundle; the rest of the mode is.
        assert_eq!(mode_of(&out.join("app/run.sh")), 0o755);
        assert_eq!(mode_of(&out.join("app/conf")), 0o600);
        assert_eq!(
            std::fs::read_link(out.join("app/current")).unwrap(),
            Path::new("run.sh")
        );
        assert_eq!(std::fs::read(out.join("app/conf2")).unwrap(), b"x=1");
    }
}

#[test]
fn zip_entries_escaping_are_refused() {
    for name in ["../x", "/etc/x", "a/../../x", "a\\..\\..\\x"] {
        let s = Scratch::new();
        let bytes = zip_of(&[("ok.txt", b"fine", 0o644), (name, b"evil", 0o644)]);
        let err = s.unpack(&bytes, BundleType::Zip).expect_err(name);
        assert!(
            matches!(err, BundleError::UnsafePath { .. }),
            "{name}: {err}"
        );
        assert_eq!(s.listing(), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn tar_entries_escaping_are_refused() {
    for name in ["../x", "/x", "a/../../x"] {
        let s = Scratch::new();
        let bytes = tar_of(&[TarEntry::File(name, b"evil", 0o644)]);
        let err = s.unpack(&bytes, BundleType::Tar).expect_err(name);
        assert!(
            matches!(err, BundleError::UnsafePath { .. }),
            "{name}: {err}"
        );
        assert!(s.listing().is_empty(), "{name}: {:?}", s.listing());
    }
}

#[test]
fn symlink_out_then_file_under_it_is_refused() {
    let s = Scratch::new();
    std::fs::create_dir(s.root.path().join("etc")).unwrap();
    let target = s.root.path().join("etc");
    let bytes = tar_of(&[
        TarEntry::Symlink("etc", target.to_str().unwrap()),
        TarEntry::File("etc/passwd", b"evil", 0o644),
    ]);
    let err = s.unpack(&bytes, BundleType::Tar).unwrap_err();
    assert!(matches!(err, BundleError::UnsafeLink { .. }), "{err}");
    assert_eq!(s.listing(), vec!["etc".to_owned()]);

    // The same with a relative target.
    let s = Scratch::new();
    std::fs::create_dir(s.root.path().join("etc")).unwrap();
    let bytes = tar_of(&[
        TarEntry::Symlink("link", "../etc"),
        TarEntry::File("link/passwd", b"evil", 0o644),
    ]);
    assert!(matches!(
        s.unpack(&bytes, BundleType::Tar).unwrap_err(),
        BundleError::UnsafeLink { .. }
    ));
    assert_eq!(s.listing(), vec!["etc".to_owned()]);
}

#[test]
fn file_under_a_symlink_inside_is_a_conflict_not_a_write_through() {
    let s = Scratch::new();
    let bytes = tar_of(&[
        TarEntry::Dir("real/"),
        TarEntry::Symlink("alias", "real"),
        TarEntry::File("alias/x", b"data", 0o644),
    ]);
    let err = s.unpack(&bytes, BundleType::Tar).unwrap_err();
    assert!(matches!(err, BundleError::Conflict { .. }), "{err}");
    assert!(s.listing().is_empty());
}

#[test]
fn chained_symlinks_escaping_are_refused() {
    // `sub/l -> x/..` looks inside, but `sub/x -> ..` (created later) makes it the parent of
    // the destination.
    let s = Scratch::new();
    let bytes = tar_of(&[
        TarEntry::Dir("sub/"),
        TarEntry::Symlink("sub/l", "x/../.."),
        TarEntry::Symlink("sub/x", ".."),
    ]);
    let err = s.unpack(&bytes, BundleType::Tar).unwrap_err();
    assert!(matches!(err, BundleError::UnsafeLink { .. }), "{err}");
    assert!(s.listing().is_empty());
    // A loop is refused too.
    let s = Scratch::new();
    let bytes = tar_of(&[TarEntry::Symlink("a", "b/x"), TarEntry::Symlink("b", "a")]);
    assert!(s.unpack(&bytes, BundleType::Tar).is_err());
}

#[test]
fn zip_symlinks_are_checked() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.add_symlink("passwd", "/etc/passwd", SimpleFileOptions::default())
        .unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let s = Scratch::new();
    let err = s.unpack(&bytes, BundleType::Zip).unwrap_err();
    assert!(matches!(err, BundleError::UnsafeLink { .. }), "{err}");

    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("a.txt", SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"A").unwrap();
    zip.add_symlink("b.txt", "a.txt", SimpleFileOptions::default())
        .unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let s = Scratch::new();
    s.unpack(&bytes, BundleType::Zip).expect("inside link");
    assert_eq!(std::fs::read(s.out().join("b.txt")).unwrap(), b"A");
}

#[test]
fn devices_pipes_and_outside_hard_links_are_refused() {
    let s = Scratch::new();
    let err = s
        .unpack(&tar_of(&[TarEntry::Fifo("pipe")]), BundleType::Tar)
        .unwrap_err();
    assert!(
        matches!(
            err,
            BundleError::UnsupportedEntry {
                kind: "named pipe",
                ..
            }
        ),
        "{err}"
    );
    for target in ["/etc/passwd", "../x", "missing"] {
        let s = Scratch::new();
        std::fs::write(s.root.path().join("x"), "secret").unwrap();
        let err = s
            .unpack(&tar_of(&[TarEntry::HardLink("h", target)]), BundleType::Tar)
            .unwrap_err();
        assert!(
            matches!(err, BundleError::UnsafeLink { .. }),
            "{target}: {err}"
        );
        assert_eq!(s.listing(), vec!["x".to_owned()]);
    }
}

#[test]
fn zip_bomb_is_stopped_by_the_ratio_guard() {
    let zeros = vec![0u8; 4 << 20];
    let bytes = zip_of(&[("zeros.bin", &zeros, 0o644)]);
    let s = Scratch::new();
    let limits = UnpackLimits {
        max_compression_ratio: 50,
        ..UnpackLimits::default()
    };
    let err = s.unpack_with(&bytes, BundleType::Zip, limits).unwrap_err();
    assert!(matches!(err, BundleError::CompressionRatio { .. }), "{err}");
    assert!(s.listing().is_empty());
    // The same bundle within the default ratio... is still refused: deflate packs zeros ~1000:1.
    let s = Scratch::new();
    assert!(s.unpack(&bytes, BundleType::Zip).is_err());
    // A tgz of zeros is judged on the whole stream.
    let tgz = gzip(&tar_of(&[TarEntry::File("z", &zeros, 0o644)]));
    let s = Scratch::new();
    let err = s.unpack(&tgz, BundleType::Tgz).unwrap_err();
    assert!(matches!(err, BundleError::CompressionRatio { .. }), "{err}");
}

#[test]
fn size_and_count_limits() {
    let bytes = zip_of(&[("a", &[1u8; 1000], 0o644), ("b", &[2u8; 1000], 0o644)]);
    let s = Scratch::new();
    let limits = UnpackLimits {
        max_total_bytes: 1500,
        ..UnpackLimits::default()
    };
    let err = s.unpack_with(&bytes, BundleType::Zip, limits).unwrap_err();
    assert!(
        matches!(err, BundleError::TooLarge { limit: 1500 }),
        "{err}"
    );
    assert!(s.listing().is_empty());

    let s = Scratch::new();
    let limits = UnpackLimits {
        max_entries: 1,
        ..UnpackLimits::default()
    };
    let err = s.unpack_with(&bytes, BundleType::Zip, limits).unwrap_err();
    assert!(
        matches!(err, BundleError::TooManyEntries { limit: 1 }),
        "{err}"
    );
    assert!(s.listing().is_empty());
}

#[test]
fn destination_must_be_empty_and_is_kept_when_it_existed() {
    let s = Scratch::new();
    std::fs::create_dir(s.out()).unwrap();
    std::fs::write(s.out().join("old"), "x").unwrap();
    let bytes = zip_of(&[("a", b"1", 0o644)]);
    assert!(matches!(
        s.unpack(&bytes, BundleType::Zip).unwrap_err(),
        BundleError::DestinationNotEmpty(_)
    ));
    std::fs::remove_file(s.out().join("old")).unwrap();
    let bad = zip_of(&[("a", b"1", 0o644), ("../b", b"2", 0o644)]);
    assert!(s.unpack(&bad, BundleType::Zip).is_err());
    assert_eq!(s.listing(), vec!["out".to_owned()]);
}

#[test]
fn corrupt_archives_are_reported() {
    let s = Scratch::new();
    let err = s.unpack(b"not a zip", BundleType::Zip).unwrap_err();
    assert!(
        matches!(err, BundleError::Corrupt { kind: "zip", .. }),
        "{err}"
    );
    let err = s.unpack(b"not gzip at all", BundleType::Tgz).unwrap_err();
    assert!(matches!(err, BundleError::Corrupt { .. }), "{err}");
    assert!(s.listing().is_empty());
}

#[tokio::test]
async fn async_unpack_runs_on_the_blocking_pool() {
    let s = Scratch::new();
    let bundle = s.root.path().join("bundle");
    std::fs::write(&bundle, zip_of(&[("a", b"1", 0o644)])).unwrap();
    let summary = unpack(&bundle, BundleType::Zip, &s.out(), UnpackLimits::default())
        .await
        .unwrap();
    assert_eq!(
        summary,
        UnpackSummary {
            entries: 1,
            bytes: 1
        }
    );
}
