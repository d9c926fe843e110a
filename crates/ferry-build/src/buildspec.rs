//! `buildspec.yml` (version 0.2, and legacy 0.1) parsed into typed data with CodeBuild's
//! tolerance: YAML 1.1 booleans, numeric-looking scalars kept as written, `commands` as a single
//! string or a list, unknown keys ignored with a warning.
//!
//! Errors carry the message CodeBuild puts in the DOWNLOAD_SOURCE phase context (status code
//! `YAML_FILE_ERROR`), e.g. `Expected Commands[0] to be of string type: found subkeys instead at
//! line 6, value of the key tag on line 5 might be empty`.

use crate::yaml::{self, Kind, Node, ScalarKind};
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct Buildspec {
    /// `"0.2"` or `"0.1"`, as written.
    pub version: String,
    pub run_as: Option<String>,
    pub env: Env,
    pub phases: Phases,
    pub artifacts: Option<Artifacts>,
    /// Report group name (or ARN) → spec, in document order.
    pub reports: Vec<(String, ReportSpec)>,
    pub cache: Option<CacheSpec>,
    /// The `batch` section, kept as data for later (bools and integers typed, other scalars as
    /// their source text).
    pub batch: Option<serde_json::Value>,
    /// Things that were accepted but ignored (unknown keys, misplaced settings).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    pub shell: Option<String>,
    pub variables: Vec<(String, String)>,
    pub parameter_store: Vec<(String, String)>,
    pub secrets_manager: Vec<(String, SecretRef)>,
    pub exported_variables: Vec<String>,
    pub git_credential_helper: bool,
}

/// `secret-id[:json-key[:version-stage[:version-id]]]`; empty parts are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// Secret name or full ARN (`arn:aws:secretsmanager:region:acct:secret:name-AbCdEf`).
    pub secret_id: String,
    pub json_key: Option<String>,
    pub version_stage: Option<String>,
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Phases {
    pub install: Option<Phase>,
    pub pre_build: Option<Phase>,
    pub build: Option<Phase>,
    pub post_build: Option<Phase>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Phase {
    pub run_as: Option<String>,
    pub on_failure: OnFailure,
    pub runtime_versions: Vec<(String, String)>,
    pub commands: Vec<String>,
    pub finally: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OnFailure {
    #[default]
    Abort,
    Continue,
    /// Re-run the phase up to `count` more times; with `pattern`, only while the failure output
    /// matches that regular expression.
    Retry {
        count: u32,
        pattern: Option<String>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Artifacts {
    pub files: Vec<String>,
    pub name: Option<String>,
    pub discard_paths: bool,
    pub base_directory: Option<String>,
    pub exclude_paths: Vec<String>,
    pub enable_symlinks: bool,
    pub s3_prefix: Option<String>,
    /// `secondary-artifacts.<artifactIdentifier>`, in document order.
    pub secondary: Vec<(String, Artifacts)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub files: Vec<String>,
    pub base_directory: Option<String>,
    pub discard_paths: bool,
    /// Upper-case; one of [`REPORT_FILE_FORMATS`]; default `JUNITXML`.
    pub file_format: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheSpec {
    pub paths: Vec<String>,
    pub key: Option<String>,
    pub fallback_keys: Vec<String>,
    /// `restore` or `save` (lower-case) when given; `None` = both.
    pub action: Option<String>,
}

/// The test (first six) and code coverage (last four) report formats.
pub const REPORT_FILE_FORMATS: [&str; 10] = [
    "CUCUMBERJSON",
    "JUNITXML",
    "NUNITXML",
    "NUNIT3XML",
    "TESTNGXML",
    "VISUALSTUDIOTRX",
    "CLOVERXML",
    "COBERTURAXML",
    "JACOCOXML",
    "SIMPLECOV",
];

/// A buildspec CodeBuild would reject. `message` is the phase-context message, including the
/// `at line N` suffix where AWS gives one; [`fmt::Display`] renders exactly that message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildspecError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl BuildspecError {
    /// The phase context status code for every buildspec error.
    pub fn status_code(&self) -> &'static str {
        "YAML_FILE_ERROR"
    }

    fn at(message: impl Into<String>, line: usize) -> Self {
        let message = message.into();
        if line == 0 {
            return Self {
                message,
                line: None,
                column: None,
            };
        }
        Self {
            message: format!("{message} at line {line}"),
            line: Some(line),
            column: None,
        }
    }

    fn plain(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            line: None,
            column: None,
        }
    }
}

impl fmt::Display for BuildspecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildspecError {}

type Result<T> = std::result::Result<T, BuildspecError>;

/// `Expected <Field> to be of <type> type: found <what> instead at line N[, …]` — CodeBuild's
/// wording for a node of the wrong shape.
fn type_error(field: &str, expected: &str, node: &Node) -> BuildspecError {
    let found = node.describe();
    let mut err = BuildspecError::at(
        format!("Expected {field} to be of {expected} type: found {found} instead"),
        node.line,
    );
    if found == "subkeys" && expected == "string" && node.line > 1 {
        // CodeBuild's hint for `- echo a: b` (an unquoted ": " turned the entry into a map).
        err.message.push_str(&format!(
            ", value of the key tag on line {} might be empty",
            node.line - 1
        ));
    }
    err
}

/// Parse a buildspec document.
pub fn parse(text: &str) -> Result<Buildspec> {
    let Some((root, extra_documents)) = yaml::parse(text).map_err(syntax_error)? else {
        return Err(BuildspecError::plain("YAML file is empty"));
    };
    let entries = match &root.kind {
        Kind::Map(entries) => entries,
        Kind::Null => return Err(BuildspecError::plain("YAML file is empty")),
        _ => return Err(type_error("Buildspec", "map", &root)),
    };

    let mut warnings = Vec::new();
    if extra_documents > 0 {
        warnings.push(format!(
            "{extra_documents} YAML document(s) after the first ignored"
        ));
    }
    let mut version: Option<(String, usize)> = None;
    let mut run_as = None;
    let mut env = Env::default();
    let mut phases: Option<Phases> = None;
    let mut artifacts = None;
    let mut reports = Vec::new();
    let mut cache = None;
    let mut batch = None;
    let mut legacy_env: Option<&Node> = None;

    for (key, value) in entries {
        let Some(name) = key.scalar() else {
            warnings.push(format!("ignoring non-string key at line {}", key.line));
            continue;
        };
        match name {
            "version" => {
                let text = match &value.kind {
                    Kind::Scalar { text, .. } => text.trim().to_owned(),
                    Kind::Null => String::new(),
                    _ => return Err(type_error("Version", "string", value)),
                };
                version = Some((text, value.line.max(key.line)));
            }
            "run-as" => run_as = opt_string(value, "RunAs")?,
            "env" => env = parse_env(value, &mut warnings)?,
            "environment_variables" => legacy_env = Some(value),
            "phases" => phases = Some(parse_phases(value, &mut warnings)?),
            "artifacts" => {
                if !matches!(value.kind, Kind::Null) {
                    artifacts = Some(parse_artifacts(value, "Artifacts", true, &mut warnings)?);
                }
            }
            "reports" => reports = parse_reports(value, &mut warnings)?,
            "cache" => {
                if !matches!(value.kind, Kind::Null) {
                    cache = Some(parse_cache(value, &mut warnings)?);
                }
            }
            "batch" => {
                if !matches!(value.kind, Kind::Null) {
                    batch = Some(value.to_json());
                }
            }
            // Only meaningful behind an explicit proxy; accepted and not modelled.
            "proxy" => {}
            other => warnings.push(format!(
                "unknown top-level key {other:?} at line {} ignored",
                key.line
            )),
        }
    }

    // Version first, like CodeBuild: a document without one is not a buildspec at all.
    let version = match version {
        None => {
            // Observed when a non-buildspec YAML (e.g. a SAM template) is given as buildspec.
            return Err(BuildspecError::plain(
                "wrong number of container tags, expected 1",
            ));
        }
        Some((v, line)) => {
            if v != "0.1" && v != "0.2" {
                return Err(BuildspecError::at(
                    format!("invalid buildspec version {v:?}, expected 0.1 or 0.2"),
                    line,
                ));
            }
            v
        }
    };

    if let Some(node) = legacy_env {
        // Version 0.1 spelling: environment_variables: { plaintext: { NAME: value } }.
        let map = map_entries(node, "EnvironmentVariables")?;
        for (k, v) in map {
            match k.scalar() {
                Some("plaintext") => env.variables.extend(string_map(v, "Plaintext")?),
                Some(other) => warnings.push(format!(
                    "unknown key {other:?} in environment_variables at line {} ignored",
                    k.line
                )),
                None => {}
            }
        }
    }

    let Some(phases) = phases else {
        return Err(BuildspecError::plain(
            "phases is required and must contain at least one of install, pre_build, build, post_build",
        ));
    };

    Ok(Buildspec {
        version,
        run_as,
        env,
        phases,
        artifacts,
        reports,
        cache,
        batch,
        warnings,
    })
}

/// YAML syntax errors in the go-yaml wording CodeBuild reports (`<message> at line N`).
fn syntax_error(e: yaml::SyntaxError) -> BuildspecError {
    let lower = e.message.to_ascii_lowercase();
    let tab = [
        "tabs disallowed",
        "tab cannot be used",
        "found a tab",
        "start with a tab",
    ]
    .iter()
    .any(|t| lower.contains(t));
    let message = if tab {
        // CodeBuild (go-yaml) reports a tab used for indentation this way.
        "found character that cannot start any token".to_owned()
    } else if lower.starts_with("unclosed quote") {
        // libyaml / go-yaml wording for a quoted scalar running to the end of the input.
        "found unexpected end of stream".to_owned()
    } else if lower.starts_with("simple key expected ':'") {
        "could not find expected ':'".to_owned()
    } else if let Some(key) = e.message.strip_prefix("duplicate mapping key: ") {
        let key = key.split(',').next().unwrap_or(key).trim();
        format!("mapping key {key:?} already defined")
    } else {
        e.message
    };
    match e.line {
        Some(line) => BuildspecError {
            message: format!("{message} at line {line}"),
            line: Some(line),
            column: e.column,
        },
        None => BuildspecError::plain(message),
    }
}

// ---------------------------------------------------------------------------------------------
// Shape helpers.

fn map_entries<'a>(node: &'a Node, field: &str) -> Result<&'a [(Node, Node)]> {
    match &node.kind {
        Kind::Map(entries) => Ok(entries),
        Kind::Null => Ok(&[]),
        _ => Err(type_error(field, "map", node)),
    }
}

fn opt_string(node: &Node, field: &str) -> Result<Option<String>> {
    match &node.kind {
        Kind::Null => Ok(None),
        Kind::Scalar { text, .. } => Ok(Some(text.clone())),
        _ => Err(type_error(field, "string", node)),
    }
}

/// A single string or a list of strings (CDK's `BuildSpec.fromObject` emits a single string).
/// Null entries are skipped.
fn string_list(node: &Node, field: &str) -> Result<Vec<String>> {
    match &node.kind {
        Kind::Null => Ok(Vec::new()),
        Kind::Scalar { text, .. } => Ok(vec![text.clone()]),
        Kind::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match &item.kind {
                    Kind::Scalar { text, .. } => out.push(text.clone()),
                    Kind::Null => {}
                    _ => return Err(type_error(&format!("{field}[{i}]"), "string", item)),
                }
            }
            Ok(out)
        }
        Kind::Map(_) => Err(type_error(field, "list", node)),
    }
}

/// YAML 1.1 booleans: y/yes/true/on and n/no/false/off, any case; empty = false.
fn parse_bool(node: &Node, field: &str) -> Result<bool> {
    match &node.kind {
        Kind::Null => Ok(false),
        Kind::Scalar { text, kind } => {
            if let ScalarKind::Bool(b) = kind {
                return Ok(*b);
            }
            match text.trim().to_ascii_lowercase().as_str() {
                "y" | "yes" | "true" | "on" => Ok(true),
                "n" | "no" | "false" | "off" | "" => Ok(false),
                _ => Err(BuildspecError::at(
                    format!("Expected {field} to be of bool type: found {text:?} instead"),
                    node.line,
                )),
            }
        }
        _ => Err(type_error(field, "bool", node)),
    }
}

/// A map of name → scalar; values keep their source text, null values become "".
fn string_map(node: &Node, field: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (k, v) in map_entries(node, field)? {
        let Some(name) = k.scalar() else {
            return Err(type_error(&format!("{field} key"), "string", k));
        };
        let value = match &v.kind {
            Kind::Scalar { text, .. } => text.clone(),
            Kind::Null => String::new(),
            _ => return Err(type_error(&format!("{field}[{name}]"), "string", v)),
        };
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

fn key_name<'a>(key: &'a Node, warnings: &mut Vec<String>) -> Option<&'a str> {
    let name = key.scalar();
    if name.is_none() {
        warnings.push(format!("ignoring non-string key at line {}", key.line));
    }
    name
}

// ---------------------------------------------------------------------------------------------
// Sections.

fn parse_env(node: &Node, warnings: &mut Vec<String>) -> Result<Env> {
    let mut env = Env::default();
    for (k, v) in map_entries(node, "Env")? {
        let Some(name) = key_name(k, warnings) else {
            continue;
        };
        match name {
            "shell" => env.shell = opt_string(v, "Shell")?,
            "variables" => env.variables = string_map(v, "Variables")?,
            "parameter-store" => env.parameter_store = string_map(v, "ParameterStore")?,
            "secrets-manager" => {
                for (var, reference) in string_map(v, "SecretsManager")? {
                    let secret = parse_secret_ref(&reference).ok_or_else(|| {
                        BuildspecError::at(
                            format!("invalid secrets-manager reference {reference:?} for {var}"),
                            v.line,
                        )
                    })?;
                    env.secrets_manager.push((var, secret));
                }
            }
            "exported-variables" => {
                env.exported_variables = string_list(v, "ExportedVariables")?;
            }
            "git-credential-helper" => {
                env.git_credential_helper = parse_bool(v, "GitCredentialHelper")?;
            }
            other => warnings.push(format!(
                "unknown key {other:?} in env at line {} ignored",
                k.line
            )),
        }
    }
    Ok(env)
}

/// Split `secret-id[:json-key[:version-stage[:version-id]]]`. A secret id starting with `arn:`
/// is the whole 7-part ARN (`arn:partition:secretsmanager:region:account:secret:name`).
pub fn parse_secret_ref(reference: &str) -> Option<SecretRef> {
    let reference = reference.trim();
    let parts: Vec<&str> = reference.split(':').collect();
    let (id, rest) = if parts[0] == "arn" {
        if parts.len() < 7 {
            return None;
        }
        (parts[..7].join(":"), &parts[7..])
    } else {
        (parts[0].to_owned(), &parts[1..])
    };
    if id.is_empty() || rest.len() > 3 {
        return None;
    }
    let part = |i: usize| {
        rest.get(i)
            .filter(|s| !s.is_empty())
            .map(|s| (*s).to_owned())
    };
    Some(SecretRef {
        secret_id: id,
        json_key: part(0),
        version_stage: part(1),
        version_id: part(2),
    })
}

fn parse_phases(node: &Node, warnings: &mut Vec<String>) -> Result<Phases> {
    let mut phases = Phases::default();
    let entries = match &node.kind {
        Kind::Map(entries) => entries,
        Kind::Null => {
            return Err(BuildspecError::at(
                "phases must contain at least one of install, pre_build, build, post_build",
                node.line,
            ));
        }
        _ => return Err(type_error("Phases", "map", node)),
    };
    for (k, v) in entries {
        let Some(name) = k.scalar() else {
            return Err(type_error("Phases key", "string", k));
        };
        let slot = match name {
            "install" => &mut phases.install,
            "pre_build" => &mut phases.pre_build,
            "build" => &mut phases.build,
            "post_build" => &mut phases.post_build,
            other => {
                return Err(BuildspecError::at(
                    format!(
                        "invalid phase name {other:?}: expected one of install, pre_build, build, post_build"
                    ),
                    k.line,
                ));
            }
        };
        *slot = Some(parse_phase(name, v, warnings)?);
    }
    Ok(phases)
}

fn parse_phase(phase_name: &str, node: &Node, warnings: &mut Vec<String>) -> Result<Phase> {
    let mut phase = Phase::default();
    for (k, v) in map_entries(node, "Phase")? {
        let Some(name) = key_name(k, warnings) else {
            continue;
        };
        match name {
            "run-as" => phase.run_as = opt_string(v, "RunAs")?,
            "on-failure" => {
                if let Some(text) = opt_string(v, "OnFailure")? {
                    phase.on_failure =
                        parse_on_failure(&text).map_err(|msg| BuildspecError::at(msg, v.line))?;
                }
            }
            "runtime-versions" => {
                if phase_name != "install" {
                    warnings.push(format!(
                        "runtime-versions in phase {phase_name} at line {} is only supported in the install phase",
                        k.line
                    ));
                }
                if !matches!(v.kind, Kind::Map(_) | Kind::Null) {
                    return Err(type_error("RuntimeVersions", "map", v));
                }
                phase.runtime_versions = string_map(v, "RuntimeVersions")?;
            }
            "commands" => phase.commands = string_list(v, "Commands")?,
            "finally" => phase.finally = string_list(v, "Finally")?,
            other => warnings.push(format!(
                "unknown key {other:?} in phase {phase_name} at line {} ignored",
                k.line
            )),
        }
    }
    Ok(phase)
}

/// `ABORT` | `CONTINUE` | `RETRY` | `RETRY-<count>` | `RETRY-<regex>` | `RETRY-<count>-<regex>`.
pub fn parse_on_failure(text: &str) -> std::result::Result<OnFailure, String> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    match upper.as_str() {
        "ABORT" => return Ok(OnFailure::Abort),
        "CONTINUE" => return Ok(OnFailure::Continue),
        "RETRY" => {
            return Ok(OnFailure::Retry {
                count: 3,
                pattern: None,
            });
        }
        _ => {}
    }
    let invalid = || {
        format!(
            "invalid on-failure value {t:?}: expected ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex>"
        )
    };
    if !upper.starts_with("RETRY-") {
        return Err(invalid());
    }
    let rest = &t["RETRY-".len()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (count, pattern) = if digits > 0 && digits == rest.len() {
        (Some(&rest[..digits]), None)
    } else if digits > 0 && rest.as_bytes()[digits] == b'-' {
        (Some(&rest[..digits]), Some(&rest[digits + 1..]))
    } else {
        (None, Some(rest))
    };
    let count = match count {
        Some(c) => match c.parse::<u32>() {
            Ok(n) if n <= 100 => n,
            _ => {
                return Err(format!(
                    "invalid on-failure value {t:?}: retry count must be between 0 and 100"
                ));
            }
        },
        None => 3,
    };
    let pattern = match pattern {
        Some("") => return Err(invalid()),
        Some(p) => {
            regex::Regex::new(p).map_err(|e| {
                format!("invalid on-failure value {t:?}: bad regular expression: {e}")
            })?;
            Some(p.to_owned())
        }
        None => None,
    };
    Ok(OnFailure::Retry { count, pattern })
}

fn parse_artifacts(
    node: &Node,
    field: &str,
    primary: bool,
    warnings: &mut Vec<String>,
) -> Result<Artifacts> {
    let mut a = Artifacts::default();
    let mut has_files = false;
    for (k, v) in map_entries(node, field)? {
        let Some(name) = key_name(k, warnings) else {
            continue;
        };
        match name {
            "files" => {
                has_files = true;
                a.files = string_list(v, "Files")?;
            }
            "name" => a.name = opt_string(v, "Name")?,
            "discard-paths" => a.discard_paths = parse_bool(v, "DiscardPaths")?,
            "base-directory" => a.base_directory = opt_string(v, "BaseDirectory")?,
            "exclude-paths" => a.exclude_paths = string_list(v, "ExcludePaths")?,
            "enable-symlinks" => a.enable_symlinks = parse_bool(v, "EnableSymlinks")?,
            "s3-prefix" => a.s3_prefix = opt_string(v, "S3Prefix")?,
            "secondary-artifacts" if primary => {
                for (id, spec) in map_entries(v, "SecondaryArtifacts")? {
                    let Some(id_text) = id.scalar() else {
                        return Err(type_error("SecondaryArtifacts key", "string", id));
                    };
                    let field = format!("SecondaryArtifacts[{id_text}]");
                    a.secondary.push((
                        id_text.to_owned(),
                        parse_artifacts(spec, &field, false, warnings)?,
                    ));
                }
            }
            other => warnings.push(format!(
                "unknown key {other:?} in artifacts at line {} ignored",
                k.line
            )),
        }
    }
    if !has_files {
        return Err(BuildspecError::at(
            format!("{field}: files is required"),
            node.line,
        ));
    }
    Ok(a)
}

fn parse_reports(node: &Node, warnings: &mut Vec<String>) -> Result<Vec<(String, ReportSpec)>> {
    let mut out = Vec::new();
    for (k, v) in map_entries(node, "Reports")? {
        let Some(group) = k.scalar() else {
            return Err(type_error("Reports key", "string", k));
        };
        let field = format!("Reports[{group}]");
        let mut spec = ReportSpec {
            files: Vec::new(),
            base_directory: None,
            discard_paths: false,
            file_format: "JUNITXML".to_owned(),
        };
        let mut has_files = false;
        for (rk, rv) in map_entries(v, &field)? {
            let Some(name) = key_name(rk, warnings) else {
                continue;
            };
            match name {
                "files" => {
                    has_files = true;
                    spec.files = string_list(rv, "Files")?;
                }
                "base-directory" => spec.base_directory = opt_string(rv, "BaseDirectory")?,
                "discard-paths" => spec.discard_paths = parse_bool(rv, "DiscardPaths")?,
                "file-format" => {
                    if let Some(fmt) = opt_string(rv, "FileFormat")? {
                        let upper = fmt.trim().to_ascii_uppercase();
                        if !REPORT_FILE_FORMATS.contains(&upper.as_str()) {
                            return Err(BuildspecError::at(
                                format!(
                                    "invalid report file format {fmt:?} for report group {group}: expected one of {}",
                                    REPORT_FILE_FORMATS.join(", ")
                                ),
                                rv.line,
                            ));
                        }
                        spec.file_format = upper;
                    }
                }
                other => warnings.push(format!(
                    "unknown key {other:?} in report group {group} at line {} ignored",
                    rk.line
                )),
            }
        }
        if !has_files {
            return Err(BuildspecError::at(
                format!("{field}: files is required"),
                v.line,
            ));
        }
        out.push((group.to_owned(), spec));
    }
    Ok(out)
}

fn parse_cache(node: &Node, warnings: &mut Vec<String>) -> Result<CacheSpec> {
    let mut c = CacheSpec::default();
    for (k, v) in map_entries(node, "Cache")? {
        let Some(name) = key_name(k, warnings) else {
            continue;
        };
        match name {
            "paths" => c.paths = string_list(v, "Paths")?,
            "key" => c.key = opt_string(v, "Key")?,
            "fallback-keys" => c.fallback_keys = string_list(v, "FallbackKeys")?,
            "action" => {
                if let Some(action) = opt_string(v, "Action")? {
                    let lower = action.trim().to_ascii_lowercase();
                    if lower != "restore" && lower != "save" {
                        return Err(BuildspecError::at(
                            format!("invalid cache action {action:?}: expected restore or save"),
                            v.line,
                        ));
                    }
                    c.action = Some(lower);
                }
            }
            other => warnings.push(format!(
                "unknown key {other:?} in cache at line {} ignored",
                k.line
            )),
        }
    }
    Ok(c)
}

#[cfg(test)]
#[path = "buildspec_tests.rs"]
mod tests;
