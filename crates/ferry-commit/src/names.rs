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
