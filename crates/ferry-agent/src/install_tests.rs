use super::*;
use crate::appspec::{FileMapping, ObjectType, Permission};
use std::fs;
use std::os::unix::fs::PermissionsExt;

/// `tmp/archive` is the unpacked bundle, `tmp/root` the only place installs may go,
/// `tmp/instructions/dg-cleanup` the cleanup file; `tmp/outside` lies beyond the allowed root.
struct Host {
    tmp: tempfile::TempDir,
}

impl Host {
    fn new() -> Self {
        let host = Self {
            tmp: tempfile::tempdir().unwrap(),
        };
        for dir in ["archive", "root", "outside"] {
            fs::create_dir(host.path(dir)).unwrap();
        }
        host
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }
    /// Write a bundle file (`archive/<rel>`).
    fn bundle(&self, rel: &str, contents: &str, mode: u32) {
        let path = self.path("archive").join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }
    fn dest(&self, rel: &str) -> String {
        self.path("root").join(rel).display().to_string()
    }
    fn request(&self, files: &[(&str, String)], behavior: FileExistsBehavior) -> InstallRequest {
        InstallRequest {
            archive_dir: self.path("archive"),
            appspec: AppSpec {
                version: "0.0".into(),
                os: "linux".into(),
                files: files
                    .iter()
                    .map(|(source, destination)| FileMapping {
                        source: (*source).into(),
                        destination: destination.clone(),
                    })
                    .collect(),
                file_exists_behavior: None,
                permissions: vec![],
                hooks: Default::default(),
            },
            file_exists_behavior: behavior,
            cleanup_file: self.path("instructions/dg-cleanup"),
            allowed_roots: vec![self.path("root")],
        }
    }
    fn cleanup_lines(&self) -> Vec<String> {
        fs::read_to_string(self.path("instructions/dg-cleanup"))
            .unwrap()
            .lines()
            .map(|l| {
                l.strip_prefix(self.tmp.path().to_str().unwrap())
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path).unwrap()
}

fn mode(path: impl AsRef<Path>) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn whole_bundle_into_a_new_directory() {
    let host = Host::new();
    host.bundle("appspec.yml", "version: 0.0", 0o644);
    host.bundle("bin/start.sh", "#!/bin/sh", 0o755);
    host.bundle("web/css/site.css", "body{}", 0o644);
    let request = host.request(
        &[("/", host.dest("app/current"))],
        FileExistsBehavior::Disallow,
    );
    let report = install_blocking(&request).unwrap();
    let app = host.path("root/app/current");
    assert_eq!(read(app.join("web/css/site.css")), "body{}");
    assert_eq!(mode(app.join("bin/start.sh")), 0o755);
    assert_eq!(report.created.len(), 8, "{:?}", report.created);
    // Deletion order: every file before the directory holding it, the parents last.
    assert_eq!(
        host.cleanup_lines(),
        [
            "/root/app/current/web/css/site.css",
            "/root/app/current/web/css",
            "/root/app/current/web",
            "/root/app/current/bin/start.sh",
            "/root/app/current/bin",
            "/root/app/current/appspec.yml",
            "/root/app/current",
            "/root/app",
            // `root` itself existed, so it is not listed.
        ]
    );
}

#[test]
fn file_and_directory_sources() {
    let host = Host::new();
    host.bundle("config/app.conf", "x=1", 0o600);
    host.bundle("config/extra/more.conf", "y=2", 0o644);
    let request = host.request(
        &[
            ("config/app.conf", host.dest("etc/app")),
            ("/config/extra", host.dest("etc/app/extra.d")),
        ],
        FileExistsBehavior::Disallow,
    );
    install_blocking(&request).unwrap();
    assert_eq!(read(host.path("root/etc/app/app.conf")), "x=1");
    assert_eq!(mode(host.path("root/etc/app/app.conf")), 0o600);
    // A directory's contents go into the destination, not the directory itself.
    assert_eq!(read(host.path("root/etc/app/extra.d/more.conf")), "y=2");
    assert!(!host.path("root/etc/app/extra.d/extra").exists());
}

#[test]
fn disallow_refuses_an_existing_file_before_copying_anything() {
    let host = Host::new();
    host.bundle("a.txt", "new a", 0o644);
    host.bundle("b.txt", "new b", 0o644);
    fs::create_dir(host.path("root/app")).unwrap();
    fs::write(host.path("root/app/b.txt"), "theirs").unwrap();
    let request = host.request(&[("/", host.dest("app"))], FileExistsBehavior::Disallow);
    let err = install_blocking(&request).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "The deployment failed because a specified file already exists at this location: {}",
            host.path("root/app/b.txt").display()
        )
    );
    assert!(!host.path("root/app/a.txt").exists());
    assert_eq!(read(host.path("root/app/b.txt")), "theirs");
}

#[test]
fn overwrite_replaces_and_retain_keeps() {
    let host = Host::new();
    host.bundle("a.txt", "new", 0o644);
    host.bundle("b.txt", "new", 0o644);
    fs::create_dir(host.path("root/app")).unwrap();
    fs::write(host.path("root/app/a.txt"), "old").unwrap();

    let request = host.request(&[("/", host.dest("app"))], FileExistsBehavior::Retain);
    let report = install_blocking(&request).unwrap();
    assert_eq!(read(host.path("root/app/a.txt")), "old");
    assert_eq!(read(host.path("root/app/b.txt")), "new");
    assert_eq!(report.retained, [host.path("root/app/a.txt")]);
    // A retained file is not ours: it is not in the cleanup list.
    assert_eq!(host.cleanup_lines(), ["/root/app/b.txt"]);

    let request = host.request(&[("/", host.dest("app"))], FileExistsBehavior::Overwrite);
    install_blocking(&request).unwrap();
    assert_eq!(read(host.path("root/app/a.txt")), "new");
}

#[test]
fn cleanup_removes_only_what_the_last_install_created() {
    let host = Host::new();
    host.bundle("keep.txt", "v1", 0o644);
    host.bundle("dropped/old.txt", "v1", 0o644);
    host.bundle("logs/.keep", "", 0o644);
    let first = host.request(&[("/", host.dest("app"))], FileExistsBehavior::Disallow);
    install_blocking(&first).unwrap();
    // Things the deployment did not install: a script's output in an installed directory, and
    // a file next to the installed ones.
    fs::write(host.path("root/app/logs/app.log"), "runtime").unwrap();
    fs::write(host.path("root/app/local.conf"), "mine").unwrap();

    // The second revision drops `dropped/` and changes keep.txt.
    fs::remove_dir_all(host.path("archive")).unwrap();
    fs::create_dir(host.path("archive")).unwrap();
    host.bundle("keep.txt", "v2", 0o644);
    let second = host.request(&[("/", host.dest("app"))], FileExistsBehavior::Disallow);
    let report = install_blocking(&second).unwrap();

    assert_eq!(read(host.path("root/app/keep.txt")), "v2");
    assert!(!host.path("root/app/dropped").exists());
    assert!(!host.path("root/app/logs/.keep").exists());
    assert_eq!(read(host.path("root/app/logs/app.log")), "runtime");
    assert_eq!(read(host.path("root/app/local.conf")), "mine");
    assert!(
        report
            .removed
            .contains(&host.path("root/app/dropped/old.txt"))
    );
    assert!(!report.removed.contains(&host.path("root/app/logs")));
    // `app` held foreign files, so it was not removed nor created again: not listed.
    assert_eq!(host.cleanup_lines(), ["/root/app/keep.txt"]);
}

#[test]
fn cleanup_never_touches_unlisted_paths() {
    let host = Host::new();
    fs::create_dir_all(host.path("instructions")).unwrap();
    fs::write(host.path("root/listed"), "x").unwrap();
    fs::write(host.path("root/unlisted"), "x").unwrap();
    fs::write(
        host.path("instructions/dg-cleanup"),
        format!(
            "{}\nrelative/path\n{}\n",
            host.path("root/listed").display(),
            host.path("root/missing").display()
        ),
    )
    .unwrap();
    let report = install_blocking(&host.request(&[], FileExistsBehavior::Disallow)).unwrap();
    assert_eq!(report.removed, [host.path("root/listed")]);
    assert!(host.path("root/unlisted").exists());
}

#[test]
fn destinations_outside_the_allowed_roots_are_refused() {
    let host = Host::new();
    host.bundle("a.txt", "x", 0o644);
    std::os::unix::fs::symlink(host.path("outside"), host.path("root/escape")).unwrap();
    let outside = host.path("outside").display().to_string();
    for destination in [
        outside.clone(),
        format!("{}/../outside", host.dest("")),
        host.dest("escape/sub"),
        "relative/dir".to_owned(),
    ] {
        let request = host.request(&[("/", destination.clone())], FileExistsBehavior::Overwrite);
        let err = install_blocking(&request).unwrap_err();
        assert!(
            matches!(err, InstallError::DestinationNotAllowed(_)),
            "{destination}: {err}"
        );
    }
    assert_eq!(fs::read_dir(host.path("outside")).unwrap().count(), 0);
}

#[test]
fn sources_must_be_inside_the_bundle() {
    let host = Host::new();
    fs::write(host.path("secret"), "s").unwrap();
    std::os::unix::fs::symlink(host.path("secret"), host.path("archive/link")).unwrap();
    for source in ["../secret", "link"] {
        let request = host.request(&[(source, host.dest("app"))], FileExistsBehavior::Overwrite);
        let err = install_blocking(&request).unwrap_err();
        assert!(
            matches!(err, InstallError::SourceOutsideBundle(_)),
            "{source}: {err}"
        );
    }
    let request = host.request(&[("nope", host.dest("app"))], FileExistsBehavior::Overwrite);
    let err = install_blocking(&request).unwrap_err();
    assert!(matches!(err, InstallError::SourceMissing(_)), "{err}");
    // A link below a source directory is checked too; one to a bundle file is copied as a file.
    host.bundle("tree/real.txt", "real", 0o644);
    std::os::unix::fs::symlink("real.txt", host.path("archive/tree/alias.txt")).unwrap();
    let request = host.request(&[("tree", host.dest("app"))], FileExistsBehavior::Overwrite);
    install_blocking(&request).unwrap();
    assert_eq!(read(host.path("root/app/alias.txt")), "real");
    assert!(
        !fs::symlink_metadata(host.path("root/app/alias.txt"))
            .unwrap()
            .is_symlink()
    );
    std::os::unix::fs::symlink(host.path("secret"), host.path("archive/tree/leak")).unwrap();
    let err = install_blocking(&request).unwrap_err();
    assert!(matches!(err, InstallError::SourceOutsideBundle(_)), "{err}");
}

#[test]
fn a_directory_where_a_file_goes_is_an_error() {
    let host = Host::new();
    host.bundle("a.txt", "x", 0o644);
    fs::create_dir_all(host.path("root/app/a.txt")).unwrap();
    let request = host.request(&[("/", host.dest("app"))], FileExistsBehavior::Overwrite);
    assert!(matches!(
        install_blocking(&request).unwrap_err(),
        InstallError::NotAFile(_)
    ));
    let request = host.request(
        &[("/", host.dest("app/a.txt/x"))],
        FileExistsBehavior::Overwrite,
    );
    install_blocking(&request).unwrap();
    fs::write(host.path("root/file"), "x").unwrap();
    let request = host.request(&[("/", host.dest("file"))], FileExistsBehavior::Overwrite);
    assert!(matches!(
        install_blocking(&request).unwrap_err(),
        InstallError::NotADirectory(_)
    ));
}

fn rule(object: &Path) -> Permission {
    Permission {
        object: object.display().to_string(),
        pattern: "**".into(),
        except: vec![],
        owner: None,
        group: None,
        mode: None,
        type_: vec![],
        acls: vec![],
        context: None,
    }
}

#[test]
fn permissions_select_by_type_pattern_and_except() {
    let host = Host::new();
    host.bundle("bin/run.sh", "", 0o644);
    host.bundle("bin/skip.sh", "", 0o644);
    host.bundle("bin/readme.txt", "", 0o644);
    host.bundle("data/x", "", 0o644);
    let app = host.path("root/app");
    let mut request = host.request(&[("/", host.dest("app"))], FileExistsBehavior::Disallow);
    request.appspec.permissions = vec![
        Permission {
            pattern: "*.sh".into(),
            except: vec!["skip.sh".into()],
            mode: Some(0o750),
            type_: vec![ObjectType::File],
            ..rule(&app)
        },
        Permission {
            mode: Some(0o700),
            type_: vec![ObjectType::Directory],
            ..rule(&app)
        },
        Permission {
            mode: Some(0o600),
            type_: vec![ObjectType::File],
            ..rule(&app.join("data/x"))
        },
        // A file object and a rule for directories only: nothing happens.
        Permission {
            mode: Some(0o777),
            type_: vec![ObjectType::Directory],
            ..rule(&app.join("bin/readme.txt"))
        },
    ];
    install_blocking(&request).unwrap();
    assert_eq!(mode(app.join("bin/run.sh")), 0o750);
    assert_eq!(mode(app.join("bin/skip.sh")), 0o644);
    assert_eq!(mode(app.join("bin/readme.txt")), 0o644);
    assert_eq!(mode(app.join("bin")), 0o700);
    assert_eq!(mode(app.join("data")), 0o700);
    assert_eq!(mode(app.join("data/x")), 0o600);
    // The object itself is not changed by a directory rule.
    assert_ne!(mode(&app), 0o700);
}

#[test]
fn permissions_set_owner_and_group_by_name() {
    let host = Host::new();
    host.bundle("a.txt", "", 0o644);
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap();
    let my_group = nix::unistd::Group::from_gid(nix::unistd::getgid())
        .unwrap()
        .unwrap();
    let app = host.path("root/app");
    let mut request = host.request(&[("/", host.dest("app"))], FileExistsBehavior::Disallow);
    request.appspec.permissions = vec![Permission {
        owner: Some(me.name.clone()),
        group: Some(my_group.name.clone()),
        ..rule(&app)
    }];
    install_blocking(&request).unwrap();
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(app.join("a.txt")).unwrap();
    assert_eq!(meta.uid(), me.uid.as_raw());
    assert_eq!(meta.gid(), my_group.gid.as_raw());

    request.appspec.permissions[0].owner = Some("no-such-user-ferry".into());
    assert!(matches!(
        install_blocking(&request).unwrap_err(),
        InstallError::UnknownUser(_)
    ));
}

#[test]
fn unsupported_permissions_fail_before_any_change() {
    let host = Host::new();
    host.bundle("a.txt", "", 0o644);
    let app = host.path("root/app");
    let mut request = host.request(&[("/", host.dest("app"))], FileExistsBehavior::Disallow);
    request.appspec.permissions = vec![Permission {
        acls: vec!["u:bob:rw".into()],
        ..rule(&app)
    }];
    let err = install_blocking(&request).unwrap_err();
    assert!(
        matches!(
            err,
            InstallError::UnsupportedPermission { what: "acls", .. }
        ),
        "{err}"
    );
    assert!(!app.exists());
    request.appspec.permissions[0].acls.clear();
    request.appspec.permissions[0].context = Some(crate::appspec::SeLinuxContext {
        user: None,
        type_: Some("httpd_sys_content_t".into()),
        range: None,
    });
    assert!(matches!(
        install_blocking(&request).unwrap_err(),
        InstallError::UnsupportedPermission { .. }
    ));
    // An object that is neither an installed file nor a directory.
    request.appspec.permissions[0].context = None;
    request.appspec.permissions[0].object = host.dest("app/nothing");
    assert!(matches!(
        install_blocking(&request).unwrap_err(),
        InstallError::PermissionObjectNotInstalled(_)
    ));
}

#[tokio::test]
async fn async_install_runs_on_the_blocking_pool() {
    let host = Host::new();
    host.bundle("a.txt", "x", 0o644);
    let report = install(host.request(&[("/", host.dest("app"))], FileExistsBehavior::Disallow))
        .await
        .unwrap();
    assert_eq!(report.created.len(), 2);
}
