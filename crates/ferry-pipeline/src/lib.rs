//! Ferry's CodePipeline: the API (`api.rs`, views of executions in `views.rs`, declaration
//! checks in `validate.rs`), the engine that drives executions (`engine.rs`, with the execution
//! rules as a pure function in `step.rs` over the records of `record.rs`), the actions it runs
//! (`actions/`: CodeCommit and S3 sources, CodeBuild builds and batch builds, Commands,
//! CodeDeploy, S3 deploy, custom and third-party actions through job workers; manual approvals
//! wait for the API), variable references (`variables.rs`), starting executions
//! (`executions.rs`, and from a reported revision in `revisions.rs`), stage retries
//! (`retry.rs`) and rollbacks (`rollback.rs`), action types (`action_types.rs`), the
//! job-worker protocol (`jobs.rs`, third-party variants in `jobs_third_party.rs`), push
//! triggers from the event bus (`triggers.rs`, with V2 push filters in `filters.rs`),
//! webhooks for JSON events (`webhooks.rs`), and the hosts a CodeDeploy action reached
//! (`deploy_targets.rs`).

mod action_types;
pub mod actions;
pub mod api;
mod deploy_targets;
mod engine;
mod executions;
pub mod filters;
pub mod jobs;
mod jobs_third_party;
pub mod record;
mod retry;
mod revisions;
mod rollback;
pub mod service;
pub mod step;
mod triggers;
pub mod validate;
pub mod variables;
pub mod views;
pub mod webhooks;

pub use api::PipelineApi;
pub use service::{PipelineService, PipelineSettings};
