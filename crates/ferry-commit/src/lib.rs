//! Ferry's git hosting (CodeCommit): repositories on disk, the smart-HTTP transport (spawning
//! `git upload-pack` / `git receive-pack` in stateless-RPC mode and streaming both ways), ref
//! reads and updates, and the CodeCommit API adapter that implements the generated
//! `ferry_model::codecommit::CodeCommit` trait on top of the domain functions.
//!
//! Layout on disk: `<data-dir>/git/<repositoryId>.git`, a bare repository; the name lives only
//! in the database, so renames touch no files.

pub mod advert;
pub mod api;
pub mod git;
pub mod hunks;
pub mod names;
pub mod push;
pub mod rules;
pub mod service;
pub mod transport;
pub mod triggers;

pub use service::CommitService;
