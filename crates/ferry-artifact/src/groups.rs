//! Package groups as the service keeps and applies them: a domain's groups (the root `/*`
//! always among them, allowing everything until changed), each group's parent (the most
//! specific other group whose packages include its own), the group a package belongs to (the
//! most specific match; a match only after folding case and separators is a weak association,
//! and a weakly associated package may not enter at all), a restriction's effective mode
//! (`INHERIT` resolved up the hierarchy), and the three checks origin controls make:
//! `PUBLISH` into a repository, `INTERNAL_UPSTREAM` (a repository keeping what its upstreams
//! have) and `EXTERNAL_UPSTREAM` (a repository ingesting through its external connection).
//! Both a package's own controls and its group's must allow a version in.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ferry_store::artifacts::PackageKey;
use serde::{Deserialize, Serialize};

use crate::group_pattern::{Pattern, ROOT};
use crate::records::{DomainDoc, PackageDoc};
use crate::service::ArtifactService;

/// The restriction types, as the wire names them.
pub const PUBLISH: &str = "PUBLISH";
pub const INTERNAL_UPSTREAM: &str = "INTERNAL_UPSTREAM";
pub const EXTERNAL_UPSTREAM: &str = "EXTERNAL_UPSTREAM";
pub const TYPES: [&str; 3] = [EXTERNAL_UPSTREAM, INTERNAL_UPSTREAM, PUBLISH];

pub const ALLOW: &str = "ALLOW";
pub const BLOCK: &str = "BLOCK";
pub const ALLOW_SPECIFIC: &str = "ALLOW_SPECIFIC_REPOSITORIES";
pub const INHERIT: &str = "INHERIT";

/// A group as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Restriction type → mode.
    pub restrictions: BTreeMap<String, String>,
    /// Restriction type → the repositories `ALLOW_SPECIFIC_REPOSITORIES` lets in.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allowed: BTreeMap<String, BTreeSet<String>>,
}

impl GroupDoc {
    fn with_mode(mode: &str) -> Self {
        Self {
            restrictions: TYPES.iter().map(|t| ((*t).into(), mode.into())).collect(),
            ..Self::default()
        }
    }

    /// The root group before anyone changes it: everything allowed.
    pub fn root() -> Self {
        Self::with_mode(ALLOW)
    }

    /// A new group: every restriction inherited.
    pub fn new_group() -> Self {
        Self::with_mode(INHERIT)
    }

    pub fn mode(&self, ty: &str) -> &str {
        self.restrictions.get(ty).map_or(INHERIT, String::as_str)
    }
}

/// One group of a domain.
#[derive(Debug, Clone)]
pub struct Group {
    pub pattern: Pattern,
    pub text: String,
    pub doc: GroupDoc,
    pub created_ms: i64,
}

/// A restriction's effective mode, the group it comes from and that group's allowed list.
pub struct Effective<'a> {
    pub mode: &'a str,
    pub from: &'a Group,
}

/// A domain's groups, the root first.
#[derive(Debug, Clone)]
pub struct Groups(Vec<Group>);

impl Groups {
    /// Groups from stored rows (pattern, document, creation time); the root is added, created
    /// with the domain, when it was never stored.
    pub fn new(rows: Vec<(String, String, i64)>, domain_created_ms: i64) -> Self {
        let mut all: Vec<Group> = rows
            .into_iter()
            .filter_map(|(text, doc, created_ms)| {
                Some(Group {
                    pattern: Pattern::parse(&text).ok()?,
                    doc: serde_json::from_str(&doc).ok()?,
                    text,
                    created_ms,
                })
            })
            .collect();
        if !all.iter().any(|g| g.pattern == Pattern::All) {
            all.push(Group {
                pattern: Pattern::All,
                text: ROOT.into(),
                doc: GroupDoc::root(),
                created_ms: domain_created_ms,
            });
        }
        all.sort_by(|a, b| a.text.cmp(&b.text));
        Self(all)
    }

    pub fn all(&self) -> &[Group] {
        &self.0
    }

    pub fn get(&self, text: &str) -> Option<&Group> {
        self.0.iter().find(|g| g.text == text)
    }

    /// The most specific other group whose packages include all of `p`'s.
    pub fn parent(&self, p: &Pattern) -> Option<&Group> {
        self.0
            .iter()
            .filter(|g| g.pattern.contains(p))
            .max_by_key(|g| g.pattern.rank())
    }

    /// The groups whose parent is `p`.
    pub fn children(&self, p: &Pattern) -> Vec<&Group> {
        self.0
            .iter()
            .filter(|g| self.parent(&g.pattern).is_some_and(|q| q.pattern == *p))
            .collect()
    }

    /// The group package `namespace`/`name` of `format` belongs to, and whether the
    /// association is strong. With `extra`, as if that pattern were a group too (a preview).
    pub fn associated<'a>(
        &'a self,
        format: &str,
        namespace: &str,
        name: &str,
        extra: Option<&'a Group>,
    ) -> (&'a Group, bool) {
        self.0
            .iter()
            .chain(extra)
            .filter_map(|g| {
                let strong = g.pattern.matches(format, namespace, name);
                (strong || g.pattern.matches_folded(format, namespace, name)).then_some((g, strong))
            })
            .max_by_key(|(g, strong)| (g.pattern.rank(), *strong))
            .expect("the root group matches every package")
    }

    /// Restriction `ty` of `g` with `INHERIT` resolved up the hierarchy (the root's `INHERIT`
    /// counts as `ALLOW`).
    pub fn effective<'a>(&'a self, g: &'a Group, ty: &str) -> Effective<'a> {
        let mut at = g;
        for _ in 0..=self.0.len() {
            let mode = at.doc.mode(ty);
            if mode != INHERIT {
                return Effective { mode, from: at };
            }
            match self.parent(&at.pattern) {
                Some(p) => at = p,
                None => break,
            }
        }
        Effective {
            mode: ALLOW,
            from: at,
        }
    }

    /// Whether restriction `ty` lets a version of the package of `k` into `repository`; when
    /// not, the group that refuses it.
    pub fn allows(&self, k: &PackageKey, repository: &str, ty: &str) -> Result<(), &Group> {
        let (g, strong) = self.associated(&k.format, &k.namespace, &k.name, None);
        if !strong {
            return Err(g);
        }
        let e = self.effective(g, ty);
        let ok = match e.mode {
            BLOCK => false,
            ALLOW_SPECIFIC => e
                .from
                .doc
                .allowed
                .get(ty)
                .is_some_and(|repos| repos.contains(repository)),
            _ => true,
        };
        if ok { Ok(()) } else { Err(g) }
    }
}

impl ArtifactService {
    /// A domain's groups (kept per generation: every write to a group moves it on).
    pub(crate) async fn groups(&self, domain: &str) -> Arc<Groups> {
        let generation = self.store.ca_generation();
        if let Some(g) = self.caches.groups(domain, generation) {
            return g;
        }
        let created_ms = match self.store.ca_domain(domain).await {
            Ok(Some(doc)) => serde_json::from_str::<DomainDoc>(&doc).map_or(0, |d| d.created_ms),
            _ => 0,
        };
        let rows = self.store.ca_groups(domain).await.unwrap_or_default();
        let groups = Arc::new(Groups::new(rows, created_ms));
        self.caches.keep_groups(domain, generation, groups.clone());
        groups
    }

    /// Whether a version of `k`'s package may be published into `k`'s repository: the
    /// package's own control (`pkg`, its record there) and its group's `PUBLISH` restriction
    /// must both allow it. The refusal names what refused.
    pub(crate) async fn may_publish(
        &self,
        k: &PackageKey,
        pkg: Option<&PackageDoc>,
    ) -> Result<(), String> {
        if pkg.is_some_and(|p| p.publish == BLOCK) {
            return Err(format!(
                "Publishing {} to repository {} is blocked by the package's origin configuration",
                k.name, k.repository
            ));
        }
        self.group_allows(k, &k.repository, PUBLISH).await
    }

    /// Whether restriction `ty` of the group of `k`'s package lets a version into
    /// `repository`; the refusal names the group.
    pub(crate) async fn group_allows(
        &self,
        k: &PackageKey,
        repository: &str,
        ty: &str,
    ) -> Result<(), String> {
        let groups = self.groups(&k.domain).await;
        groups.allows(k, repository, ty).map_err(|g| {
            format!(
                "{} of {} into repository {repository} is blocked by the origin configuration of package group {}",
                match ty {
                    PUBLISH => "Publishing",
                    INTERNAL_UPSTREAM => "Taking versions from upstream repositories",
                    _ => "Ingesting from an external connection",
                },
                k.name,
                g.text
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(format: &str, ns: &str, name: &str) -> PackageKey {
        PackageKey {
            domain: "d".into(),
            repository: "r".into(),
            format: format.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    fn row(p: &str, doc: GroupDoc) -> (String, String, i64) {
        (p.into(), serde_json::to_string(&doc).unwrap(), 1)
    }

    #[test]
    fn inherits_down_the_hierarchy_and_allows_specific_repositories() {
        let mut npm = GroupDoc::new_group();
        npm.restrictions
            .insert(PUBLISH.into(), ALLOW_SPECIFIC.into());
        npm.allowed
            .insert(PUBLISH.into(), ["internal".to_string()].into());
        npm.restrictions
            .insert(EXTERNAL_UPSTREAM.into(), BLOCK.into());
        let mut exact = GroupDoc::new_group();
        exact
            .restrictions
            .insert(EXTERNAL_UPSTREAM.into(), ALLOW.into());
        let groups = Groups::new(
            vec![
                row("/npm/*", npm),
                row("/npm/space/*", GroupDoc::new_group()),
                row("/npm//left-pad$", exact),
            ],
            0,
        );
        assert_eq!(groups.all().len(), 4, "the root is there");
        let space = groups.get("/npm/space/*").unwrap();
        assert_eq!(groups.parent(&space.pattern).unwrap().text, "/npm/*");
        let e = groups.effective(space, PUBLISH);
        assert_eq!((e.mode, e.from.text.as_str()), (ALLOW_SPECIFIC, "/npm/*"));
        let e = groups.effective(space, INTERNAL_UPSTREAM);
        assert_eq!((e.mode, e.from.text.as_str()), (ALLOW, "/*"));
        let k = key("npm", "space", "ui");
        assert!(groups.allows(&k, "internal", PUBLISH).is_ok());
        assert_eq!(
            groups.allows(&k, "public", PUBLISH).unwrap_err().text,
            "/npm/space/*"
        );
        assert!(groups.allows(&k, "public", EXTERNAL_UPSTREAM).is_err());
        assert!(
            groups
                .allows(&key("npm", "", "left-pad"), "x", EXTERNAL_UPSTREAM)
                .is_ok()
        );
        // Weakly associated: refused whatever the group allows.
        assert!(
            groups
                .allows(&key("npm", "", "Left_Pad"), "x", EXTERNAL_UPSTREAM)
                .is_err()
        );
        // Other formats fall to the root, which allows everything.
        assert!(
            groups
                .allows(&key("pypi", "", "x"), "public", PUBLISH)
                .is_ok()
        );
        let children: Vec<_> = groups
            .children(&Pattern::parse("/npm/*").unwrap())
            .iter()
            .map(|g| g.text.clone())
            .collect();
        assert_eq!(children, ["/npm//left-pad$", "/npm/space/*"]);
    }
}
