use super::*;

fn ok(text: &str) -> Buildspec {
    match parse(text) {
        Ok(b) => b,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn err(text: &str) -> BuildspecError {
    match parse(text) {
        Ok(b) => panic!("expected an error, got {b:?}"),
        Err(e) => e,
    }
}

fn build(b: &Buildspec) -> &Phase {
    b.phases.build.as_ref().expect("build phase")
}

// ---- version --------------------------------------------------------------------------------

#[test]
fn version_float_string_and_legacy() {
    assert_eq!(
        ok("version: 0.2\nphases: {build: {commands: [x]}}\n").version,
        "0.2"
    );
    assert_eq!(
        ok("version: \"0.2\"\nphases: {build: {commands: [x]}}\n").version,
        "0.2"
    );
    assert_eq!(
        ok("version: '0.1'\nphases: {build: {commands: [x]}}\n").version,
        "0.1"
    );
    assert_eq!(
        ok("version: 0.1\nphases: {build: {commands: [x]}}\n").version,
        "0.1"
    );
}

#[test]
fn version_invalid_or_missing() {
    let e = err("version: 0.3\nphases:\n  build:\n    commands: [x]\n");
    assert_eq!(e.line, Some(1));
    assert!(
        e.message.starts_with("invalid buildspec version \"0.3\""),
        "{e}"
    );
    assert_eq!(e.status_code(), "YAML_FILE_ERROR");
    // 0.20 is a different spelling, not 0.2.
    assert!(parse("version: 0.20\nphases: {build: {commands: [x]}}\n").is_err());
    let e = err("phases:\n  build:\n    commands: [x]\n");
    assert_eq!(e.message, "wrong number of container tags, expected 1");
}

// ---- top level --------------------------------------------------------------------------------

#[test]
fn phases_required() {
    let e = err("version: 0.2\nenv:\n  variables:\n    A: b\n");
    assert!(e.message.contains("phases"), "{e}");
    assert!(parse("version: 0.2\nphases:\n").is_err());
}

#[test]
fn only_four_phase_names() {
    let e = err("version: 0.2\nphases:\n  deploy:\n    commands:\n      - x\n");
    assert_eq!(e.line, Some(3));
    assert!(e.message.contains("\"deploy\""), "{e}");
    assert!(e.message.ends_with("at line 3"), "{e}");
    let b = ok(
        "version: 0.2\nphases:\n  install: {commands: [i]}\n  pre_build: {commands: [p]}\n  build: {commands: [b]}\n  post_build: {commands: [q]}\n",
    );
    assert_eq!(b.phases.install.unwrap().commands, ["i"]);
    assert_eq!(b.phases.pre_build.unwrap().commands, ["p"]);
    assert_eq!(b.phases.build.unwrap().commands, ["b"]);
    assert_eq!(b.phases.post_build.unwrap().commands, ["q"]);
}

#[test]
fn unknown_top_level_keys_warn() {
    let b =
        ok("version: 0.2\nfoo: bar\nproxy:\n  logs: yes\nphases:\n  build:\n    commands: [x]\n");
    assert_eq!(b.warnings.len(), 1, "{:?}", b.warnings);
    assert!(b.warnings[0].contains("\"foo\""));
    assert!(b.warnings[0].contains("line 2"));
}

#[test]
fn not_a_mapping_or_empty() {
    let e = err("- a\n- b\n");
    assert!(
        e.message
            .starts_with("Expected Buildspec to be of map type: found list instead")
    );
    assert!(parse("").is_err());
    assert!(parse("# only a comment\n").is_err());
}

// ---- YAML syntax ------------------------------------------------------------------------------

#[test]
fn syntax_error_mapping_values() {
    let e = err("version: 0.2\nphases:\n  build:\n    commands: echo a: b\n");
    assert_eq!(e.line, Some(4));
    assert_eq!(
        e.message,
        "mapping values are not allowed in this context at line 4"
    );
}

#[test]
fn syntax_error_tab_indentation() {
    let e = err("version: 0.2\nphases:\n\tbuild:\n    commands: [x]\n");
    assert_eq!(e.line, Some(3));
    assert_eq!(
        e.message,
        "found character that cannot start any token at line 3"
    );
}

#[test]
fn duplicate_keys_rejected() {
    let e =
        err("version: 0.2\nphases:\n  build:\n    commands: [a]\n  build:\n    commands: [b]\n");
    assert_eq!(e.line, Some(5));
    assert!(e.message.contains("already defined"), "{e}");
}

// ---- commands -------------------------------------------------------------------------------

#[test]
fn unquoted_colon_space_is_the_aws_error() {
    // The exact document from the public report of this error.
    let text = "version: 0.2\n\nphases:\n  build:\n    commands:\n     - echo \"Hello: world\"\n";
    let e = err(text);
    assert_eq!(
        e.to_string(),
        "Expected Commands[0] to be of string type: found subkeys instead at line 6, value of the key tag on line 5 might be empty"
    );
    assert_eq!(e.line, Some(6));
    // Quoted, it is one command.
    let b = ok("version: 0.2\nphases:\n  build:\n    commands:\n      - \"echo Hello: world\"\n");
    assert_eq!(build(&b).commands, ["echo Hello: world"]);
}

#[test]
fn nested_list_in_commands() {
    let e = err("version: 0.2\nphases:\n  build:\n    commands:\n      - a\n      - - b\n");
    assert_eq!(
        e.message,
        "Expected Commands[1] to be of string type: found list instead at line 6"
    );
}

#[test]
fn finally_entries_checked_too() {
    let e = err(
        "version: 0.2\nphases:\n  build:\n    commands: [a]\n    finally:\n      - echo x: y\n",
    );
    assert!(
        e.message
            .starts_with("Expected Finally[0] to be of string type: found subkeys")
    );
}

#[test]
fn commands_single_string_and_block() {
    let b = ok("version: 0.2\nphases:\n  build:\n    commands: npm ci && npm test\n");
    assert_eq!(build(&b).commands, ["npm ci && npm test"]);
    let b = ok(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - |\n        set -e\n        if [ -f x ]; then\n          echo yes\n        fi\n      - echo next\n",
    );
    assert_eq!(
        build(&b).commands,
        ["set -e\nif [ -f x ]; then\n  echo yes\nfi\n", "echo next"]
    );
    // Folded block scalar is one command too.
    let b = ok(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - >-\n        docker build\n        -t img .\n",
    );
    assert_eq!(build(&b).commands, ["docker build -t img ."]);
}

#[test]
fn numeric_and_bool_looking_commands_keep_text() {
    let b = ok(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - true\n      - 1.50\n      - yes\n",
    );
    assert_eq!(build(&b).commands, ["true", "1.50", "yes"]);
}

#[test]
fn commands_as_map_is_error() {
    let e = err("version: 0.2\nphases:\n  build:\n    commands:\n      a: b\n");
    assert!(
        e.message
            .starts_with("Expected Commands to be of list type: found subkeys instead"),
        "{e}"
    );
}

#[test]
fn empty_phase_is_allowed() {
    let b = ok("version: 0.2\nphases:\n  build:\n  post_build:\n    commands: [x]\n");
    assert_eq!(b.phases.build, Some(Phase::default()));
}

// ---- env ------------------------------------------------------------------------------------

#[test]
fn env_values_verbatim() {
    let b = ok(concat!(
        "version: 0.2\n",
        "env:\n",
        "  shell: bash\n",
        "  variables:\n",
        "    VERSION: 1.0\n",
        "    MODE: 010\n",
        "    FLAG: yes\n",
        "    N: no\n",
        "    BIG: 12345678901234567890123\n",
        "    PATH: \"$PATH:/x\"\n",
        "    EMPTY:\n",
        "    HEX: 0x1F\n",
        "    SCI: 1e3\n",
        "    NUL: ~\n",
        "phases:\n  build:\n    commands: [x]\n",
    ));
    assert_eq!(b.env.shell.as_deref(), Some("bash"));
    let vars: Vec<(&str, &str)> = b
        .env
        .variables
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        vars,
        [
            ("VERSION", "1.0"),
            ("MODE", "010"),
            ("FLAG", "yes"),
            ("N", "no"),
            ("BIG", "12345678901234567890123"),
            ("PATH", "$PATH:/x"),
            ("EMPTY", ""),
            ("HEX", "0x1F"),
            ("SCI", "1e3"),
            ("NUL", ""),
        ]
    );
}

#[test]
fn env_variable_list_or_map_is_error() {
    let e = err(
        "version: 0.2\nenv:\n  variables:\n    A:\n      - x\nphases:\n  build:\n    commands: [x]\n",
    );
    assert_eq!(
        e.message,
        "Expected Variables[A] to be of string type: found list instead at line 5"
    );
    let e = err(
        "version: 0.2\nenv:\n  variables:\n    A:\n      b: c\nphases:\n  build:\n    commands: [x]\n",
    );
    assert!(
        e.message
            .starts_with("Expected Variables[A] to be of string type: found subkeys")
    );
    let e =
        err("version: 0.2\nenv:\n  variables:\n    - A=b\nphases:\n  build:\n    commands: [x]\n");
    assert!(
        e.message
            .starts_with("Expected Variables to be of map type: found list")
    );
}

#[test]
fn yaml11_booleans() {
    for (text, want) in [
        ("yes", true),
        ("Yes", true),
        ("on", true),
        ("true", true),
        ("TRUE", true),
        ("no", false),
        ("off", false),
        ("false", false),
        ("\"yes\"", true),
    ] {
        let doc = format!(
            "version: 0.2\nenv:\n  git-credential-helper: {text}\nphases:\n  build:\n    commands: [x]\nartifacts:\n  files: ['**/*']\n  discard-paths: {text}\n  enable-symlinks: {text}\nreports:\n  r:\n    files: [a]\n    discard-paths: {text}\n"
        );
        let b = ok(&doc);
        assert_eq!(b.env.git_credential_helper, want, "{text}");
        let a = b.artifacts.unwrap();
        assert_eq!(a.discard_paths, want, "{text}");
        assert_eq!(a.enable_symlinks, want, "{text}");
        assert_eq!(b.reports[0].1.discard_paths, want, "{text}");
    }
    let e = err(
        "version: 0.2\nenv:\n  git-credential-helper: maybe\nphases:\n  build:\n    commands: [x]\n",
    );
    assert_eq!(e.line, Some(3));
}

#[test]
fn secrets_manager_references() {
    let b = ok(concat!(
        "version: 0.2\n",
        "env:\n",
        "  secrets-manager:\n",
        "    A: prod/db\n",
        "    B: prod/db:password\n",
        "    C: prod/db:password:AWSPREVIOUS\n",
        "    D: prod/db::AWSCURRENT:abc-123\n",
        "    E: arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf\n",
        "    F: arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf:username\n",
        "    G: arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf:::v-1\n",
        "  parameter-store:\n",
        "    TOKEN: /ci/token\n",
        "phases:\n  build:\n    commands: [x]\n",
    ));
    let get = |name: &str| {
        b.env
            .secrets_manager
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone())
            .unwrap()
    };
    let s = |id: &str, k: Option<&str>, st: Option<&str>, v: Option<&str>| SecretRef {
        secret_id: id.into(),
        json_key: k.map(Into::into),
        version_stage: st.map(Into::into),
        version_id: v.map(Into::into),
    };
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";
    assert_eq!(get("A"), s("prod/db", None, None, None));
    assert_eq!(get("B"), s("prod/db", Some("password"), None, None));
    assert_eq!(
        get("C"),
        s("prod/db", Some("password"), Some("AWSPREVIOUS"), None)
    );
    assert_eq!(
        get("D"),
        s("prod/db", None, Some("AWSCURRENT"), Some("abc-123"))
    );
    assert_eq!(get("E"), s(arn, None, None, None));
    assert_eq!(get("F"), s(arn, Some("username"), None, None));
    assert_eq!(get("G"), s(arn, None, None, Some("v-1")));
    assert_eq!(
        b.env.parameter_store,
        [("TOKEN".to_owned(), "/ci/token".to_owned())]
    );

    assert!(parse_secret_ref("a:b:c:d:e").is_none());
    assert!(parse_secret_ref("arn:aws:secretsmanager:us-east-1").is_none());
    assert!(parse_secret_ref(":key").is_none());
}

#[test]
fn exported_variables_list_or_string() {
    let b = ok(
        "version: 0.2\nenv:\n  exported-variables:\n    - IMAGE_TAG\n    - COMMIT\nphases:\n  build:\n    commands: [x]\n",
    );
    assert_eq!(b.env.exported_variables, ["IMAGE_TAG", "COMMIT"]);
    let b = ok(
        "version: 0.2\nenv:\n  exported-variables: IMAGE_TAG\nphases:\n  build:\n    commands: [x]\n",
    );
    assert_eq!(b.env.exported_variables, ["IMAGE_TAG"]);
}

#[test]
fn legacy_01_environment_variables() {
    let b = ok(
        "version: 0.1\nenvironment_variables:\n  plaintext:\n    JAVA_HOME: /usr/lib/jvm\nphases:\n  build:\n    commands:\n      - mvn install\n",
    );
    assert_eq!(
        b.env.variables,
        [("JAVA_HOME".to_owned(), "/usr/lib/jvm".to_owned())]
    );
}

// ---- phases ---------------------------------------------------------------------------------

#[test]
fn runtime_versions_keep_text() {
    let b = ok(
        "version: 0.2\nphases:\n  install:\n    runtime-versions:\n      python: 3.10\n      nodejs: 20\n      java: corretto17\n      ruby: \"$RUBY\"\n      golang: 1.20\n",
    );
    let rv = b.phases.install.unwrap().runtime_versions;
    assert_eq!(
        rv,
        [
            ("python".to_owned(), "3.10".to_owned()),
            ("nodejs".to_owned(), "20".to_owned()),
            ("java".to_owned(), "corretto17".to_owned()),
            ("ruby".to_owned(), "$RUBY".to_owned()),
            ("golang".to_owned(), "1.20".to_owned()),
        ]
    );
}

#[test]
fn runtime_versions_as_list_is_the_aws_error() {
    let e = err("version: 0.2\nphases:\n  install:\n    runtime-versions:\n      - python: 3.9\n");
    assert_eq!(
        e.message,
        "Expected RuntimeVersions to be of map type: found list instead at line 5"
    );
}

#[test]
fn runtime_versions_outside_install_warns() {
    let b = ok(
        "version: 0.2\nphases:\n  build:\n    runtime-versions:\n      python: 3.12\n    commands: [x]\n",
    );
    assert_eq!(b.warnings.len(), 1);
    assert_eq!(build(&b).runtime_versions.len(), 1);
}

#[test]
fn on_failure_forms() {
    let cases = [
        ("ABORT", OnFailure::Abort),
        ("CONTINUE", OnFailure::Continue),
        ("continue", OnFailure::Continue),
        (
            "RETRY",
            OnFailure::Retry {
                count: 3,
                pattern: None,
            },
        ),
        (
            "RETRY-0",
            OnFailure::Retry {
                count: 0,
                pattern: None,
            },
        ),
        (
            "RETRY-100",
            OnFailure::Retry {
                count: 100,
                pattern: None,
            },
        ),
        (
            "RETRY-Connection timed out",
            OnFailure::Retry {
                count: 3,
                pattern: Some("Connection timed out".into()),
            },
        ),
        (
            "RETRY-5-^npm ERR!",
            OnFailure::Retry {
                count: 5,
                pattern: Some("^npm ERR!".into()),
            },
        ),
        (
            "RETRY-2-5\\d\\d",
            OnFailure::Retry {
                count: 2,
                pattern: Some("5\\d\\d".into()),
            },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse_on_failure(text), Ok(want), "{text}");
    }
    for bad in ["RETRY-101", "RETRY-", "RETRY-3-", "RETRY-(", "IGNORE", ""] {
        assert!(parse_on_failure(bad).is_err(), "{bad}");
    }
    let b = ok("version: 0.2\nphases:\n  build:\n    on-failure: CONTINUE\n    commands: [x]\n");
    assert_eq!(build(&b).on_failure, OnFailure::Continue);
    let b = ok("version: 0.2\nphases:\n  build:\n    commands: [x]\n");
    assert_eq!(build(&b).on_failure, OnFailure::Abort);
    let e = err("version: 0.2\nphases:\n  build:\n    on-failure: SKIP\n    commands: [x]\n");
    assert_eq!(e.line, Some(4));
}

#[test]
fn run_as_top_and_phase() {
    let b = ok(
        "version: 0.2\nrun-as: builder\nphases:\n  build:\n    run-as: root\n    commands: [x]\n",
    );
    assert_eq!(b.run_as.as_deref(), Some("builder"));
    assert_eq!(build(&b).run_as.as_deref(), Some("root"));
}

// ---- artifacts, reports, cache, batch --------------------------------------------------------

#[test]
fn artifacts_require_files() {
    let e = err("version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n  name: out\n");
    assert!(e.message.contains("files is required"), "{e}");
}

#[test]
fn report_file_formats() {
    let b = ok(
        "version: 0.2\nphases:\n  build:\n    commands: [x]\nreports:\n  a:\n    files: ['**/*.xml']\n  b:\n    files: [cov.xml]\n    file-format: coberturaxml\n",
    );
    assert_eq!(b.reports[0].1.file_format, "JUNITXML");
    assert_eq!(b.reports[1].1.file_format, "COBERTURAXML");
    for f in REPORT_FILE_FORMATS {
        let doc = format!(
            "version: 0.2\nphases:\n  build:\n    commands: [x]\nreports:\n  a:\n    files: [x]\n    file-format: {f}\n"
        );
        assert_eq!(ok(&doc).reports[0].1.file_format, f);
    }
    let e = err(
        "version: 0.2\nphases:\n  build:\n    commands: [x]\nreports:\n  a:\n    files: [x]\n    file-format: SIMPLECOVJSON\n",
    );
    assert_eq!(e.line, Some(8));
}

#[test]
fn cache_action_and_keys() {
    let b = ok(
        "version: 0.2\nphases:\n  build:\n    commands: [x]\ncache:\n  key: npm-$(codebuild-hash-files package-lock.json)\n  fallback-keys:\n    - npm-\n  action: restore\n  paths:\n    - node_modules/**/*\n",
    );
    let c = b.cache.unwrap();
    assert_eq!(
        c.key.as_deref(),
        Some("npm-$(codebuild-hash-files package-lock.json)")
    );
    assert_eq!(c.fallback_keys, ["npm-"]);
    assert_eq!(c.action.as_deref(), Some("restore"));
    assert_eq!(c.paths, ["node_modules/**/*"]);
    assert!(
        parse("version: 0.2\nphases:\n  build:\n    commands: [x]\ncache:\n  action: both\n")
            .is_err()
    );
}

#[test]
fn batch_kept_raw() {
    let b = ok(
        "version: 0.2\nbatch:\n  fast-fail: false\n  build-list:\n    - identifier: linux\n      env:\n        variables:\n          PY: 3.10\n          N: 2\nphases:\n  build:\n    commands: [x]\n",
    );
    let batch = b.batch.unwrap();
    assert_eq!(batch["fast-fail"], serde_json::json!(false));
    assert_eq!(batch["build-list"][0]["identifier"], "linux");
    assert_eq!(batch["build-list"][0]["env"]["variables"]["PY"], "3.10");
    assert_eq!(batch["build-list"][0]["env"]["variables"]["N"], 2);
}

#[test]
fn anchors_and_aliases_keep_text() {
    let b = ok(
        "version: 0.2\nenv:\n  variables:\n    A: &v 3.10\n    B: *v\nphases:\n  build:\n    commands: [x]\n",
    );
    assert_eq!(b.env.variables[1], ("B".to_owned(), "3.10".to_owned()));
}

// ---- real-world buildspecs ------------------------------------------------------------------

#[test]
fn real_world_node_npm() {
    let b = ok(r#"version: 0.2

phases:
  install:
    runtime-versions:
      nodejs: 18
    commands:
      - npm ci
  build:
    commands:
      - npm run build
      - npm test -- --ci
artifacts:
  base-directory: dist
  files:
    - '**/*'
  name: web-$(date +%Y-%m-%d)
cache:
  paths:
    - 'node_modules/**/*'
"#);
    assert_eq!(
        b.phases.install.as_ref().unwrap().runtime_versions[0].1,
        "18"
    );
    let a = b.artifacts.unwrap();
    assert_eq!(a.base_directory.as_deref(), Some("dist"));
    assert_eq!(a.files, ["**/*"]);
    assert_eq!(a.name.as_deref(), Some("web-$(date +%Y-%m-%d)"));
    assert!(b.warnings.is_empty());
}

#[test]
fn real_world_python_pytest_reports() {
    let b = ok(r#"version: 0.2
phases:
  install:
    runtime-versions:
      python: 3.10
    commands:
      - pip install -r requirements.txt
  build:
    commands:
      - python -m pytest --junitxml=reports/junit.xml --cov=app --cov-report=xml:reports/coverage.xml
reports:
  pytest_reports:
    files:
      - junit.xml
    base-directory: reports
    file-format: JUNITXML
  coverage:
    files: coverage.xml
    base-directory: reports
    file-format: COBERTURAXML
"#);
    assert_eq!(b.phases.install.unwrap().runtime_versions[0].1, "3.10");
    assert_eq!(b.reports.len(), 2);
    assert_eq!(b.reports[0].0, "pytest_reports");
    assert_eq!(b.reports[1].1.files, ["coverage.xml"]);
    assert_eq!(b.reports[1].1.base_directory.as_deref(), Some("reports"));
}

#[test]
fn real_world_maven_with_cache() {
    let b = ok(r#"version: 0.2
phases:
  install:
    runtime-versions:
      java: corretto17
  pre_build:
    commands:
      - echo Nothing to do in the pre_build phase...
  build:
    commands:
      - echo Build started on `date`
      - mvn install
  post_build:
    commands:
      - echo Build completed on `date`
artifacts:
  files:
    - target/messageUtil-1.0.jar
  discard-paths: yes
cache:
  paths:
    - '/root/.m2/**/*'
"#);
    assert!(b.artifacts.as_ref().unwrap().discard_paths);
    assert_eq!(b.cache.unwrap().paths, ["/root/.m2/**/*"]);
    assert_eq!(
        b.phases.build.unwrap().commands[0],
        "echo Build started on `date`"
    );
}

#[test]
fn real_world_docker_ecr_secrets_exported() {
    let b = ok(r#"version: 0.2
env:
  shell: bash
  variables:
    IMAGE_REPO_NAME: "my-app"
  parameter-store:
    DOCKERHUB_USER: /ci/dockerhub/user
  secrets-manager:
    DOCKERHUB_PASS: arn:aws:secretsmanager:eu-west-1:123456789012:secret:dockerhub-Xy12Ab:password
  exported-variables:
    - IMAGE_TAG
  git-credential-helper: yes
phases:
  pre_build:
    commands:
      - aws ecr get-login-password --region $AWS_DEFAULT_REGION | docker login --username AWS --password-stdin $ACCOUNT.dkr.ecr.$AWS_DEFAULT_REGION.amazonaws.com
      - IMAGE_TAG=$(echo $CODEBUILD_RESOLVED_SOURCE_VERSION | cut -c 1-7)
  build:
    on-failure: CONTINUE
    commands:
      - docker build -t $IMAGE_REPO_NAME:$IMAGE_TAG .
    finally:
      - echo "build finished"
  post_build:
    commands:
      - docker push $IMAGE_REPO_NAME:$IMAGE_TAG
      - printf '[{"name":"app","imageUri":"%s"}]' $IMAGE_REPO_NAME:$IMAGE_TAG > imagedefinitions.json
artifacts:
  files: imagedefinitions.json
"#);
    assert_eq!(b.env.exported_variables, ["IMAGE_TAG"]);
    assert!(b.env.git_credential_helper);
    let (_, s) = &b.env.secrets_manager[0];
    assert_eq!(
        s.secret_id,
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dockerhub-Xy12Ab"
    );
    assert_eq!(s.json_key.as_deref(), Some("password"));
    let build = b.phases.build.unwrap();
    assert_eq!(build.on_failure, OnFailure::Continue);
    assert_eq!(build.finally, ["echo \"build finished\""]);
    assert_eq!(b.artifacts.unwrap().files, ["imagedefinitions.json"]);
}

#[test]
fn real_world_secondary_artifacts() {
    let b = ok(r#"version: 0.2
phases:
  build:
    commands:
      - make all
artifacts:
  files:
    - '**/*'
  secondary-artifacts:
    artifact1:
      base-directory: $CODEBUILD_SRC_DIR
      files:
        - directory/file1
    artifact2:
      base-directory: $CODEBUILD_SRC_DIR_source1
      files:
        - directory/file2
      discard-paths: yes
      exclude-paths:
        - '**/*.tmp'
"#);
    let a = b.artifacts.unwrap();
    assert_eq!(a.secondary.len(), 2);
    assert_eq!(a.secondary[0].0, "artifact1");
    assert_eq!(a.secondary[1].1.files, ["directory/file2"]);
    assert!(a.secondary[1].1.discard_paths);
    assert_eq!(a.secondary[1].1.exclude_paths, ["**/*.tmp"]);
}

#[test]
fn real_world_cdk_from_object() {
    // CDK's BuildSpec.fromObject renders JSON with single-string commands.
    let b = ok(r#"{
  "version": "0.2",
  "phases": {
    "install": { "commands": "npm install -g aws-cdk" },
    "build": { "commands": ["npm ci", "npx cdk synth"] }
  },
  "artifacts": { "base-directory": "cdk.out", "files": "**/*" }
}"#);
    assert_eq!(b.version, "0.2");
    assert_eq!(
        b.phases.install.unwrap().commands,
        ["npm install -g aws-cdk"]
    );
    assert_eq!(
        b.phases.build.unwrap().commands,
        ["npm ci", "npx cdk synth"]
    );
    assert_eq!(b.artifacts.unwrap().files, ["**/*"]);
}

#[test]
fn crlf_bom_and_document_markers() {
    let b = ok(
        "\u{feff}version: 0.2\r\nenv:\r\n  variables:\r\n    V: 3.10\r\nphases:\r\n  build:\r\n    commands:\r\n      - echo hi\r\n",
    );
    assert_eq!(b.env.variables[0].1, "3.10");
    assert_eq!(build(&b).commands, ["echo hi"]);
    let b = ok("---\nversion: 0.2\nphases:\n  build:\n    commands: [x]\n...\n");
    assert_eq!(b.version, "0.2");
}

#[test]
fn later_documents_ignored_with_warning() {
    let b = ok("version: 0.2\nphases:\n  build:\n    commands: [x]\n---\nversion: 0.3\n");
    assert_eq!(b.version, "0.2");
    assert_eq!(b.warnings.len(), 1, "{:?}", b.warnings);
}

#[test]
fn syntax_error_messages_have_line_suffix() {
    for doc in [
        "version: 0.2\nphases:\n  build:\n    commands: [a, b\n  post_build:\n    commands: [c]\n",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - \"unterminated\n",
        "version: 0.2\nphases:\n  build:\n   commands: [x]\n  bad\n",
    ] {
        let e = err(doc);
        let line = e.line.expect("line");
        assert!(e.message.ends_with(&format!(" at line {line}")), "{e}");
        assert!(!e.message.contains("column"), "{e}");
    }
}

#[test]
fn syntax_errors_in_go_yaml_wording() {
    let e = err("version: 0.2\nphases:\n  build:\n    commands:\n      - \"unterminated\n");
    assert_eq!(e.message, "found unexpected end of stream at line 5");
    let e = err("version: 0.2\nphases:\n  build:\n   commands: [x]\n  bad\n");
    assert_eq!(e.message, "could not find expected ':' at line 5");
}
