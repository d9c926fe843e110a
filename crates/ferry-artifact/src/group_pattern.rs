//! Package group patterns: parsing and validating them (`/*`, `/npm/*`, `/maven/com.acme~`,
//! `/npm/space/*`, `/npm/space/ui~`, `/maven/org.acme/core$`), matching a package to one
//! (exactly — a strong association — or after case folding and separator folding — a weak
//! one), ranking them by specificity, and which pattern's packages include another's (the
//! group hierarchy). A `~` prefix matches at a word boundary only: `foo~` matches `foo` and
//! `foo-bar`, not `food`.

use ferry_model::codeartifact::PackageFormat;

use crate::names;

/// A parsed package group pattern; formats are kept as their wire names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// `/*`: every package of the domain (the root group).
    All,
    /// `/<format>/*`.
    Format(String),
    /// `/<format>/<namespace prefix>~`.
    NamespacePrefix(String, String),
    /// `/<format>/<namespace>/*` (an empty namespace: packages without one).
    Namespace(String, String),
    /// `/<format>/<namespace>/<name prefix>~`.
    NamePrefix(String, String, String),
    /// `/<format>/<namespace>/<name>$`.
    Exact(String, String, String),
}

/// The root group's pattern.
pub const ROOT: &str = "/*";

fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

/// Whether `prefix` is a prefix of `value` ending at a word boundary.
fn word_prefix(prefix: &str, value: &str) -> bool {
    value
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.chars().next().is_none_or(|c| !is_word(c)))
}

/// The form a weak association compares: lower case, every run of `-`, `.` and `_` as one `.`.
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut sep = false;
    for c in s.chars() {
        if "-._".contains(c) {
            sep = true;
            continue;
        }
        if sep {
            out.push('.');
            sep = false;
        }
        out.extend(c.to_lowercase());
    }
    if sep {
        out.push('.');
    }
    out
}

fn component_ok(s: &str) -> bool {
    s.chars()
        .all(|c| !c.is_whitespace() && !c.is_control() && !"*~$#/".contains(c))
}

impl Pattern {
    /// Parses `text`, refusing what CodeArtifact refuses, with the reason.
    pub fn parse(text: &str) -> Result<Self, String> {
        if !(2..=520).contains(&text.chars().count()) {
            return Err("A package group pattern has 2 to 520 characters".into());
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err("A package group pattern starts with /".into());
        };
        if rest == "*" {
            return Ok(Self::All);
        }
        let parts: Vec<&str> = rest.split('/').collect();
        let pattern = match parts.as_slice() {
            [f, "*"] => Self::Format((*f).into()),
            [f, last] => match last.strip_suffix('~') {
                Some(p) => Self::NamespacePrefix((*f).into(), p.into()),
                None => return Err(SUFFIXES.into()),
            },
            [f, ns, "*"] => Self::Namespace((*f).into(), (*ns).into()),
            [f, ns, last] => {
                if let Some(p) = last.strip_suffix('~') {
                    Self::NamePrefix((*f).into(), (*ns).into(), p.into())
                } else if let Some(n) = last.strip_suffix('$') {
                    Self::Exact((*f).into(), (*ns).into(), n.into())
                } else {
                    return Err(SUFFIXES.into());
                }
            }
            _ => return Err(SUFFIXES.into()),
        };
        pattern.check()?;
        Ok(pattern)
    }

    fn check(&self) -> Result<(), String> {
        let (format, namespace, name, prefix) = match self {
            Self::All => return Ok(()),
            Self::Format(f) => (f, None, None, None),
            Self::NamespacePrefix(f, p) => (f, None, None, Some(p)),
            Self::Namespace(f, ns) => (f, Some(ns), None, None),
            Self::NamePrefix(f, ns, p) => (f, Some(ns), None, Some(p)),
            Self::Exact(f, ns, n) => (f, Some(ns), Some(n), None),
        };
        let Some(fmt) = PackageFormat::parse(format) else {
            return Err(format!("{format:?} is not a package format"));
        };
        for part in [namespace, name, prefix].into_iter().flatten() {
            if !component_ok(part) || part.len() > 255 {
                return Err(format!("{part:?} is not a valid pattern component"));
            }
        }
        if prefix.is_some_and(|p| !p.chars().last().is_some_and(is_word)) {
            return Err("~ follows a letter or a digit".into());
        }
        if name.is_some_and(String::is_empty) {
            return Err("$ follows a package name".into());
        }
        let has_namespace = names::namespace_rule(fmt);
        let ns_given = match self {
            Self::NamespacePrefix(..) => Some(true),
            _ => namespace.map(|n| !n.is_empty()),
        };
        match (has_namespace, ns_given) {
            (None, Some(true)) => {
                return Err(format!(
                    "{format} packages have no namespace: leave its part empty (/{format}//...)"
                ));
            }
            (Some(true), Some(false)) | (Some(false), Some(false)) if fmt != PackageFormat::Npm => {
                return Err(format!(
                    "{format} packages are named with their namespace: give it (/{format}/<namespace>/...)"
                ));
            }
            _ => {}
        }
        if fmt == PackageFormat::Npm
            && [namespace, prefix]
                .into_iter()
                .flatten()
                .any(|s| s.starts_with('@'))
        {
            return Err("An npm scope is written without its @".into());
        }
        if matches!(fmt, PackageFormat::Pypi | PackageFormat::Nuget) {
            for part in [name, prefix].into_iter().flatten() {
                let normal = names::normalise(fmt, part);
                if normal != *part {
                    return Err(format!(
                        "{format} names are matched normalised: write {normal:?}, not {part:?}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The pattern as text (what `parse` accepted).
    pub fn text(&self) -> String {
        match self {
            Self::All => ROOT.into(),
            Self::Format(f) => format!("/{f}/*"),
            Self::NamespacePrefix(f, p) => format!("/{f}/{p}~"),
            Self::Namespace(f, ns) => format!("/{f}/{ns}/*"),
            Self::NamePrefix(f, ns, p) => format!("/{f}/{ns}/{p}~"),
            Self::Exact(f, ns, n) => format!("/{f}/{ns}/{n}$"),
        }
    }

    /// Specificity: of two patterns matching a package, the higher one is its group's.
    pub fn rank(&self) -> (u8, usize) {
        match self {
            Self::All => (0, 0),
            Self::Format(_) => (1, 0),
            Self::NamespacePrefix(_, p) => (2, p.len()),
            Self::Namespace(..) => (3, 0),
            Self::NamePrefix(_, _, p) => (4, p.len()),
            Self::Exact(..) => (5, 0),
        }
    }

    fn matches_with(&self, format: &str, ns: &str, name: &str, f: &dyn Fn(&str) -> String) -> bool {
        match self {
            Self::All => true,
            Self::Format(pf) => pf == format,
            Self::NamespacePrefix(pf, p) => pf == format && word_prefix(&f(p), &f(ns)),
            Self::Namespace(pf, pns) => pf == format && f(pns) == f(ns),
            Self::NamePrefix(pf, pns, p) => {
                pf == format && f(pns) == f(ns) && word_prefix(&f(p), &f(name))
            }
            Self::Exact(pf, pns, n) => pf == format && f(pns) == f(ns) && f(n) == f(name),
        }
    }

    /// Whether package `namespace`/`name` of `format` matches exactly.
    pub fn matches(&self, format: &str, namespace: &str, name: &str) -> bool {
        self.matches_with(format, namespace, name, &|s| s.to_owned())
    }

    /// Whether it matches once case and separators are folded (a weak association when it
    /// does not match exactly).
    pub fn matches_folded(&self, format: &str, namespace: &str, name: &str) -> bool {
        self.matches_with(format, namespace, name, &fold)
    }

    /// Whether every package `other` matches, this matches too (and they differ): `other`
    /// sits below this in the hierarchy.
    pub fn contains(&self, other: &Pattern) -> bool {
        if self == other {
            return false;
        }
        let (of, ons) = match other {
            Self::All => return false,
            Self::Format(f) => (f, None),
            Self::NamespacePrefix(f, p) => (f, Some(p)),
            Self::Namespace(f, ns) | Self::NamePrefix(f, ns, _) | Self::Exact(f, ns, _) => {
                (f, Some(ns))
            }
        };
        match self {
            Self::All => true,
            Self::Format(f) => f == of && ons.is_some(),
            Self::NamespacePrefix(f, p) => f == of && ons.is_some_and(|n| word_prefix(p, n)),
            Self::Namespace(f, ns) => {
                matches!(other, Self::NamePrefix(of2, ons2, _) | Self::Exact(of2, ons2, _)
                    if of2 == f && ons2 == ns)
            }
            Self::NamePrefix(f, ns, p) => match other {
                Self::NamePrefix(of2, ons2, q) | Self::Exact(of2, ons2, q) => {
                    of2 == f && ons2 == ns && word_prefix(p, q)
                }
                _ => false,
            },
            Self::Exact(..) => false,
        }
    }
}

const SUFFIXES: &str =
    "A package group pattern ends in $ (a package), ~ (a prefix) or /* (every value)";

/// `pattern` in an ARN: `*`, `$` and `%` escaped.
pub fn arn_encode(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '%' => out.push_str("%25"),
            '*' => out.push_str("%2a"),
            '$' => out.push_str("%24"),
            c => out.push(c),
        }
    }
    out
}

/// The pattern an ARN's encoded part names.
pub fn arn_decode(encoded: &str) -> String {
    encoded
        .replace("%2a", "*")
        .replace("%2A", "*")
        .replace("%24", "$")
        .replace("%25", "%")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_the_documented_forms_and_round_trips() {
        for s in [
            "/*",
            "/npm/*",
            "/maven/com.anycompany~",
            "/npm/space/*",
            "/npm/space/anycompany-ui~",
            "/maven/org.apache.logging.log4j/log4j-core$",
            "/pypi//requests$",
            "/npm//react$",
            "/npm//*",
            "/cargo//serde~",
        ] {
            assert_eq!(p(s).text(), s);
        }
    }

    #[test]
    fn refuses_malformed_patterns() {
        for s in [
            "*",
            "/",
            "/npm",
            "/npm/sp*",
            "/npm/space/foo",
            "/npm/space/foo-~",
            "/npm/space/$",
            "/nope/*",
            "/pypi/ns/requests$",
            "/pypi/req~",
            "/maven//core$",
            "/generic//x~",
            "/npm/@space/*",
            "/pypi//Requests$",
            "/pypi//my_pkg$",
            "/npm/a/b/c$",
            "/npm/space/fo o$",
        ] {
            assert!(Pattern::parse(s).is_err(), "{s} should be refused");
        }
    }

    #[test]
    fn prefixes_match_at_word_boundaries() {
        let g = p("/npm/space/foo~");
        assert!(g.matches("npm", "space", "foo"));
        assert!(g.matches("npm", "space", "foo-bar"));
        assert!(!g.matches("npm", "space", "food"));
        assert!(!g.matches("npm", "other", "foo"));
        assert!(!g.matches("pypi", "space", "foo"));
        let ns = p("/maven/com.acme~");
        assert!(ns.matches("maven", "com.acme", "x"));
        assert!(ns.matches("maven", "com.acme.tools", "x"));
        assert!(!ns.matches("maven", "com.acmecorp", "x"));
        assert!(p("/npm//*").matches("npm", "", "react"));
        assert!(!p("/npm//*").matches("npm", "space", "react"));
    }

    #[test]
    fn weak_matches_fold_case_and_separators() {
        let g = p("/npm//anycompany-spicy-client$");
        assert!(g.matches("npm", "", "anycompany-spicy-client"));
        assert!(!g.matches("npm", "", "AnyCompany-spicy-client"));
        assert!(g.matches_folded("npm", "", "AnyCompany-spicy-client"));
        assert!(g.matches_folded("npm", "", "anycompany_spicy..client"));
        assert!(!g.matches_folded("npm", "", "anycompanyspicyclient"));
    }

    #[test]
    fn hierarchy_and_specificity() {
        let root = p("/*");
        let npm = p("/npm/*");
        let space = p("/npm/space/*");
        let ui = p("/npm/space/ui~");
        let ui_kit = p("/npm/space/ui-kit~");
        let exact = p("/npm/space/ui-kit-core$");
        assert!(root.contains(&npm) && npm.contains(&space) && space.contains(&ui));
        assert!(ui.contains(&ui_kit) && ui_kit.contains(&exact) && ui.contains(&exact));
        assert!(!ui_kit.contains(&ui) && !exact.contains(&exact) && !space.contains(&npm));
        assert!(!p("/npm/space/uix~").contains(&ui_kit));
        let prefix = p("/maven/com.acme~");
        assert!(prefix.contains(&p("/maven/com.acme.tools/*")));
        assert!(prefix.contains(&p("/maven/com.acme.tools~")));
        assert!(!prefix.contains(&p("/maven/com.acmecorp/*")));
        let mut ranked = [&exact, &root, &ui, &space, &npm, &ui_kit];
        ranked.sort_by_key(|g| g.rank());
        assert_eq!(ranked, [&root, &npm, &space, &ui, &ui_kit, &exact]);
    }

    #[test]
    fn arns_escape_the_suffixes() {
        assert_eq!(arn_encode("/npm/*"), "/npm/%2a");
        assert_eq!(arn_encode("/nuget//alpha$"), "/nuget//alpha%24");
        assert_eq!(arn_decode(&arn_encode("/npm/a%b/c$")), "/npm/a%b/c$");
    }
}
