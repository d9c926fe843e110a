//! What the store keeps for each CodeArtifact resource, as JSON documents beside the columns
//! the store indexes: a domain's owner, encryption key and policy; a repository's description,
//! upstreams (in priority order), external connection and policy; a package's origin controls;
//! a version's revision, origin and format metadata; an asset's hashes; npm's dist-tags with
//! the package.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A resource policy and its revision.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Policy {
    pub revision: String,
    pub document: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainDoc {
    pub owner: String,
    pub encryption_key: String,
    pub created_ms: i64,
    #[serde(default)]
    pub policy: Option<Policy>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryDoc {
    #[serde(default)]
    pub description: Option<String>,
    /// Direct upstreams, highest priority first.
    #[serde(default)]
    pub upstreams: Vec<String>,
    #[serde(default)]
    pub external_connections: Vec<String>,
    pub created_ms: i64,
    #[serde(default)]
    pub policy: Option<Policy>,
}

/// A package's origin controls (`ALLOW` / `BLOCK`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PackageDoc {
    pub publish: String,
    pub upstream: String,
    /// npm's dist-tags (tag → version) in this repository.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dist_tags: BTreeMap<String, String>,
    /// npm: versions taken away with `npm unpublish` (version → when), which npm never lets
    /// be published again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unpublished: BTreeMap<String, i64>,
    /// npm: when the whole package was unpublished (no new version for 24 hours after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpublished_all_ms: Option<i64>,
}

impl PackageDoc {
    /// The controls a package gets when its first version is published directly.
    pub fn published() -> Self {
        Self::with("ALLOW", "BLOCK")
    }

    /// The controls a package gets when its first version comes from an upstream or an
    /// external connection.
    pub fn ingested() -> Self {
        Self::with("BLOCK", "ALLOW")
    }

    /// A package record with these origin controls.
    pub fn with(publish: &str, upstream: &str) -> Self {
        Self {
            publish: publish.into(),
            upstream: upstream.into(),
            dist_tags: BTreeMap::new(),
            unpublished: BTreeMap::new(),
            unpublished_all_ms: None,
        }
    }
}

/// A dependency a version declares.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    #[serde(default)]
    pub namespace: Option<String>,
    pub package: String,
    #[serde(default)]
    pub dependency_type: Option<String>,
    #[serde(default)]
    pub version_requirement: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionDoc {
    pub revision: String,
    /// `INTERNAL` (published to this repository), `EXTERNAL` (from an external connection).
    pub origin_type: String,
    /// The repository or external connection the version entered the domain through.
    #[serde(default)]
    pub origin_repository: Option<String>,
    #[serde(default)]
    pub origin_external: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub home_page: Option<String>,
    #[serde(default)]
    pub source_code_repository: Option<String>,
    #[serde(default)]
    pub readme: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// Format-specific metadata (an npm version document, PyPI's `requires_python`, …).
    #[serde(default)]
    pub metadata: serde_json::Value,
}

/// An asset's hashes, by CodeArtifact's algorithm names (`MD5`, `SHA-1`, `SHA-256`, `SHA-512`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AssetDoc {
    pub hashes: BTreeMap<String, String>,
}

/// A version's revision: a digest of its assets' names and contents, so that it changes
/// whenever they do.
pub fn revision_of<'a>(assets: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<_> = assets.into_iter().collect();
    pairs.sort();
    let mut h = Sha256::new();
    for (name, sha) in pairs {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(sha.as_bytes());
        h.update([0]);
    }
    base64::engine::general_purpose::STANDARD.encode(&h.finalize()[..24])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revision_follows_the_assets_not_their_order() {
        let a = revision_of([("a.tgz", "11"), ("b.txt", "22")]);
        assert_eq!(a, revision_of([("b.txt", "22"), ("a.tgz", "11")]));
        assert_ne!(a, revision_of([("a.tgz", "11"), ("b.txt", "23")]));
        assert_ne!(a, revision_of([("a.tgz", "11")]));
    }
}
