//! The `aws` CLI and real `git` against `ferry serve`: repository lifecycle, pushes and clones
//! through the credential helper and through HTTPS git credentials, refusals, restarts, and
//! concurrent pushes. Each test runs on SQLite and, when configured, PostgreSQL.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Server, backends};

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// A working tree with one commit on `main`.
fn work_tree(s: &Server, dir: &Path, file: &str, content: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    s.git_ok(dir, &["init", "-q", "-b", "main"]);
    write(&dir.join(file), content);
    s.git_ok(dir, &["add", "."]);
    s.git_ok(dir, &["commit", "-q", "-m", "first commit"]);
    s.git_ok(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}

#[test]
fn aws_cli_manages_repositories() {
    for db in backends() {
        let s = Server::start(db);
        let created = s.aws_json(&[
            "codecommit",
            "create-repository",
            "--repository-name",
            "demo",
            "--repository-description",
            "first repo",
            "--tags",
            "team=ferry",
        ]);
        let md = &created["repositoryMetadata"];
        assert_eq!(md["repositoryName"], "demo");
        assert_eq!(md["repositoryDescription"], "first repo");
        assert_eq!(md["accountId"], s.account.as_str());
        assert_eq!(md["cloneUrlHttp"], format!("{}/v1/repos/demo", s.url));
        assert_eq!(
            md["Arn"],
            format!("arn:aws:codecommit:us-east-1:{}:demo", s.account)
        );
        assert!(
            md.get("defaultBranch").is_none(),
            "an empty repository has no default branch"
        );
        let id = md["repositoryId"].as_str().unwrap().to_owned();

        s.aws_error(
            &[
                "codecommit",
                "create-repository",
                "--repository-name",
                "demo",
            ],
            "RepositoryNameExistsException",
        );
        s.aws_error(
            &[
                "codecommit",
                "create-repository",
                "--repository-name",
                "bad/name",
            ],
            "InvalidRepositoryNameException",
        );
        s.aws_error(
            &[
                "codecommit",
                "create-repository",
                "--repository-name",
                "x.git",
            ],
            "InvalidRepositoryNameException",
        );
        s.aws_error(
            &["codecommit", "get-repository", "--repository-name", "nope"],
            "RepositoryDoesNotExistException",
        );

        let me = s.aws_json(&["sts", "get-caller-identity"]);
        assert_eq!(me["Account"], s.account.as_str());
        let got = s.aws_json(&["codecommit", "get-repository", "--repository-name", "demo"]);
        assert_eq!(got["repositoryMetadata"]["repositoryId"], id.as_str());
        let tags = s.aws_json(&[
            "codecommit",
            "list-tags-for-resource",
            "--resource-arn",
            md["Arn"].as_str().unwrap(),
        ]);
        assert_eq!(tags["tags"]["team"], "ferry");

        s.aws_json(&[
            "codecommit",
            "create-repository",
            "--repository-name",
            "alpha",
        ]);
        let list = s.aws_json(&[
            "codecommit",
            "list-repositories",
            "--sort-by",
            "repositoryName",
            "--order",
            "descending",
        ]);
        let names: Vec<&str> = list["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["repositoryName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["demo", "alpha"]);

        s.aws_json(&[
            "codecommit",
            "update-repository-name",
            "--old-name",
            "demo",
            "--new-name",
            "renamed",
        ]);
        s.aws_error(
            &["codecommit", "get-repository", "--repository-name", "demo"],
            "RepositoryDoesNotExistException",
        );
        s.aws_json(&[
            "codecommit",
            "update-repository-description",
            "--repository-name",
            "renamed",
            "--repository-description",
            "new text",
        ]);
        let got = s.aws_json(&[
            "codecommit",
            "get-repository",
            "--repository-name",
            "renamed",
        ]);
        assert_eq!(got["repositoryMetadata"]["repositoryId"], id.as_str());
        assert_eq!(
            got["repositoryMetadata"]["repositoryDescription"],
            "new text"
        );

        let deleted = s.aws_json(&[
            "codecommit",
            "delete-repository",
            "--repository-name",
            "renamed",
        ]);
        assert_eq!(deleted["repositoryId"], id.as_str());
        let list = s.aws_json(&["codecommit", "list-repositories"]);
        assert_eq!(list["repositories"].as_array().unwrap().len(), 1);
    }
}

#[test]
fn git_push_and_clone_through_the_credential_helper() {
    for db in backends() {
        let mut s = Server::start(db);
        s.use_credential_helper();
        s.aws_json(&[
            "codecommit",
            "create-repository",
            "--repository-name",
            "app",
        ]);
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("work");
        let sha = work_tree(&s, &work, "src/main.txt", "hello ferry\n");
        let remote = format!("{}/v1/repos/app", s.url);
        s.git_ok(&work, &["push", "-q", &remote, "main"]);

        let md = s.aws_json(&["codecommit", "get-repository", "--repository-name", "app"]);
        assert_eq!(
            md["repositoryMetadata"]["defaultBranch"], "main",
            "first pushed branch becomes default"
        );
        let branch = s.aws_json(&[
            "codecommit",
            "get-branch",
            "--repository-name",
            "app",
            "--branch-name",
            "main",
        ]);
        assert_eq!(branch["branch"]["commitId"], sha.as_str());
        let commit = s.aws_json(&[
            "codecommit",
            "get-commit",
            "--repository-name",
            "app",
            "--commit-id",
            &sha,
        ]);
        assert_eq!(commit["commit"]["message"], "first commit\n");
        assert_eq!(commit["commit"]["author"]["name"], "Ferry Test");
        assert!(
            commit["commit"]["author"]["date"]
                .as_str()
                .unwrap()
                .contains(' '),
            "git-style date"
        );

        // Protocol v2 (git's default) and v0 clones see the same content.
        let clone = tmp.path().join("clone");
        s.git_ok(
            tmp.path(),
            &["clone", "-q", &remote, clone.to_str().unwrap()],
        );
        assert_eq!(
            std::fs::read_to_string(clone.join("src/main.txt")).unwrap(),
            "hello ferry\n"
        );
        let clone0 = tmp.path().join("clone0");
        s.git_ok(
            tmp.path(),
            &[
                "-c",
                "protocol.version=0",
                "clone",
                "-q",
                &remote,
                clone0.to_str().unwrap(),
            ],
        );
        assert_eq!(s.git_ok(&clone0, &["rev-parse", "HEAD"]).trim(), sha);

        // Branches through the API are visible to git, and the other way round.
        s.aws_json(&[
            "codecommit",
            "create-branch",
            "--repository-name",
            "app",
            "--branch-name",
            "feature",
            "--commit-id",
            &sha,
        ]);
        assert!(
            s.git_ok(&work, &["ls-remote", &remote])
                .contains("refs/heads/feature")
        );
        s.aws_error(
            &[
                "codecommit",
                "create-branch",
                "--repository-name",
                "app",
                "--branch-name",
                "feature",
                "--commit-id",
                &sha,
            ],
            "BranchNameExistsException",
        );
        s.aws_error(
            &[
                "codecommit",
                "delete-branch",
                "--repository-name",
                "app",
                "--branch-name",
                "main",
            ],
            "DefaultBranchCannotBeDeletedException",
        );
        write(&work.join("b.txt"), "second\n");
        s.git_ok(&work, &["add", "."]);
        s.git_ok(&work, &["commit", "-q", "-m", "second"]);
        s.git_ok(&work, &["push", "-q", &remote, "main:topic"]);
        let branches = s.aws_json(&["codecommit", "list-branches", "--repository-name", "app"]);
        assert_eq!(
            branches["branches"],
            serde_json::json!(["feature", "main", "topic"])
        );
        s.aws_json(&[
            "codecommit",
            "update-default-branch",
            "--repository-name",
            "app",
            "--default-branch-name",
            "topic",
        ]);
        let deleted = s.aws_json(&[
            "codecommit",
            "delete-branch",
            "--repository-name",
            "app",
            "--branch-name",
            "feature",
        ]);
        assert_eq!(deleted["deletedBranch"]["commitId"], sha.as_str());

        // Everything is still there after a restart.
        s.restart();
        s.use_credential_helper();
        let md = s.aws_json(&["codecommit", "get-repository", "--repository-name", "app"]);
        assert_eq!(md["repositoryMetadata"]["defaultBranch"], "topic");
        let after = tmp.path().join("after-restart");
        let remote = format!("{}/v1/repos/app", s.url);
        s.git_ok(
            tmp.path(),
            &["clone", "-q", &remote, after.to_str().unwrap()],
        );
        assert_eq!(
            std::fs::read_to_string(after.join("b.txt")).unwrap(),
            "second\n"
        );
    }
}

#[test]
fn git_with_https_credentials_and_refusals() {
    for db in backends() {
        let s = Server::start(db);
        s.aws_json(&[
            "codecommit",
            "create-repository",
            "--repository-name",
            "shared",
        ]);
        s.admin(&["create-user", "alice"]);
        let creds = s.admin(&["create-git-credential", "alice"]);
        let user = creds
            .lines()
            .find_map(|l| l.strip_prefix("username = "))
            .unwrap()
            .to_owned();
        let pass = creds
            .lines()
            .find_map(|l| l.strip_prefix("password = "))
            .unwrap()
            .to_owned();
        assert_eq!(user, format!("alice-at-{}", s.account));

        let host = s.url.strip_prefix("http://").unwrap();
        let good = format!("http://{user}:{pass}@{host}/v1/repos/shared");
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("w");
        work_tree(&s, &work, "README.md", "# shared\n");
        s.git_ok(&work, &["push", "-q", &good, "main"]);
        let clone = tmp.path().join("c");
        s.git_ok(tmp.path(), &["clone", "-q", &good, clone.to_str().unwrap()]);
        assert!(clone.join("README.md").exists());

        // Wrong password, anonymous, unknown repository: refused, nothing changes.
        let bad = format!("http://{user}:wrong@{host}/v1/repos/shared");
        let out = s
            .git(tmp.path())
            .args(["ls-remote", &bad])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Authentication failed"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let anon = format!("{}/v1/repos/shared", s.url);
        let out = s
            .git(tmp.path())
            .args(["ls-remote", &anon])
            .output()
            .unwrap();
        assert!(!out.status.success(), "anonymous access must be refused");
        let missing = format!("http://{user}:{pass}@{host}/v1/repos/missing");
        let out = s
            .git(tmp.path())
            .args(["ls-remote", &missing])
            .output()
            .unwrap();
        assert!(!out.status.success());
    }
}

#[test]
fn concurrent_pushes_to_one_branch_have_one_winner() {
    for db in backends() {
        let s = Server::start(db);
        s.use_credential_helper();
        s.aws_json(&[
            "codecommit",
            "create-repository",
            "--repository-name",
            "race",
        ]);
        let remote = format!("{}/v1/repos/race", s.url);
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("base");
        work_tree(&s, &base, "f.txt", "base\n");
        s.git_ok(&base, &["push", "-q", &remote, "main"]);
        let dirs: Vec<_> = (0..8)
            .map(|i| {
                let d = tmp.path().join(format!("c{i}"));
                s.git_ok(tmp.path(), &["clone", "-q", &remote, d.to_str().unwrap()]);
                write(&d.join("f.txt"), &format!("change {i}\n"));
                s.git_ok(&d, &["commit", "-q", "-am", &format!("change {i}")]);
                d
            })
            .collect();
        let outcomes: Vec<bool> = std::thread::scope(|scope| {
            let handles: Vec<_> = dirs
                .iter()
                .map(|d| {
                    let mut cmd = s.git(d);
                    cmd.args(["push", "-q", &remote, "main"]);
                    scope.spawn(move || cmd.output().unwrap().status.success())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            outcomes.iter().filter(|ok| **ok).count(),
            1,
            "exactly one push wins: {outcomes:?}"
        );
        let winner = outcomes.iter().position(|ok| *ok).unwrap();
        let tip = s.git_ok(&dirs[winner], &["rev-parse", "HEAD"]);
        assert!(
            s.git_ok(&base, &["ls-remote", &remote, "refs/heads/main"])
                .starts_with(tip.trim())
        );
        fsck_all(&s);
    }
}

/// `git fsck` on every repository of the server's data dir.
pub fn fsck_all(s: &Server) {
    for entry in std::fs::read_dir(s.data_dir.join("git")).unwrap() {
        let path = entry.unwrap().path();
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(&path)
            .args(["fsck", "--strict"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "fsck {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn git_lfs_push_and_clone_round_trip() {
    for db in backends() {
        let s = Server::start(db);
        s.use_credential_helper();
        s.git_ok(s.home.path(), &["lfs", "install", "--skip-repo"]);
        s.aws_json(&[
            "codecommit",
            "create-repository",
            "--repository-name",
            "media",
        ]);
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("w");
        std::fs::create_dir_all(&work).unwrap();
        s.git_ok(&work, &["init", "-q", "-b", "main"]);
        s.git_ok(&work, &["lfs", "track", "*.bin"]);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let data: Vec<u8> = (0..3_000_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(work.join("big.bin"), &data).unwrap();
        s.git_ok(&work, &["add", ".gitattributes", "big.bin"]);
        s.git_ok(&work, &["commit", "-q", "-m", "large file"]);
        let remote = format!("{}/v1/repos/media", s.url);
        s.git_ok(&work, &["push", "-q", &remote, "main"]);

        // The repository holds a pointer; the content is in Ferry's blob store.
        let file = s.aws_json(&[
            "codecommit",
            "get-file",
            "--repository-name",
            "media",
            "--file-path",
            "big.bin",
        ]);
        let pointer =
            String::from_utf8(base64_decode(file["fileContent"].as_str().unwrap())).unwrap();
        assert!(
            pointer.starts_with("version https://git-lfs.github.com/spec/v1"),
            "{pointer}"
        );
        assert!(pointer.contains("size 3000000"));

        let clone = tmp.path().join("c");
        s.git_ok(
            tmp.path(),
            &["clone", "-q", &remote, clone.to_str().unwrap()],
        );
        assert_eq!(
            std::fs::read(clone.join("big.bin")).unwrap(),
            data,
            "LFS content round-trips"
        );
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let out = Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut child = out.unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    child.wait_with_output().unwrap().stdout
}

#[test]
fn git_over_ssh_push_and_clone() {
    for db in backends() {
        let s = Server::start(db);
        let key = s.home.path().join("id_ed25519");
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", ""])
            .arg("-f")
            .arg(&key)
            .output()
            .unwrap();
        assert!(out.status.success());
        s.admin(&["create-user", "dev"]);
        let key_id = s
            .admin(&[
                "add-ssh-key",
                "dev",
                key.with_extension("pub").to_str().unwrap(),
            ])
            .trim()
            .to_owned();
        assert!(key_id.starts_with("APKA") && key_id.len() == 20, "{key_id}");
        s.aws_json(&[
            "codecommit",
            "create-repository",
            "--repository-name",
            "viassh",
        ]);
        let (host, port) = s.ssh_addr.rsplit_once(':').unwrap();
        let ssh = |identity: &std::path::Path| {
            format!(
                "ssh -i {} -p {port} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
                identity.display()
            )
        };
        let remote = format!("ssh://{key_id}@{host}:{port}/v1/repos/viassh");
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("w");
        let sha = work_tree(&s, &work, "hello.txt", "over ssh\n");
        let out = s
            .git(&work)
            .env("GIT_SSH_COMMAND", ssh(&key))
            .args(["push", "-q", &remote, "main"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "push: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let md = s.aws_json(&[
            "codecommit",
            "get-repository",
            "--repository-name",
            "viassh",
        ]);
        assert_eq!(md["repositoryMetadata"]["defaultBranch"], "main");
        let clone = tmp.path().join("c");
        let out = s
            .git(tmp.path())
            .env("GIT_SSH_COMMAND", ssh(&key))
            .args(["clone", "-q", &remote, clone.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "clone: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(s.git_ok(&clone, &["rev-parse", "HEAD"]).trim(), sha);
        assert_eq!(
            std::fs::read_to_string(clone.join("hello.txt")).unwrap(),
            "over ssh\n"
        );

        // Another key, an unknown repository, a path outside the repositories: refused.
        let other = s.home.path().join("other");
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", ""])
            .arg("-f")
            .arg(&other)
            .output()
            .unwrap();
        let out = s
            .git(tmp.path())
            .env("GIT_SSH_COMMAND", ssh(&other))
            .args(["ls-remote", &remote])
            .output()
            .unwrap();
        assert!(!out.status.success(), "an unregistered key is refused");
        let missing = format!("ssh://{key_id}@{host}:{port}/v1/repos/missing");
        let out = s
            .git(tmp.path())
            .env("GIT_SSH_COMMAND", ssh(&key))
            .args(["ls-remote", &missing])
            .output()
            .unwrap();
        assert!(
            !out.status.success()
                && String::from_utf8_lossy(&out.stderr).contains("does not exist")
        );
        let outside = format!("ssh://{key_id}@{host}:{port}/etc/passwd");
        let out = s
            .git(tmp.path())
            .env("GIT_SSH_COMMAND", ssh(&key))
            .args(["ls-remote", &outside])
            .output()
            .unwrap();
        assert!(!out.status.success());
    }
}
