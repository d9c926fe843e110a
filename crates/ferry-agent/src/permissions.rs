//! An appspec's `permissions` applied to what one install put in place (reference §4.1): the
//! rules are checked first (globs, users and groups resolved; ACLs and SELinux contexts refused
//! as unsupported), then each rule's mode and owner are set on the installed files and
//! directories it selects.

use crate::appspec::{ObjectType, Permission};
use crate::fsutil::absolute_normalized;
use crate::install::InstallError;
use globset::{Glob, GlobMatcher, GlobSet, GlobSetBuilder};
use nix::unistd::{Gid, Group, Uid, User};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A file or directory the install copied or mirrored from the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Installed {
    pub path: PathBuf,
    pub is_dir: bool,
}

/// A rule ready to apply.
pub(crate) struct Rule {
    object: PathBuf,
    pattern: GlobMatcher,
    except: GlobSet,
    types: Vec<ObjectType>,
    mode: Option<u32>,
    owner: Option<Uid>,
    group: Option<Gid>,
}

/// Check every rule before anything changes on disk.
pub(crate) fn compile(rules: &[Permission]) -> Result<Vec<Rule>, InstallError> {
    rules.iter().map(compile_one).collect()
}

fn compile_one(rule: &Permission) -> Result<Rule, InstallError> {
    let unsupported = |what| InstallError::UnsupportedPermission {
        object: rule.object.clone(),
        what,
    };
    if !rule.acls.is_empty() {
        return Err(unsupported("acls"));
    }
    if rule.context.is_some() {
        return Err(unsupported("context (SELinux)"));
    }
    let object = absolute_normalized(Path::new(&rule.object))
        .ok_or_else(|| InstallError::InvalidPermissionObject(rule.object.clone()))?;
    let mut except = GlobSetBuilder::new();
    for pattern in &rule.except {
        except.add(glob(pattern)?);
    }
    let except = except.build().map_err(|e| InstallError::InvalidPattern {
        pattern: rule.except.join(", "),
        message: e.to_string(),
    })?;
    Ok(Rule {
        object,
        pattern: glob(&rule.pattern)?.compile_matcher(),
        except,
        types: rule.type_.clone(),
        mode: rule.mode,
        owner: rule.owner.as_deref().map(user).transpose()?,
        group: rule.group.as_deref().map(group).transpose()?,
    })
}

/// Apply `rules` in order to the `installed` objects they select.
pub(crate) fn apply(rules: &[Rule], installed: &[Installed]) -> Result<(), InstallError> {
    for rule in rules {
        let object_file = installed.iter().any(|i| !i.is_dir && i.path == rule.object);
        if object_file {
            if rule.wants(ObjectType::File) {
                rule.set(&rule.object)?;
            }
            continue;
        }
        if !rule.object.is_dir() {
            return Err(InstallError::PermissionObjectNotInstalled(
                rule.object.clone(),
            ));
        }
        for item in installed {
            let Ok(rel) = item.path.strip_prefix(&rule.object) else {
                continue;
            };
            let kind = if item.is_dir {
                ObjectType::Directory
            } else {
                ObjectType::File
            };
            if !rel.as_os_str().is_empty() && rule.wants(kind) && rule.selects(rel) {
                rule.set(&item.path)?;
            }
        }
    }
    Ok(())
}

impl Rule {
    fn wants(&self, kind: ObjectType) -> bool {
        self.types.is_empty() || self.types.contains(&kind)
    }

    /// A glob selects a path below the object by its relative path or by its name.
    fn selects(&self, rel: &Path) -> bool {
        let name = rel.file_name().map_or(rel, Path::new);
        let selected = self.pattern.is_match(rel) || self.pattern.is_match(name);
        let excepted = self.except.is_match(rel) || self.except.is_match(name);
        selected && !excepted
    }

    fn set(&self, path: &Path) -> Result<(), InstallError> {
        if self.owner.is_some() || self.group.is_some() {
            std::os::unix::fs::chown(
                path,
                self.owner.map(Uid::as_raw),
                self.group.map(Gid::as_raw),
            )
            .map_err(|e| InstallError::io(path, e))?;
        }
        if let Some(mode) = self.mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| InstallError::io(path, e))?;
        }
        Ok(())
    }
}

fn glob(pattern: &str) -> Result<Glob, InstallError> {
    Glob::new(pattern).map_err(|e| InstallError::InvalidPattern {
        pattern: pattern.to_owned(),
        message: e.kind().to_string(),
    })
}

fn user(name: &str) -> Result<Uid, InstallError> {
    match User::from_name(name) {
        Ok(Some(user)) => Ok(user.uid),
        _ => name
            .parse()
            .map(Uid::from_raw)
            .map_err(|_| InstallError::UnknownUser(name.to_owned())),
    }
}

fn group(name: &str) -> Result<Gid, InstallError> {
    match Group::from_name(name) {
        Ok(Some(group)) => Ok(group.gid),
        _ => name
            .parse()
            .map(Gid::from_raw)
            .map_err(|_| InstallError::UnknownGroup(name.to_owned())),
    }
}
