//! Selecting the files of an artifact (and of report groups / cache paths) from a build's
//! source directory, with CodeBuild's glob semantics and without ever leaving that directory.
//!
//! Semantics:
//! - `files` globs are matched against every file's path relative to the base directory
//!   (`base-directory`, or the source root), `/`-separated. `*` stays within one path segment,
//!   `**/` spans any number of directories: `**/*` = all files, `dir/*` = the files directly in
//!   `dir`, `dir/**/*` = all files under `dir`.
//! - A pattern without wildcards that names a *directory* selects every file under it (`dist`
//!   or `dist/` behaves like `dist/**/*`); wildcard patterns only match files, so `dist/*`
//!   stays one level deep.
//! - `base-directory` may be a glob (`my-build*`); it must match exactly one directory, whose
//!   contents form the artifact root (the directory itself is not part of the archive paths).
//! - `exclude-paths` globs are relative to the base directory and match files; a literal
//!   directory name excludes everything under it.
//! - `discard-paths` keeps only file names; when two files flatten to the same name the first
//!   in path order wins.
//! - Output is sorted by archive path and deduplicated.
//!
//! Safety: absolute patterns, `..` that climbs out of the base directory, a base directory or a
//! selected symlink whose target resolves outside the source root are refused with
//! [`SelectError::Escape`]. Symlinked directories are never descended into (no loops); a
//! symlink that is itself selected and points inside the root is listed as is.

use crate::buildspec::Artifacts;
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use std::fs;
use std::path::{Component, Path, PathBuf};

/// At most this many files are selected for one artifact.
pub const MAX_FILES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Selected {
    /// Absolute path of the file on disk (inside the source root; a symlink's own path).
    pub source: PathBuf,
    /// `/`-separated path inside the artifact.
    pub archive_path: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    /// CodeBuild's CLIENT_ERROR message for an artifact whose globs match nothing.
    #[error("no matching artifact paths found")]
    NoMatch,
    #[error("path escapes the source directory: {0}")]
    Escape(String),
    #[error("too many files to upload: more than {0}")]
    TooMany(usize),
    #[error("base-directory {pattern:?} matches {count} directories, expected exactly one")]
    AmbiguousBaseDirectory { pattern: String, count: usize },
    #[error("invalid path pattern {pattern:?}: {reason}")]
    BadPattern { pattern: String, reason: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Select the files of `spec` (its `files`, `base-directory`, `exclude-paths`, `discard-paths`)
/// under `src_root`.
pub fn select(src_root: &Path, spec: &Artifacts) -> Result<Vec<Selected>, SelectError> {
    select_files(
        src_root,
        spec.base_directory.as_deref(),
        &spec.files,
        &spec.exclude_paths,
        spec.discard_paths,
    )
}

/// The lower-level selection, shared by artifacts, report files and cache paths.
pub fn select_files(
    root: &Path,
    base_directory: Option<&str>,
    files: &[String],
    exclude_paths: &[String],
    discard_paths: bool,
) -> Result<Vec<Selected>, SelectError> {
    let root = fs::canonicalize(root)?;
    let base = match base_directory.map(str::trim).filter(|b| !b.is_empty()) {
        None => root.clone(),
        Some(pattern) => resolve_base(&root, pattern)?,
    };

    let include = build_set(files)?;
    if include.is_empty() {
        return Err(SelectError::NoMatch);
    }
    let include_dirs = build_dir_set(files)?;
    let exclude = build_set(exclude_paths)?;
    let exclude_dirs = build_dir_set(exclude_paths)?;

    let mut found = Vec::new();
    let mut walker = Walker {
        root: &root,
        include: &include,
        include_dirs: &include_dirs,
        exclude: &exclude,
        exclude_dirs: &exclude_dirs,
        found: &mut found,
    };
    walker.walk(&base, "", false)?;

    let mut selected: Vec<Selected> = found
        .into_iter()
        .map(|(source, rel)| {
            let archive_path = if discard_paths {
                rel.rsplit('/').next().unwrap_or(&rel).to_owned()
            } else {
                rel
            };
            Selected {
                source,
                archive_path,
            }
        })
        .collect();
    selected.sort_by(|a, b| {
        (a.archive_path.as_str(), &a.source).cmp(&(b.archive_path.as_str(), &b.source))
    });
    selected.dedup_by(|a, b| a.archive_path == b.archive_path);
    if selected.is_empty() {
        return Err(SelectError::NoMatch);
    }
    Ok(selected)
}

/// Clean a user pattern: trim, drop `./` and empty segments and a trailing `/`, resolve `..`
/// against preceding literal segments. Absolute paths and escapes are refused.
fn clean_pattern(pattern: &str) -> Result<String, SelectError> {
    let p = pattern.trim();
    if p.starts_with('/') || p.starts_with('\\') || Path::new(p).has_root() || has_drive(p) {
        return Err(SelectError::Escape(p.to_owned()));
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => match parts.last() {
                Some(prev) if !is_glob(prev) => {
                    parts.pop();
                }
                _ => return Err(SelectError::Escape(p.to_owned())),
            },
            s => parts.push(s),
        }
    }
    Ok(parts.join("/"))
}

fn has_drive(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

fn compile(pattern: &str) -> Result<Glob, SelectError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| SelectError::BadPattern {
            pattern: pattern.to_owned(),
            reason: e.kind().to_string(),
        })
}

fn build_set(patterns: &[String]) -> Result<GlobSet, SelectError> {
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let cleaned = clean_pattern(p)?;
        if cleaned.is_empty() {
            // `.` or `./` — the whole base directory.
            builder.add(compile("**")?);
            continue;
        }
        builder.add(compile(&cleaned)?);
    }
    builder.build().map_err(|e| SelectError::BadPattern {
        pattern: patterns.join(", "),
        reason: e.to_string(),
    })
}

/// The patterns that name a directory literally (`dist`, `dist/`, `a/b`): such a directory
/// contributes all the files under it. Glob patterns (`dist/*`) only ever match files.
fn build_dir_set(patterns: &[String]) -> Result<GlobSet, SelectError> {
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let cleaned = clean_pattern(p)?;
        if !cleaned.is_empty() && !is_glob(&cleaned) {
            builder.add(compile(&cleaned)?);
        }
    }
    builder.build().map_err(|e| SelectError::BadPattern {
        pattern: patterns.join(", "),
        reason: e.to_string(),
    })
}

/// Is `path` (already canonical) inside `root` (canonical)?
fn inside(root: &Path, path: &Path) -> bool {
    path.starts_with(root)
}

fn resolve_base(root: &Path, pattern: &str) -> Result<PathBuf, SelectError> {
    let cleaned = clean_pattern(pattern)?;
    if cleaned.is_empty() {
        return Ok(root.to_path_buf());
    }
    let candidate = if is_glob(&cleaned) {
        let glob = compile(&cleaned)?.compile_matcher();
        let mut dirs = Vec::new();
        collect_dirs(root, "", &glob, &mut dirs, 0)?;
        match dirs.len() {
            0 => return Err(SelectError::NoMatch),
            1 => dirs.remove(0),
            count => {
                return Err(SelectError::AmbiguousBaseDirectory {
                    pattern: pattern.to_owned(),
                    count,
                });
            }
        }
    } else {
        root.join(&cleaned)
    };
    let canonical = match fs::canonicalize(&candidate) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SelectError::NoMatch),
        Err(e) => return Err(e.into()),
    };
    if !inside(root, &canonical) {
        return Err(SelectError::Escape(pattern.to_owned()));
    }
    if !canonical.is_dir() {
        return Err(SelectError::NoMatch);
    }
    Ok(canonical)
}

/// Directories (not symlinks) under `dir` whose root-relative path matches `glob`.
fn collect_dirs(
    dir: &Path,
    rel: &str,
    glob: &globset::GlobMatcher,
    out: &mut Vec<PathBuf>,
    depth: usize,
) -> Result<(), SelectError> {
    if depth > 64 {
        return Ok(());
    }
    for (name, path, ft) in sorted_entries(dir)? {
        if !ft.is_dir() {
            continue;
        }
        let child = join_rel(rel, &name);
        if glob.is_match(&child) {
            out.push(path.clone());
        }
        collect_dirs(&path, &child, glob, out, depth + 1)?;
    }
    Ok(())
}

fn join_rel(rel: &str, name: &str) -> String {
    if rel.is_empty() {
        name.to_owned()
    } else {
        format!("{rel}/{name}")
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf, fs::FileType)>, SelectError> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            // Non-UTF-8 names cannot be expressed as archive paths; skip them.
            continue;
        };
        entries.push((name, entry.path(), entry.file_type()?));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

struct Walker<'a> {
    root: &'a Path,
    include: &'a GlobSet,
    include_dirs: &'a GlobSet,
    exclude: &'a GlobSet,
    exclude_dirs: &'a GlobSet,
    found: &'a mut Vec<(PathBuf, String)>,
}

impl Walker<'_> {
    /// Walk `dir` (base-relative path `rel`); `selected` = an ancestor directory matched
    /// `files`.
    fn walk(&mut self, dir: &Path, rel: &str, selected: bool) -> Result<(), SelectError> {
        for (name, path, ft) in sorted_entries(dir)? {
            let child = join_rel(rel, &name);
            if ft.is_dir() {
                if self.exclude_dirs.is_match(&child) {
                    continue;
                }
                let matched = selected || self.include_dirs.is_match(&child);
                self.walk(&path, &child, matched)?;
                continue;
            }
            if self.exclude.is_match(&child) {
                continue;
            }
            let matched = selected || self.include.is_match(&child);
            if ft.is_symlink() {
                if matched {
                    self.symlink(&path, child)?;
                }
            } else if matched && ft.is_file() {
                self.push(path, child)?;
            }
        }
        Ok(())
    }

    fn symlink(&mut self, path: &Path, rel: String) -> Result<(), SelectError> {
        let target = fs::read_link(path)?;
        // Lexical check first: a link whose text already leaves the root is refused even if
        // its target does not exist.
        let parent = path.parent().unwrap_or(self.root);
        let lexical = normalize(&parent.join(&target));
        if !inside(self.root, &lexical) {
            return Err(SelectError::Escape(rel));
        }
        match fs::canonicalize(path) {
            Ok(resolved) if !inside(self.root, &resolved) => Err(SelectError::Escape(rel)),
            Ok(_) => self.push(path.to_path_buf(), rel),
            // Dangling link inside the root: nothing to upload.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn push(&mut self, source: PathBuf, rel: String) -> Result<(), SelectError> {
        if self.found.len() >= MAX_FILES {
            return Err(SelectError::TooMany(MAX_FILES));
        }
        self.found.push((source, rel));
        Ok(())
    }
}

/// Lexically resolve `.` and `..` (no file system access).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
#[path = "artifacts_tests.rs"]
mod tests;
