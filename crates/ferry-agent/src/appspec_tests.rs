use super::*;

fn ok(text: &str) -> AppSpec {
    parse(text, &[]).unwrap_or_else(|e| panic!("unexpected error: {e}"))
}

fn err(text: &str) -> AppSpecError {
    match parse(text, &[]) {
        Ok(spec) => panic!("expected an error, got {spec:?}"),
        Err(e) => e,
    }
}

const HEAD: &str = "version: 0.0\nos: linux\n";

#[test]
fn full_appspec() {
    let spec = ok(r#"
version: 0.0
os: linux
files:
  - source: /
    destination: /var/www/html
  - source: config/app.conf
    destination: /etc/app
file_exists_behavior: OVERWRITE
permissions:
  - object: /var/www/html
    pattern: "*.sh"
    except: [skip.sh]
    owner: www-data
    group: www-data
    mode: 755
    type:
      - file
hooks:
  BeforeInstall:
    - location: scripts/install_deps.sh
      timeout: 300
      runas: root
  ApplicationStart:
    - location: scripts/start.sh
      timeout: 120
    - location: scripts/warm.sh
      timeout: 60
      sudo: true
  ValidateService:
"#);
    assert_eq!(spec.version, "0.0");
    assert_eq!(spec.os, "linux");
    assert_eq!(
        spec.files,
        vec![
            FileMapping {
                source: "/".into(),
                destination: "/var/www/html".into()
            },
            FileMapping {
                source: "config/app.conf".into(),
                destination: "/etc/app".into()
            },
        ]
    );
    assert_eq!(
        spec.file_exists_behavior,
        Some(FileExistsBehavior::Overwrite)
    );
    assert_eq!(
        spec.permissions,
        vec![Permission {
            object: "/var/www/html".into(),
            pattern: "*.sh".into(),
            except: vec!["skip.sh".into()],
            owner: Some("www-data".into()),
            group: Some("www-data".into()),
            mode: Some(0o755),
            type_: vec![ObjectType::File],
            acls: vec![],
            context: None,
        }]
    );
    assert_eq!(
        spec.scripts("BeforeInstall"),
        [HookScript {
            location: "scripts/install_deps.sh".into(),
            timeout_secs: 300,
            runas: Some("root".into()),
            sudo: false,
        }]
    );
    let start = spec.scripts("ApplicationStart");
    assert_eq!(start.len(), 2);
    assert_eq!(start[0].timeout_secs, 120);
    assert_eq!(
        ok(&format!(
            "{HEAD}hooks:\n  AfterInstall:\n    - location: a.sh\n"
        ))
        .scripts("AfterInstall")[0]
            .timeout_secs,
        3600
    );
    assert!(start[1].sudo);
    assert!(spec.scripts("ValidateService").is_empty());
    assert!(!spec.hooks.contains_key("ValidateService"));
}

#[test]
fn minimal_appspec_has_defaults() {
    let spec = ok(HEAD);
    assert!(spec.files.is_empty() && spec.permissions.is_empty() && spec.hooks.is_empty());
    assert_eq!(spec.file_exists_behavior, None);
}

#[test]
fn version_as_float_or_string() {
    ok("version: 0.0\nos: linux\n");
    ok("version: \"0.0\"\nos: linux\n");
    ok("version: '0.0'\nos: linux\n");
    for bad in ["0.1", "1", "\"1.0\"", "0"] {
        let e = err(&format!("version: {bad}\nos: linux\n"));
        assert!(e.message.contains("version"), "{e}");
        assert_eq!((e.line, e.column), (Some(1), Some(10)), "{bad}: {e}");
    }
    let e = err("os: linux\n");
    assert!(e.message.contains("no version"), "{e}");
}

#[test]
fn os_must_be_linux() {
    let e = err("version: 0.0\nos: windows\n");
    assert!(e.message.contains("windows"), "{e}");
    assert_eq!(e.line, Some(2));
    assert!(err("version: 0.0\n").message.contains("no os"));
}

#[test]
fn json_is_yaml_too() {
    let spec = ok(
        r#"{"version": 0.0, "os": "linux", "hooks": {"AfterInstall": [{"location": "a.sh", "timeout": "30"}]}}"#,
    );
    assert_eq!(spec.scripts("AfterInstall")[0].timeout_secs, 30);
}

#[test]
fn syntax_errors_carry_position() {
    let e = err("version: 0.0\nos: linux\nhooks: [unclosed\n");
    assert!(
        e.message.starts_with("The appspec file cannot be parsed: "),
        "{e}"
    );
    assert!(e.line.is_some(), "{e:?}");
    let e = err("version: 0.0\nos: linux\nos: linux\n");
    assert!(e.line.is_some(), "duplicate key: {e:?}");
    assert_eq!(
        e.message,
        "The appspec file cannot be parsed: duplicate mapping key: os"
    );
    let e = err("- just\n- a list\n");
    assert!(e.message.contains("cannot be parsed"), "{e}");
    assert_eq!(err("").message, "The appspec file is empty");
    assert_eq!(
        err("# only a comment\n").message,
        "The appspec file is empty"
    );
}

#[test]
fn display_shows_line_and_column() {
    let e = err("version: 0.0\nos: linux\nhooks:\n  Restart:\n    - location: a.sh\n");
    assert_eq!(
        e.to_string(),
        "The appspec file names an unknown lifecycle event (Restart) under hooks (line 4, column 3)"
    );
}

#[test]
fn unknown_events_need_to_be_declared() {
    let text = format!("{HEAD}hooks:\n  Warmup:\n    - location: warm.sh\n");
    assert!(parse(&text, &[]).is_err());
    let spec = parse(&text, &["Warmup".to_owned()]).expect("custom event");
    assert_eq!(spec.scripts("Warmup")[0].location, "warm.sh");
    // Reserved events are not scriptable.
    assert!(
        err(&format!("{HEAD}hooks:\n  Install:\n    - location: x.sh\n"))
            .message
            .contains("Install")
    );
}

#[test]
fn every_script_needs_a_location() {
    let e = err(&format!(
        "{HEAD}hooks:\n  AfterInstall:\n    - timeout: 10\n"
    ));
    assert!(e.message.contains("no location"), "{e}");
    assert_eq!(e.line, Some(5));
    let e = err(&format!(
        "{HEAD}hooks:\n  AfterInstall:\n    - location: '  '\n"
    ));
    assert!(e.message.contains("no location"), "{e}");
    let spec = ok(&format!(
        "{HEAD}hooks:\n  AfterInstall:\n    - location: ' a.sh '\n"
    ));
    assert_eq!(spec.scripts("AfterInstall")[0].location, "a.sh");
}

#[test]
fn timeouts_are_positive_integers_within_the_event_cap() {
    for bad in ["0", "-5", "1.5", "soon", "true"] {
        let e = err(&format!(
            "{HEAD}hooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: {bad}\n"
        ));
        assert!(e.message.contains("Invalid timeout"), "{bad}: {e}");
        assert_eq!(e.line, Some(6), "{bad}");
    }
    let e = err(&format!(
        "{HEAD}hooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: 3000\n    - location: b.sh\n      timeout: 601\n"
    ));
    assert!(e.message.contains("total timeout of 3601"), "{e}");
    ok(&format!(
        "{HEAD}hooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: 3000\n    - location: b.sh\n      timeout: 600\n"
    ));
    // Two scripts without a timeout default to 3600 each.
    let e = err(&format!(
        "{HEAD}hooks:\n  AfterInstall:\n    - location: a.sh\n    - location: b.sh\n"
    ));
    assert!(e.message.contains("total timeout of 7200"), "{e}");
}

#[test]
fn sudo_must_be_boolean() {
    let e = err(&format!(
        "{HEAD}hooks:\n  AfterInstall:\n    - location: a.sh\n      sudo: please\n"
    ));
    assert!(e.message.contains("sudo"), "{e}");
}

#[test]
fn files_need_source_and_destination() {
    let e = err(&format!("{HEAD}files:\n  - source: /\n"));
    assert_eq!(e.message, "An entry of files has no destination");
    assert_eq!(e.line, Some(4));
    let e = err(&format!("{HEAD}files:\n  - destination: /opt/app\n"));
    assert_eq!(e.message, "An entry of files has no source");
    ok(&format!("{HEAD}files:\n"));
}

#[test]
fn file_exists_behavior_values() {
    for (text, want) in [
        ("DISALLOW", FileExistsBehavior::Disallow),
        ("OVERWRITE", FileExistsBehavior::Overwrite),
        ("RETAIN", FileExistsBehavior::Retain),
    ] {
        let spec = ok(&format!("{HEAD}file_exists_behavior: {text}\n"));
        assert_eq!(spec.file_exists_behavior, Some(want));
    }
    let e = err(&format!("{HEAD}file_exists_behavior: REPLACE\n"));
    assert!(e.message.contains("REPLACE"), "{e}");
    assert_eq!(e.line, Some(3));
}

fn mode_of(text: &str) -> Result<Option<u32>, AppSpecError> {
    parse(
        &format!("{HEAD}permissions:\n  - object: /opt/app\n    mode: {text}\n"),
        &[],
    )
    .map(|s| s.permissions[0].mode)
}

#[test]
fn modes_are_octal_as_written() {
    assert_eq!(mode_of("644").unwrap(), Some(0o644));
    assert_eq!(mode_of("\"0644\"").unwrap(), Some(0o644));
    assert_eq!(mode_of("'0755'").unwrap(), Some(0o755));
    assert_eq!(mode_of("0644").unwrap(), Some(0o644));
    assert_eq!(mode_of("4755").unwrap(), Some(0o4755));
    for bad in ["u+x", "\"rwxr-xr-x\"", "888", "17777", "6.5", "''"] {
        let e = mode_of(bad).expect_err(bad);
        assert!(e.message.contains("Invalid mode"), "{bad}: {e}");
        assert_eq!(e.line, Some(5), "{bad}");
    }
}

#[test]
fn permission_types_and_defaults() {
    let spec = ok(&format!(
        "{HEAD}permissions:\n  - object: /opt/app\n    type: [file, directory]\n    acls: ['u:bob:rw']\n    context:\n      type: httpd_sys_content_t\n"
    ));
    let p = &spec.permissions[0];
    assert_eq!(p.pattern, "**");
    assert_eq!(p.type_, vec![ObjectType::File, ObjectType::Directory]);
    assert_eq!(p.acls, vec!["u:bob:rw".to_owned()]);
    assert_eq!(
        p.context,
        Some(SeLinuxContext {
            user: None,
            type_: Some("httpd_sys_content_t".into()),
            range: None
        })
    );
    let e = err(&format!(
        "{HEAD}permissions:\n  - object: /opt/app\n    type: [socket]\n"
    ));
    assert!(e.message.contains("socket"), "{e}");
    let e = err(&format!("{HEAD}permissions:\n  - mode: 644\n"));
    assert_eq!(e.message, "An entry of permissions has no object");
}

#[test]
fn wrong_shapes_are_reported_with_position() {
    let e = err(&format!("{HEAD}files:\n  source: /\n"));
    assert!(e.line.is_some(), "{e:?}");
    let e = err(&format!(
        "{HEAD}hooks:\n  AfterInstall:\n    location: a.sh\n"
    ));
    assert!(e.line.is_some(), "{e:?}");
}
