//! The rules for names in CodeArtifact: domains, repositories, formats, the external
//! connections Ferry knows, package namespaces (which formats have one), name normalisation
//! (PyPI's PEP 503), asset names, and versions.

use ferry_model::codeartifact::PackageFormat;

/// Domain names: 2–50 of `[a-z0-9-]`, starting with a letter and not ending with `-`.
pub fn valid_domain(name: &str) -> bool {
    (2..=50).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Repository names: 2–100 of `[A-Za-z0-9._-]`, starting with a letter or digit.
pub fn valid_repository(name: &str) -> bool {
    (2..=100).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// The external connections Ferry knows (AWS's names) and the format each serves.
pub const EXTERNAL_CONNECTIONS: &[(&str, PackageFormat)] = &[
    ("public:npmjs", PackageFormat::Npm),
    ("public:pypi", PackageFormat::Pypi),
    ("public:maven-central", PackageFormat::Maven),
    ("public:maven-googleandroid", PackageFormat::Maven),
    ("public:maven-gradleplugins", PackageFormat::Maven),
    ("public:maven-commonsware", PackageFormat::Maven),
    ("public:maven-clojars", PackageFormat::Maven),
    ("public:nuget-org", PackageFormat::Nuget),
    ("public:ruby-gems-org", PackageFormat::Ruby),
    ("public:crates-io", PackageFormat::Cargo),
];

/// The format an external connection serves, when Ferry knows it.
pub fn external_format(name: &str) -> Option<PackageFormat> {
    EXTERNAL_CONNECTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

/// Whether packages of `format` have a namespace: `Some(true)` required (generic), `Some(false)`
/// optional (npm scope, Maven group, Swift scope), `None` never.
pub fn namespace_rule(format: PackageFormat) -> Option<bool> {
    match format {
        PackageFormat::Generic => Some(true),
        PackageFormat::Npm | PackageFormat::Maven | PackageFormat::Swift => Some(false),
        _ => None,
    }
}

/// A package name as CodeArtifact stores it: PyPI names normalised per PEP 503 (lower case,
/// runs of `-`, `_` and `.` as one `-`), NuGet names lower-cased, others as given.
pub fn normalise(format: PackageFormat, name: &str) -> String {
    match format {
        PackageFormat::Pypi => {
            let mut out = String::with_capacity(name.len());
            let mut dash = false;
            for c in name.chars() {
                if "-_.".contains(c) {
                    dash = true;
                } else {
                    if dash && !out.is_empty() {
                        out.push('-');
                    }
                    dash = false;
                    out.extend(c.to_lowercase());
                }
            }
            out
        }
        PackageFormat::Nuget => name.to_lowercase(),
        _ => name.to_owned(),
    }
}

/// Characters a path segment cannot smuggle in: separators, `..`, control characters.
fn safe_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && !s.contains(['/', '\\'])
        && !s.chars().any(char::is_control)
}

/// Package names and namespaces: 1–255 characters that are safe as one path segment.
pub fn valid_package(s: &str) -> bool {
    s.len() <= 255 && safe_segment(s)
}

/// Versions: 1–255 characters that are safe as one path segment.
pub fn valid_version(s: &str) -> bool {
    s.len() <= 255 && safe_segment(s) && !s.contains(char::is_whitespace)
}

/// Generic asset names: 1–255 Unicode letters and digits and ``~ ! @ ^ & ( ) - ` _ + [ ] { } ; , .``,
/// and not `.` or `..`.
pub fn valid_asset_name(s: &str) -> bool {
    (1..=255).contains(&s.len())
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_alphanumeric() || "~!@^&()-`_+[]{};,.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_and_repository_names() {
        assert!(valid_domain("acme") && valid_domain("a1-b"));
        for bad in ["a", "Acme", "1acme", "acme-", "ac_me", &"a".repeat(51)] {
            assert!(!valid_domain(bad), "{bad}");
        }
        assert!(valid_repository("My.repo_1-x") && valid_repository("r2"));
        for bad in ["r", ".repo", "re po", "re/po"] {
            assert!(!valid_repository(bad), "{bad}");
        }
    }

    #[test]
    fn pypi_names_are_normalised_as_pep_503_says() {
        assert_eq!(
            normalise(PackageFormat::Pypi, "Friendly-Bard"),
            "friendly-bard"
        );
        assert_eq!(
            normalise(PackageFormat::Pypi, "FRIENDLY._-bard"),
            "friendly-bard"
        );
        assert_eq!(
            normalise(PackageFormat::Pypi, "zope.interface"),
            "zope-interface"
        );
        assert_eq!(normalise(PackageFormat::Npm, "Left-Pad"), "Left-Pad");
    }

    #[test]
    fn asset_names_and_versions_cannot_escape_a_path() {
        assert!(valid_asset_name("cli-1.0.tar.gz") && valid_asset_name("ünïcode[1]"));
        for bad in ["", ".", "..", "a/b", "a\\b", "a b", "a\u{0}b"] {
            assert!(!valid_asset_name(bad), "{bad:?}");
        }
        assert!(valid_version("1.0.0-rc.1") && !valid_version("..") && !valid_version("1/2"));
        assert!(valid_package("@scope-less") && !valid_package("a/b"));
    }
}
