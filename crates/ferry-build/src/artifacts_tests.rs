use super::*;
use std::fs;

fn tree(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let p = dir.path().join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, f.as_bytes()).unwrap();
    }
    dir
}

fn paths(r: Result<Vec<Selected>, SelectError>) -> Vec<String> {
    r.unwrap().into_iter().map(|s| s.archive_path).collect()
}

fn sel(
    root: &Path,
    base: Option<&str>,
    files: &[&str],
    exclude: &[&str],
    discard: bool,
) -> Result<Vec<Selected>, SelectError> {
    let files: Vec<String> = files.iter().map(|s| (*s).to_owned()).collect();
    let exclude: Vec<String> = exclude.iter().map(|s| (*s).to_owned()).collect();
    select_files(root, base, &files, &exclude, discard)
}

const FILES: &[&str] = &[
    "README.md",
    "src/main.rs",
    "src/lib/a.rs",
    "dist/index.html",
    "dist/js/app.js",
    "dist/js/vendor/x.js",
    ".hidden/conf",
];

#[test]
fn all_files_recursively() {
    let d = tree(FILES);
    assert_eq!(
        paths(sel(d.path(), None, &["**/*"], &[], false)),
        [
            ".hidden/conf",
            "README.md",
            "dist/index.html",
            "dist/js/app.js",
            "dist/js/vendor/x.js",
            "src/lib/a.rs",
            "src/main.rs",
        ]
    );
}

#[test]
fn single_file_and_one_level() {
    let d = tree(FILES);
    assert_eq!(
        paths(sel(d.path(), None, &["README.md"], &[], false)),
        ["README.md"]
    );
    assert_eq!(
        paths(sel(d.path(), None, &["dist/*"], &[], false)),
        ["dist/index.html"]
    );
    assert_eq!(
        paths(sel(d.path(), None, &["dist/**/*"], &[], false)),
        ["dist/index.html", "dist/js/app.js", "dist/js/vendor/x.js"]
    );
    assert_eq!(
        paths(sel(
            d.path(),
            None,
            &["./src/main.rs", "src/*.rs"],
            &[],
            false
        )),
        ["src/main.rs"]
    );
}

#[test]
fn directory_match_contributes_its_files() {
    let d = tree(FILES);
    assert_eq!(
        paths(sel(d.path(), None, &["dist/js"], &[], false)),
        ["dist/js/app.js", "dist/js/vendor/x.js"]
    );
    assert_eq!(
        paths(sel(d.path(), None, &["src/"], &[], false)),
        ["src/lib/a.rs", "src/main.rs"]
    );
}

#[test]
fn base_directory_contents_form_root() {
    let d = tree(FILES);
    assert_eq!(
        paths(sel(d.path(), Some("dist"), &["**/*"], &[], false)),
        ["index.html", "js/app.js", "js/vendor/x.js"]
    );
    assert_eq!(
        paths(sel(d.path(), Some("./dist/"), &["js/*"], &[], false)),
        ["js/app.js"]
    );
}

#[test]
fn base_directory_glob_must_match_one_dir() {
    let d = tree(&["my-build-1/out.txt", "other/x"]);
    assert_eq!(
        paths(sel(d.path(), Some("my-build*"), &["**/*"], &[], false)),
        ["out.txt"]
    );
    let d = tree(&["my-build-1/out.txt", "my-build-2/out.txt"]);
    assert!(matches!(
        sel(d.path(), Some("my-build*"), &["**/*"], &[], false),
        Err(SelectError::AmbiguousBaseDirectory { count: 2, .. })
    ));
    assert!(matches!(
        sel(d.path(), Some("nothing*"), &["**/*"], &[], false),
        Err(SelectError::NoMatch)
    ));
    assert!(matches!(
        sel(d.path(), Some("missing"), &["**/*"], &[], false),
        Err(SelectError::NoMatch)
    ));
}

#[test]
fn exclude_paths() {
    let d = tree(FILES);
    assert_eq!(
        paths(sel(
            d.path(),
            Some("dist"),
            &["**/*"],
            &["js/vendor/**/*"],
            false
        )),
        ["index.html", "js/app.js"]
    );
    assert_eq!(
        paths(sel(
            d.path(),
            None,
            &["**/*"],
            &["dist", "src/**/*.rs", ".hidden/*"],
            false
        )),
        ["README.md"]
    );
    assert_eq!(
        paths(sel(d.path(), None, &["**/*"], &["**/*.js"], false)),
        [
            ".hidden/conf",
            "README.md",
            "dist/index.html",
            "src/lib/a.rs",
            "src/main.rs"
        ]
    );
}

#[test]
fn discard_paths_flattens_and_dedups() {
    let d = tree(&["a/x.txt", "b/x.txt", "b/y.txt"]);
    let got = sel(d.path(), None, &["**/*"], &[], true).unwrap();
    let names: Vec<&str> = got.iter().map(|s| s.archive_path.as_str()).collect();
    assert_eq!(names, ["x.txt", "y.txt"]);
    assert!(got[0].source.ends_with("a/x.txt"));
    assert!(got[0].source.is_absolute());
}

#[test]
fn duplicates_from_overlapping_globs() {
    let d = tree(FILES);
    assert_eq!(
        paths(sel(
            d.path(),
            None,
            &["README.md", "*.md", "**/*.md"],
            &[],
            false
        )),
        ["README.md"]
    );
}

#[test]
fn no_match_message() {
    let d = tree(FILES);
    let e = sel(d.path(), None, &["target/*.jar"], &[], false).unwrap_err();
    assert!(matches!(e, SelectError::NoMatch));
    assert_eq!(e.to_string(), "no matching artifact paths found");
    assert!(matches!(
        sel(d.path(), None, &[], &[], false),
        Err(SelectError::NoMatch)
    ));
}

#[test]
fn dotdot_and_absolute_refused() {
    let d = tree(&["inner/a.txt", "b.txt"]);
    let root = d.path().join("inner");
    for bad in [
        "../b.txt",
        "../**/*",
        "x/../../b.txt",
        "*/../../b",
        "/etc/passwd",
    ] {
        let e = sel(&root, None, &[bad], &[], false).unwrap_err();
        assert!(matches!(e, SelectError::Escape(_)), "{bad}: {e:?}");
    }
    for bad in ["..", "../inner", "/tmp"] {
        let e = sel(&root, Some(bad), &["**/*"], &[], false).unwrap_err();
        assert!(matches!(e, SelectError::Escape(_)), "{bad}: {e:?}");
    }
    // `..` that stays inside is fine.
    let d2 = tree(&["x/a.txt", "y/b.txt"]);
    assert_eq!(
        paths(sel(d2.path(), None, &["x/../y/b.txt"], &[], false)),
        ["y/b.txt"]
    );
}

#[cfg(unix)]
#[test]
fn symlinks_outside_root_refused() {
    use std::os::unix::fs::symlink;
    let outside = tree(&["secret.txt", "dir/s2.txt"]);
    let d = tree(&["app/ok.txt"]);
    symlink(
        outside.path().join("secret.txt"),
        d.path().join("app/leak.txt"),
    )
    .unwrap();
    let e = sel(d.path(), None, &["**/*"], &[], false).unwrap_err();
    assert!(
        matches!(e, SelectError::Escape(ref p) if p == "app/leak.txt"),
        "{e:?}"
    );
    // Not selected → not a problem.
    assert_eq!(
        paths(sel(d.path(), None, &["app/ok.txt"], &[], false)),
        ["app/ok.txt"]
    );
    // Excluded → not a problem.
    assert_eq!(
        paths(sel(d.path(), None, &["**/*"], &["app/leak.txt"], false)),
        ["app/ok.txt"]
    );

    // A symlinked directory pointing outside is refused when selected, never descended.
    let d = tree(&["ok.txt"]);
    symlink(outside.path().join("dir"), d.path().join("linkdir")).unwrap();
    assert!(matches!(
        sel(d.path(), None, &["**/*"], &[], false),
        Err(SelectError::Escape(_))
    ));
    // A relative link climbing out (even dangling) is refused.
    let d = tree(&["ok.txt"]);
    symlink("../../../../nowhere", d.path().join("dangling")).unwrap();
    assert!(matches!(
        sel(d.path(), None, &["**/*"], &[], false),
        Err(SelectError::Escape(_))
    ));
    // base-directory that is a symlink to outside.
    let d = tree(&["ok.txt"]);
    symlink(outside.path(), d.path().join("out")).unwrap();
    assert!(matches!(
        sel(d.path(), Some("out"), &["**/*"], &[], false),
        Err(SelectError::Escape(_))
    ));
}

#[cfg(unix)]
#[test]
fn symlinks_inside_root_allowed() {
    use std::os::unix::fs::symlink;
    let d = tree(&["real/a.txt"]);
    symlink("real/a.txt", d.path().join("alias.txt")).unwrap();
    symlink("real", d.path().join("realdir")).unwrap();
    symlink("missing", d.path().join("dangling")).unwrap();
    let got = sel(d.path(), None, &["**/*"], &[], false).unwrap();
    let names: Vec<&str> = got.iter().map(|s| s.archive_path.as_str()).collect();
    // realdir is listed as a link, not descended; dangling is skipped.
    assert_eq!(names, ["alias.txt", "real/a.txt", "realdir"]);
    assert!(got[0].source.ends_with("alias.txt"));
}

#[test]
fn too_many_files() {
    // Cheap check of the limit logic without creating 100k files.
    let mut found = Vec::new();
    let root = Path::new("/");
    let set = GlobSet::empty();
    let mut w = Walker {
        root,
        include: &set,
        include_dirs: &set,
        exclude: &set,
        exclude_dirs: &set,
        found: &mut found,
    };
    for i in 0..MAX_FILES {
        w.push(PathBuf::from(format!("/f{i}")), format!("f{i}"))
            .unwrap();
    }
    let e = w.push(PathBuf::from("/x"), "x".into()).unwrap_err();
    assert!(matches!(e, SelectError::TooMany(100_000)));
}

#[test]
fn select_uses_artifacts_spec() {
    let d = tree(FILES);
    let spec = Artifacts {
        files: vec!["**/*".into()],
        base_directory: Some("dist".into()),
        exclude_paths: vec!["**/vendor/**".into()],
        discard_paths: true,
        ..Artifacts::default()
    };
    assert_eq!(paths(select(d.path(), &spec)), ["app.js", "index.html"]);
}

#[test]
fn bad_pattern() {
    let d = tree(FILES);
    assert!(matches!(
        sel(d.path(), None, &["src/[a"], &[], false),
        Err(SelectError::BadPattern { .. })
    ));
}
