//! Ferry's CodeArtifact: domains, repositories with upstreams and external connections, and
//! packages in every format with their versions and assets. The API (`api.rs` for domains,
//! repositories, tokens, endpoints, policies and tags; `packages_api.rs` for packages and
//! versions; `bulk.rs` for the operations on several versions at once) works on the records of
//! `records.rs`; names and formats are checked in `names.rs`; assets are hashed and stored once
//! per content by `assets.rs`; authorization tokens are minted and checked by `tokens.rs`. The
//! package managers' own protocols are served at each repository's endpoint (`native.rs`):
//! npm in `npm.rs`, PyPI in `pypi.rs` (its upload forms parsed by `multipart.rs`), Maven in
//! `maven.rs`, Cargo in `cargo.rs`; what a repository serves through its upstreams, and
//! retention, are in `upstream.rs`; external connections to public registries in `external.rs`;
//! what the endpoints remember between requests in `cache.rs`.

pub mod api;
pub mod assets;
mod bulk;
mod cache;
mod cargo;
pub mod external;
pub mod group_pattern;
pub mod groups;
mod groups_api;
mod maven;
pub mod multipart;
pub mod names;
pub mod native;
mod npm;
mod packages_api;
mod pypi;
pub mod records;
pub mod service;
pub mod tokens;
mod upstream;

pub use api::ArtifactApi;
pub use service::{ArtifactService, ArtifactSettings};
