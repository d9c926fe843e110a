//! The EC2/on-premises `appspec.yml`: parsing its text into [`AppSpec`] and validating it the way
//! the CodeDeploy agent does (reference §4.1). Every error names the YAML line and column it is
//! about when the parser knows them.

use crate::yaml::{Entries, Location, Scalar, Spanned, SpannedExt};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The lifecycle events an appspec may attach scripts to (custom events aside).
pub const SCRIPTABLE_EVENTS: [&str; 9] = [
    "ApplicationStop",
    "BeforeInstall",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
    "BeforeBlockTraffic",
    "AfterBlockTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
];

/// Default and maximum time, in seconds, for one script and for all scripts of one event.
pub const MAX_EVENT_TIMEOUT_SECS: u64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    /// Always `"0.0"`.
    pub version: String,
    /// Always `"linux"`.
    pub os: String,
    pub files: Vec<FileMapping>,
    pub file_exists_behavior: Option<FileExistsBehavior>,
    pub permissions: Vec<Permission>,
    /// Event name → its scripts, in the order they run. Events given a null list are absent.
    pub hooks: BTreeMap<String, Vec<HookScript>>,
}

impl AppSpec {
    /// The scripts of `event` (empty when it has none).
    pub fn scripts(&self, event: &str) -> &[HookScript] {
        self.hooks.get(event).map_or(&[], Vec::as_slice)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMapping {
    /// Path inside the bundle; `/` is the whole bundle.
    pub source: String,
    /// Absolute path on the instance.
    pub destination: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FileExistsBehavior {
    Disallow,
    Overwrite,
    Retain,
}

impl FileExistsBehavior {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "DISALLOW" => Some(Self::Disallow),
            "OVERWRITE" => Some(Self::Overwrite),
            "RETAIN" => Some(Self::Retain),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    File,
    Directory,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub object: String,
    /// Glob on paths below `object`; `**` when not given.
    pub pattern: String,
    pub except: Vec<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// Octal mode bits (at most `0o7777`).
    pub mode: Option<u32>,
    /// Empty = both files and directories.
    pub type_: Vec<ObjectType>,
    pub acls: Vec<String>,
    pub context: Option<SeLinuxContext>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeLinuxContext {
    pub user: Option<String>,
    pub type_: Option<String>,
    pub range: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookScript {
    /// Path of the script inside the bundle.
    pub location: String,
    pub timeout_secs: u64,
    pub runas: Option<String>,
    pub sudo: bool,
}

/// An appspec that cannot be used, with where in the text the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AppSpecError {
    pub message: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
}

impl fmt::Display for AppSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, " (line {line}, column {column})"),
            (Some(line), None) => write!(f, " (line {line})"),
            _ => Ok(()),
        }
    }
}

/// Parse and validate an appspec. `custom_events` are event names allowed besides
/// [`SCRIPTABLE_EVENTS`] (the deployment specification's `AllPossibleLifecycleEvents`).
pub fn parse(text: &str, custom_events: &[String]) -> Result<AppSpec, AppSpecError> {
    let raw: Option<Spanned<RawAppSpec>> =
        crate::yaml::from_str(text).map_err(|e| AppSpecError {
            message: format!("The appspec file cannot be parsed: {}", e.message),
            line: e.line,
            column: e.column,
        })?;
    let Some(raw) = raw else {
        return Err(AppSpecError {
            message: "The appspec file is empty".to_owned(),
            line: None,
            column: None,
        });
    };
    Validator {
        src: text,
        custom_events,
    }
    .appspec(raw)
}

#[derive(Deserialize)]
struct RawAppSpec {
    version: Option<Spanned<Scalar>>,
    os: Option<Spanned<Scalar>>,
    files: Option<Vec<Spanned<RawFile>>>,
    file_exists_behavior: Option<Spanned<Scalar>>,
    permissions: Option<Vec<Spanned<RawPermission>>>,
    hooks: Option<Entries<Spanned<String>, Option<RawScripts>>>,
}

type RawScripts = Vec<Spanned<RawHook>>;

#[derive(Deserialize)]
struct RawFile {
    source: Option<Spanned<Scalar>>,
    destination: Option<Spanned<Scalar>>,
}

#[derive(Deserialize)]
struct RawPermission {
    object: Option<Spanned<Scalar>>,
    pattern: Option<Spanned<Scalar>>,
    except: Option<Vec<Spanned<Scalar>>>,
    owner: Option<Spanned<Scalar>>,
    group: Option<Spanned<Scalar>>,
    mode: Option<Spanned<Scalar>>,
    #[serde(rename = "type")]
    type_: Option<Vec<Spanned<Scalar>>>,
    acls: Option<Vec<Spanned<Scalar>>>,
    context: Option<Spanned<RawContext>>,
}

#[derive(Deserialize)]
struct RawContext {
    user: Option<Spanned<Scalar>>,
    #[serde(rename = "type")]
    type_: Option<Spanned<Scalar>>,
    range: Option<Spanned<Scalar>>,
}

#[derive(Deserialize)]
struct RawHook {
    location: Option<Spanned<Scalar>>,
    timeout: Option<Spanned<Scalar>>,
    runas: Option<Spanned<Scalar>>,
    sudo: Option<Spanned<Scalar>>,
}

impl AppSpecError {
    fn at(message: impl Into<String>, location: Location) -> Self {
        let location = Some(location).filter(|l| l.line() > 0);
        Self {
            message: message.into(),
            line: location.map(|l| l.line()),
            column: location.map(|l| l.column()),
        }
    }
}

struct Validator<'a> {
    src: &'a str,
    custom_events: &'a [String],
}

type Result<T, E = AppSpecError> = std::result::Result<T, E>;

impl Validator<'_> {
    fn appspec(&self, doc: Spanned<RawAppSpec>) -> Result<AppSpec> {
        let raw = &doc.value;
        let version = self.version(raw.version.as_ref(), &doc)?;
        let os = self.os(raw.os.as_ref(), &doc)?;
        let files = raw
            .files
            .iter()
            .flatten()
            .map(|f| self.file(f))
            .collect::<Result<_>>()?;
        let file_exists_behavior = raw
            .file_exists_behavior
            .as_ref()
            .map(|n| {
                let text = self.string(n, "file_exists_behavior")?;
                FileExistsBehavior::parse(&text).ok_or_else(|| {
                    AppSpecError::at(
                        format!(
                            "Invalid file_exists_behavior value ({text}); use DISALLOW, OVERWRITE or RETAIN"
                        ),
                        n.referenced,
                    )
                })
            })
            .transpose()?;
        let permissions = raw
            .permissions
            .iter()
            .flatten()
            .map(|p| self.permission(p))
            .collect::<Result<_>>()?;
        let mut hooks = BTreeMap::new();
        for (event, scripts) in raw.hooks.iter().flat_map(|h| &h.0) {
            self.event_name(event)?;
            let Some(scripts) = scripts else { continue };
            let scripts = scripts
                .iter()
                .map(|s| self.hook(s))
                .collect::<Result<Vec<_>>>()?;
            let total: u64 = scripts.iter().map(|s| s.timeout_secs).sum();
            if total > MAX_EVENT_TIMEOUT_SECS {
                return Err(AppSpecError::at(
                    format!(
                        "The scripts of {} have a total timeout of {total} seconds; the limit for one lifecycle event is {MAX_EVENT_TIMEOUT_SECS}",
                        event.value
                    ),
                    event.referenced,
                ));
            }
            hooks.insert(event.value.clone(), scripts);
        }
        Ok(AppSpec {
            version,
            os,
            files,
            file_exists_behavior,
            permissions,
            hooks,
        })
    }

    fn version(&self, node: Option<&Spanned<Scalar>>, doc: &Spanned<RawAppSpec>) -> Result<String> {
        let Some(node) = node else {
            return Err(AppSpecError::at(
                "The appspec file has no version; it must be 0.0",
                doc.referenced,
            ));
        };
        let ok = match &node.value {
            Scalar::Float(v) => *v == 0.0,
            Scalar::Str(s) => s.trim() == "0.0",
            _ => false,
        };
        if !ok {
            return Err(AppSpecError::at(
                format!(
                    "Invalid version value ({}) in the appspec file; the version must be 0.0",
                    node.source_text(self.src)
                ),
                node.referenced,
            ));
        }
        Ok("0.0".to_owned())
    }

    fn os(&self, node: Option<&Spanned<Scalar>>, doc: &Spanned<RawAppSpec>) -> Result<String> {
        let Some(node) = node else {
            return Err(AppSpecError::at(
                "The appspec file has no os; it must be linux",
                doc.referenced,
            ));
        };
        let os = self.string(node, "os")?;
        if os != "linux" {
            return Err(AppSpecError::at(
                format!("Unsupported os value ({os}) in the appspec file; this agent runs linux"),
                node.referenced,
            ));
        }
        Ok(os)
    }

    fn file(&self, node: &Spanned<RawFile>) -> Result<FileMapping> {
        let source = self.required(node.value.source.as_ref(), node, "files", "source")?;
        let destination = self.required(
            node.value.destination.as_ref(),
            node,
            "files",
            "destination",
        )?;
        Ok(FileMapping {
            source,
            destination,
        })
    }

    fn permission(&self, node: &Spanned<RawPermission>) -> Result<Permission> {
        let raw = &node.value;
        let object = self.required(raw.object.as_ref(), node, "permissions", "object")?;
        let pattern = match &raw.pattern {
            Some(p) => self.string(p, "pattern")?,
            None => "**".to_owned(),
        };
        let except = self.strings(raw.except.as_deref(), "except")?;
        let owner = self.optional(raw.owner.as_ref(), "owner")?;
        let group = self.optional(raw.group.as_ref(), "group")?;
        let mode = raw.mode.as_ref().map(|n| self.mode(n)).transpose()?;
        let type_ = raw
            .type_
            .iter()
            .flatten()
            .map(|n| match self.string(n, "type")?.as_str() {
                "file" => Ok(ObjectType::File),
                "directory" => Ok(ObjectType::Directory),
                other => Err(AppSpecError::at(
                    format!("Invalid permission type ({other}); use file or directory"),
                    n.referenced,
                )),
            })
            .collect::<Result<_>>()?;
        let acls = self.strings(raw.acls.as_deref(), "acls")?;
        let context = raw
            .context
            .as_ref()
            .map(|c| {
                Ok(SeLinuxContext {
                    user: self.optional(c.value.user.as_ref(), "context user")?,
                    type_: self.optional(c.value.type_.as_ref(), "context type")?,
                    range: self.optional(c.value.range.as_ref(), "context range")?,
                })
            })
            .transpose()?;
        Ok(Permission {
            object,
            pattern,
            except,
            owner,
            group,
            mode,
            type_,
            acls,
            context,
        })
    }

    /// A mode as written (`644`, `"0644"`, `4755`): octal digits only, at most `7777`.
    fn mode(&self, node: &Spanned<Scalar>) -> Result<u32> {
        let text = node.source_text(self.src);
        let digits = text.trim_matches(|c| c == '"' || c == '\'').trim();
        let valid = !digits.is_empty() && digits.bytes().all(|b| (b'0'..=b'7').contains(&b));
        match u32::from_str_radix(digits, 8) {
            Ok(mode) if valid && mode <= 0o7777 => Ok(mode),
            _ => Err(AppSpecError::at(
                format!("Invalid mode ({text}); give octal digits such as 644 or \"0755\""),
                node.referenced,
            )),
        }
    }

    fn event_name(&self, event: &Spanned<String>) -> Result<()> {
        let name = event.value.as_str();
        if SCRIPTABLE_EVENTS.contains(&name) || self.custom_events.iter().any(|e| e == name) {
            return Ok(());
        }
        Err(AppSpecError::at(
            format!("The appspec file names an unknown lifecycle event ({name}) under hooks"),
            event.referenced,
        ))
    }

    fn hook(&self, node: &Spanned<RawHook>) -> Result<HookScript> {
        let raw = &node.value;
        let location = self.required(raw.location.as_ref(), node, "hooks", "location")?;
        let timeout_secs = match &raw.timeout {
            None => MAX_EVENT_TIMEOUT_SECS,
            Some(n) => {
                let text = n.source_text(self.src);
                let parsed = match &n.value {
                    Scalar::Int(v) => u64::try_from(*v).ok(),
                    Scalar::Str(s) => s.trim().parse().ok(),
                    _ => None,
                };
                match parsed {
                    Some(secs) if secs > 0 => secs,
                    _ => {
                        return Err(AppSpecError::at(
                            format!(
                                "Invalid timeout ({text}) for {location}; give a positive number of seconds"
                            ),
                            n.referenced,
                        ));
                    }
                }
            }
        };
        let runas = self
            .optional(raw.runas.as_ref(), "runas")?
            .filter(|u| !u.is_empty());
        let sudo = match &raw.sudo {
            None => false,
            Some(Spanned {
                value: Scalar::Bool(b),
                ..
            }) => *b,
            Some(n) => {
                return Err(AppSpecError::at(
                    format!(
                        "Invalid sudo value ({}); use true or false",
                        n.source_text(self.src)
                    ),
                    n.referenced,
                ));
            }
        };
        Ok(HookScript {
            location,
            timeout_secs,
            runas,
            sudo,
        })
    }

    /// A required, non-empty string `key` of an entry of `section`.
    fn required<T>(
        &self,
        node: Option<&Spanned<Scalar>>,
        parent: &Spanned<T>,
        section: &str,
        key: &str,
    ) -> Result<String> {
        match self.optional(node, key)?.map(|t| t.trim().to_owned()) {
            Some(t) if !t.is_empty() => Ok(t),
            _ => Err(AppSpecError::at(
                format!("An entry of {section} has no {key}"),
                node.map_or(parent.referenced, |n| n.referenced),
            )),
        }
    }

    /// A scalar as text: strings as they are, numbers and booleans as written.
    fn string(&self, node: &Spanned<Scalar>, key: &str) -> Result<String> {
        match &node.value {
            Scalar::Str(s) => Ok(s.clone()),
            Scalar::Int(_) | Scalar::Float(_) | Scalar::Bool(_) => {
                Ok(node.source_text(self.src).into_owned())
            }
            Scalar::Null => Err(AppSpecError::at(
                format!("{key} has no value"),
                node.referenced,
            )),
        }
    }

    fn optional(&self, node: Option<&Spanned<Scalar>>, key: &str) -> Result<Option<String>> {
        node.map(|n| self.string(n, key)).transpose()
    }

    fn strings(&self, nodes: Option<&[Spanned<Scalar>]>, key: &str) -> Result<Vec<String>> {
        nodes
            .unwrap_or_default()
            .iter()
            .map(|n| self.string(n, key))
            .collect()
    }
}

#[cfg(test)]
#[path = "appspec_tests.rs"]
mod tests;
