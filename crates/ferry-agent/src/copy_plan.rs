//! The `files` section of an appspec turned into a list of directory creations and file copies,
//! checked before anything is written: sources inside the unpacked bundle, destinations inside
//! the allowed roots, and existing targets handled per `file_exists_behavior`. Then the plan is
//! carried out, remembering what it created.

use crate::appspec::{FileExistsBehavior, FileMapping};
use crate::extract::relative_path;
use crate::fsutil::absolute_normalized;
use crate::install::InstallError;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Make sure a directory exists. `installed`: it mirrors a directory of the bundle (so
    /// permissions may apply to it), rather than being a parent of a destination.
    Dir { path: PathBuf, installed: bool },
    /// Copy a bundle file; `replace` removes what is there first.
    File {
        from: PathBuf,
        to: PathBuf,
        replace: bool,
    },
}

/// Plans the copies of one install.
pub(crate) struct Planner<'a> {
    pub archive_dir: &'a Path,
    pub allowed_roots: &'a [PathBuf],
    pub behavior: FileExistsBehavior,
    /// What the previous install created: such a target is replaced whatever the behaviour.
    pub previous: &'a HashSet<PathBuf>,
}

/// The planned steps and the targets left alone because of RETAIN.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub steps: Vec<Step>,
    pub retained: Vec<PathBuf>,
    /// Directory path → its step.
    dirs: HashMap<PathBuf, usize>,
    /// Every file target so far.
    files: HashSet<PathBuf>,
}

impl Plan {
    fn dir(&mut self, path: &Path, installed: bool) {
        match self.dirs.get(path) {
            Some(&at) => {
                if let Step::Dir {
                    installed: known, ..
                } = &mut self.steps[at]
                {
                    *known |= installed;
                }
            }
            None => {
                self.dirs.insert(path.to_owned(), self.steps.len());
                self.steps.push(Step::Dir {
                    path: path.to_owned(),
                    installed,
                });
            }
        }
    }
}

impl Planner<'_> {
    pub fn plan(&self, files: &[FileMapping]) -> Result<Plan, InstallError> {
        let archive = self
            .archive_dir
            .canonicalize()
            .map_err(|e| InstallError::io(self.archive_dir, e))?;
        let mut plan = Plan::default();
        for mapping in files {
            let source = self.source(&archive, &mapping.source)?;
            let destination = self.destination(&mapping.destination)?;
            self.parents(&destination, &mut plan);
            if source.is_dir() {
                self.dir(&destination, true, &mut plan)?;
                self.tree(&archive, &source, &destination, &mut plan)?;
            } else {
                self.dir(&destination, false, &mut plan)?;
                let name = source.file_name().unwrap_or_default();
                let target = destination.join(name);
                self.file(source, target, &mut plan)?;
            }
        }
        Ok(plan)
    }

    /// The bundle path a `source` names, which must exist and resolve inside the bundle.
    fn source(&self, archive: &Path, source: &str) -> Result<PathBuf, InstallError> {
        let outside = || InstallError::SourceOutsideBundle(source.to_owned());
        let rel = relative_path(Path::new(source.trim_start_matches('/'))).ok_or_else(outside)?;
        let path = archive.join(rel);
        let resolved = path
            .canonicalize()
            .map_err(|_| InstallError::SourceMissing(source.to_owned()))?;
        if !resolved.starts_with(archive) {
            return Err(outside());
        }
        Ok(path)
    }

    /// A `destination`, normalized: absolute, no `..`, inside an allowed root both as written
    /// and once its existing part's symlinks are resolved.
    fn destination(&self, destination: &str) -> Result<PathBuf, InstallError> {
        let refused = || InstallError::DestinationNotAllowed(destination.to_owned());
        let path = absolute_normalized(Path::new(destination)).ok_or_else(refused)?;
        if !self.allowed_roots.iter().any(|r| path.starts_with(r)) {
            return Err(refused());
        }
        let existing = path
            .ancestors()
            .find_map(|p| p.canonicalize().ok())
            .ok_or_else(refused)?;
        let inside = self
            .allowed_roots
            .iter()
            .filter_map(|r| r.canonicalize().ok())
            .any(|r| existing.starts_with(r));
        if !inside {
            return Err(refused());
        }
        Ok(path)
    }

    /// Create the missing parents of `destination`.
    fn parents(&self, destination: &Path, plan: &mut Plan) {
        let mut missing: Vec<&Path> = destination
            .ancestors()
            .skip(1)
            .take_while(|p| std::fs::symlink_metadata(p).is_err())
            .collect();
        missing.reverse();
        for path in missing {
            plan.dir(path, false);
        }
    }

    /// A directory to have at `path`; `installed` when it mirrors a bundle directory.
    fn dir(&self, path: &Path, installed: bool, plan: &mut Plan) -> Result<(), InstallError> {
        match std::fs::metadata(path) {
            Ok(meta) if !meta.is_dir() => Err(InstallError::NotADirectory(path.to_owned())),
            _ => {
                plan.dir(path, installed);
                Ok(())
            }
        }
    }

    /// Mirror the bundle directory `from` into `to`, in name order. Links in the bundle must
    /// resolve inside it (`archive`, canonical) and only to files.
    fn tree(
        &self,
        archive: &Path,
        from: &Path,
        to: &Path,
        plan: &mut Plan,
    ) -> Result<(), InstallError> {
        let mut entries: Vec<_> = std::fs::read_dir(from)
            .map_err(|e| InstallError::io(from, e))?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(|e| InstallError::io(from, e))?;
        entries.sort();
        for name in entries {
            let (source, target) = (from.join(&name), to.join(&name));
            let meta =
                std::fs::symlink_metadata(&source).map_err(|e| InstallError::io(&source, e))?;
            if meta.is_symlink() {
                let resolved = source
                    .canonicalize()
                    .map_err(|e| InstallError::io(&source, e))?;
                if !resolved.starts_with(archive) {
                    return Err(InstallError::SourceOutsideBundle(
                        source.display().to_string(),
                    ));
                }
                if resolved.is_dir() {
                    return Err(InstallError::DirectoryLink(source));
                }
                self.file(source, target, plan)?;
            } else if meta.is_dir() {
                self.dir(&target, true, plan)?;
                self.tree(archive, &source, &target, plan)?;
            } else {
                self.file(source, target, plan)?;
            }
        }
        Ok(())
    }

    fn file(&self, from: PathBuf, to: PathBuf, plan: &mut Plan) -> Result<(), InstallError> {
        if to.as_os_str().as_encoded_bytes().contains(&b'\n') {
            return Err(InstallError::UnsupportedName(to));
        }
        if !plan.files.insert(to.clone()) {
            return Err(InstallError::InstalledTwice(to));
        }
        let existing = std::fs::symlink_metadata(&to).ok();
        let replace = match existing {
            None => false,
            Some(_) if self.behavior == FileExistsBehavior::Retain => {
                plan.retained.push(to);
                return Ok(());
            }
            Some(meta) if meta.is_dir() => return Err(InstallError::NotAFile(to)),
            Some(_) if self.previous.contains(&to) => true,
            Some(_) => match self.behavior {
                FileExistsBehavior::Overwrite => true,
                _ => return Err(InstallError::FileExists(to)),
            },
        };
        plan.steps.push(Step::File { from, to, replace });
        Ok(())
    }
}

/// Carry out `steps`, adding every directory and file it creates to `created` as it goes (so
/// that after a failure the caller still knows what to clean up).
pub(crate) fn execute(steps: &[Step], created: &mut Vec<PathBuf>) -> Result<(), InstallError> {
    for step in steps {
        match step {
            Step::Dir { path, .. } => match std::fs::create_dir(path) {
                Ok(()) => created.push(path.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => {}
                Err(e) => return Err(InstallError::io(path, e)),
            },
            Step::File { from, to, replace } => {
                if *replace {
                    match std::fs::remove_file(to) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(InstallError::io(to, e));
                        }
                        _ => {}
                    }
                }
                std::fs::copy(from, to).map_err(|e| InstallError::io(to, e))?;
                created.push(to.clone());
            }
        }
    }
    Ok(())
}
