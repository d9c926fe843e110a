//! S3 with the real clients against `ferry serve`: boto3 breadth and bad input
//! (`tests/e2e/s3_api.py`), and the `aws s3` / `aws s3api` commands users type — a 200 MB
//! multipart upload and download with bounded server memory, `sync`, versions, presigned
//! URLs — on SQLite and, when configured, PostgreSQL.

mod common;

use std::io::Write;
use std::path::Path;

use common::{Server, backends};

/// Writes `len` pseudo-random bytes (fast, reproducible).
fn random_file(path: &Path, len: usize, seed: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x = seed | 1;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for chunk in buf.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bytes = x.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        let n = left.min(buf.len());
        f.write_all(&buf[..n]).unwrap();
        left -= n;
    }
}

/// Peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn same_files(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let (mut fa, mut fb) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let na = fa.read(&mut ba).unwrap();
        let mut nb = 0;
        while nb < na {
            let n = fb.read(&mut bb[nb..na]).unwrap();
            if n == 0 {
                return false;
            }
            nb += n;
        }
        if na == 0 {
            return fb.read(&mut bb).unwrap() == 0;
        }
        if ba[..na] != bb[..na] {
            return false;
        }
    }
}

/// Runs the CLI, panics unless it succeeds, returns standard output.
fn ok(s: &Server, args: &[&str]) -> String {
    let out = s.aws(args);
    assert!(
        out.status.success(),
        "aws {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn boto3_s3_api_and_bad_input() {
    for db in backends() {
        let s = Server::start(db);
        let out = s.python("s3_api.py", &[]);
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn aws_cli_s3_copy_sync_versions_presign() {
    let work = tempfile::tempdir().unwrap();
    let big = work.path().join("big.bin");
    random_file(&big, 200 * 1024 * 1024, 7);
    for db in backends() {
        let s = Server::start(db);
        ok(&s, &["s3", "mb", "s3://artifacts"]);
        let before = peak_rss_kib(s.pid());
        ok(
            &s,
            &[
                "s3",
                "cp",
                big.to_str().unwrap(),
                "s3://artifacts/big.bin",
                "--no-progress",
            ],
        );
        let head = s.aws_json(&[
            "s3api",
            "head-object",
            "--bucket",
            "artifacts",
            "--key",
            "big.bin",
        ]);
        assert_eq!(head["ContentLength"], 200 * 1024 * 1024);
        assert!(
            head["ETag"].as_str().unwrap().ends_with("-25\""),
            "the CLI uploads 200 MB in 8 MB parts: {head}"
        );
        let back = work.path().join("back.bin");
        ok(
            &s,
            &[
                "s3",
                "cp",
                "s3://artifacts/big.bin",
                back.to_str().unwrap(),
                "--no-progress",
            ],
        );
        assert!(same_files(&big, &back), "downloaded bytes differ");
        std::fs::remove_file(&back).unwrap();
        let growth_mib = (peak_rss_kib(s.pid()) - before) / 1024;
        assert!(
            growth_mib < 64,
            "server memory grew by {growth_mib} MiB for a 200 MB round trip"
        );

        // sync: uploads new and changed files only, and mirrors back down.
        let tree = work.path().join("tree");
        for (p, c) in [
            ("a.txt", "a"),
            ("dir/b.txt", "b"),
            ("dir/deeper/c d+e.txt", "c"),
        ] {
            let path = tree.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, c).unwrap();
        }
        let first = ok(
            &s,
            &[
                "s3",
                "sync",
                tree.to_str().unwrap(),
                "s3://artifacts/site",
                "--no-progress",
            ],
        );
        assert_eq!(first.matches("upload:").count(), 3);
        let again = ok(
            &s,
            &[
                "s3",
                "sync",
                tree.to_str().unwrap(),
                "s3://artifacts/site",
                "--no-progress",
            ],
        );
        assert_eq!(again.matches("upload:").count(), 0, "nothing changed");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::fs::write(tree.join("dir/b.txt"), "b changed").unwrap();
        let changed = ok(
            &s,
            &[
                "s3",
                "sync",
                tree.to_str().unwrap(),
                "s3://artifacts/site",
                "--no-progress",
            ],
        );
        assert!(
            changed.contains("dir/b.txt") && changed.matches("upload:").count() == 1,
            "{changed}"
        );
        let mirror = work.path().join("mirror");
        ok(
            &s,
            &[
                "s3",
                "sync",
                "s3://artifacts/site",
                mirror.to_str().unwrap(),
                "--no-progress",
            ],
        );
        assert_eq!(
            std::fs::read_to_string(mirror.join("dir/deeper/c d+e.txt")).unwrap(),
            "c"
        );
        assert_eq!(
            std::fs::read_to_string(mirror.join("dir/b.txt")).unwrap(),
            "b changed"
        );
        let ls = ok(&s, &["s3", "ls", "s3://artifacts/site/"]);
        assert!(ls.contains("PRE dir/") && ls.contains("a.txt"), "{ls}");

        // Versions, as `aws deploy push` and CodePipeline S3 sources rely on.
        ok(
            &s,
            &[
                "s3api",
                "put-bucket-versioning",
                "--bucket",
                "artifacts",
                "--versioning-configuration",
                "Status=Enabled",
            ],
        );
        let one = work.path().join("bundle.zip");
        std::fs::write(&one, "v1").unwrap();
        let v1 = s.aws_json(&[
            "s3api",
            "put-object",
            "--bucket",
            "artifacts",
            "--key",
            "bundle.zip",
            "--body",
            one.to_str().unwrap(),
        ]);
        std::fs::write(&one, "v2").unwrap();
        let v2 = s.aws_json(&[
            "s3api",
            "put-object",
            "--bucket",
            "artifacts",
            "--key",
            "bundle.zip",
            "--body",
            one.to_str().unwrap(),
        ]);
        let versions = s.aws_json(&[
            "s3api",
            "list-object-versions",
            "--bucket",
            "artifacts",
            "--prefix",
            "bundle.zip",
        ]);
        let ids: Vec<&str> = versions["Versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["VersionId"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                v2["VersionId"].as_str().unwrap(),
                v1["VersionId"].as_str().unwrap()
            ]
        );
        let old = work.path().join("old.zip");
        ok(
            &s,
            &[
                "s3api",
                "get-object",
                "--bucket",
                "artifacts",
                "--key",
                "bundle.zip",
                "--version-id",
                v1["VersionId"].as_str().unwrap(),
                old.to_str().unwrap(),
            ],
        );
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "v1");

        // Presigned URL from the CLI (legacy signature for us-east-1), fetched with curl.
        let url = ok(
            &s,
            &[
                "s3",
                "presign",
                "s3://artifacts/site/a.txt",
                "--expires-in",
                "60",
            ],
        );
        let url = url.trim();
        let got = std::process::Command::new("curl")
            .args(["-sf", url])
            .output()
            .unwrap();
        assert!(got.status.success(), "presigned GET failed");
        assert_eq!(got.stdout, b"a");

        // Errors come back with S3's codes through the CLI.
        let missing = s.aws(&[
            "s3api",
            "get-object",
            "--bucket",
            "artifacts",
            "--key",
            "nope",
            "/dev/null",
        ]);
        assert!(!missing.status.success());
        assert!(String::from_utf8_lossy(&missing.stderr).contains("NoSuchKey"));
        let rb = s.aws(&["s3", "rb", "s3://artifacts"]);
        assert!(String::from_utf8_lossy(&rb.stderr).contains("BucketNotEmpty"));
        ok(&s, &["s3", "rm", "s3://artifacts/site", "--recursive"]);
    }
}
