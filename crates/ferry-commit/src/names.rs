//! Validation of repository and branch names beyond what the service model's patterns say.

/// Whether `name` is a valid CodeCommit repository name: 1–100 of `[A-Za-z0-9_.-]`, not `.`
/// or `..`, and not ending in `.git`.
pub fn valid_repository_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && name != "."
        && name != ".."
        && !name.to_ascii_lowercase().ends_with(".git")
}

/// Whether `name` is a valid branch name (git's `check-ref-format --branch` rules, 1–256 bytes).
pub fn valid_branch_name(name: &str) -> bool {
    let name = name.strip_prefix("refs/heads/").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 256
        && name != "@"
        && !name.starts_with('-')
        && !name.starts_with('/')
        && !name.ends_with('/')
        && !name.ends_with('.')
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && !name
            .bytes()
            .any(|b| b < 0x20 || b == 0x7f || b" ~^:?*[\\".contains(&b))
        && name
            .split('/')
            .all(|c| !c.starts_with('.') && !c.ends_with(".lock"))
}

/// Whether `id` is a full 40-hex SHA-1 commit id.
pub fn is_full_sha(id: &str) -> bool {
    id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
        for ok in ["a", "my-repo", "My_Repo.v2", &"x".repeat(100)] {
            assert!(valid_repository_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a b",
            "repo.git",
            "REPO.GIT",
            &"x".repeat(101),
            "é",
        ] {
            assert!(!valid_repository_name(bad), "{bad}");
        }
    }

    #[test]
    fn branch_names() {
        for ok in ["main", "feature/x", "refs/heads/dev", "v1.2"] {
            assert!(valid_branch_name(ok), "{ok}");
        }
        for bad in [
            "", "-x", "a..b", "a b", "a~1", "x.lock", "a//b", "a/", ".hidden", "a@{1}", "@", "x:y",
        ] {
            assert!(!valid_branch_name(bad), "{bad}");
        }
    }
}

/// The most path components CodeCommit accepts.
pub const MAX_PATH_DEPTH: usize = 20;

/// Normalises a file or folder path given to the API: a leading `/` is dropped; empty
/// components, `.`, `..`, `.git`, NUL and backslashes are refused, as are paths over 4096
/// bytes or 20 levels. Returns `None` for a refused path; `""` is the root.
pub fn normalize_path(path: &str) -> Option<String> {
    let p = path.strip_prefix('/').unwrap_or(path);
    let p = p.strip_suffix('/').unwrap_or(p);
    if p.is_empty() {
        return Some(String::new());
    }
    if p.len() > 4096 || p.contains(['\0', '\\']) {
        return None;
    }
    let parts: Vec<&str> = p.split('/').collect();
    if parts.len() > MAX_PATH_DEPTH
        || parts
            .iter()
            .any(|c| c.is_empty() || *c == "." || *c == ".." || c.eq_ignore_ascii_case(".git"))
    {
        return None;
    }
    Some(p.to_owned())
}

#[cfg(test)]
mod path_tests {
    use super::normalize_path;

    #[test]
    fn paths() {
        assert_eq!(normalize_path("/a/b.txt").as_deref(), Some("a/b.txt"));
        assert_eq!(normalize_path("a/b/").as_deref(), Some("a/b"));
        assert_eq!(normalize_path("/").as_deref(), Some(""));
        for bad in [
            "a/../b",
            "../x",
            "a//b",
            "./a",
            ".git/config",
            "a/.GIT/x",
            "a\0b",
            "a\\b",
            &"d/".repeat(21),
        ] {
            assert_eq!(normalize_path(bad), None, "{bad:?}");
        }
    }
}
