//! The Ferry server: the axum router that puts every piece together. The edge gives each
//! request an id, authenticates it (SigV4 for the AWS APIs, Basic for git), records metrics,
//! and hands it to the service adapters: the JSON 1.1 and REST-JSON dispatchers generated in
//! `ferry-model`, and the git smart-HTTP transport of `ferry-commit`.

pub mod api;
pub mod artifact_http;
pub mod auth;
pub mod config;
pub mod console;
pub mod git_http;
pub mod lfs;
pub mod metrics;
pub mod query;
pub mod s3;
pub mod server;
#[cfg(feature = "ssh")]
pub mod ssh;
pub mod state;
pub mod token_endpoints;

pub use config::ServerConfig;
pub use server::{Ferry, start};
