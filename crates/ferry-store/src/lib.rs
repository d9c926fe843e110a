//! Ferry's persistence: the metadata store (one SQL code path for SQLite and PostgreSQL,
//! migrations numbered in lockstep under `migrations/<backend>/`), secrets sealed at rest, the
//! blob store, and the in-process event bus. Domain crates call the typed functions of the
//! per-concern modules here; no other crate writes SQL.
//!
//! Portability rules for SQL in this crate: ids, names and JSON are `TEXT`; times are `BIGINT`
//! milliseconds; booleans are `BIGINT` 0/1; placeholders are `$1, $2, ...` numbered in order of
//! first appearance (SQLite binds them by that order).

pub mod agent_tokens;
pub mod approvals;
pub mod artifacts;
pub mod blob;
pub mod builds;
mod ca_changes;
mod checkpoint;
pub mod comments;
pub mod console;
pub mod db;
pub mod deploys;
pub mod error;
pub mod events;
pub mod iam;
pub mod identity;
pub mod logs;
pub mod params;
pub mod pipeline_jobs;
pub mod pipelines;
pub mod pulls;
pub mod reports;
pub mod repos;
mod rows;
pub mod s3;
pub mod secret;
pub mod secrets;
pub mod tags;
pub mod testing;
pub mod triggers;
mod write_gate;

pub use db::{Backend, Store, WriteTx};
pub use error::StoreError;
