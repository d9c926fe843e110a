//! Ferry's CodePipeline: the API (`api.rs`, views of executions in `views.rs`, declaration
//! checks in `validate.rs`), the engine that drives executions (`engine.rs`, with the execution
//! rules as a pure function in `step.rs` over the records of `record.rs`), the actions it runs
//! (`actions/`: CodeCommit source, CodeBuild, CodeDeploy; manual approvals wait for the API),
//! variable references (`variables.rs`), starting executions (`executions.rs`), stage retries
//! (`retry.rs`) and rollbacks (`rollback.rs`), custom action types and the job-worker protocol
//! (`jobs.rs`) and push
//! triggers from the event bus (`triggers.rs`, with V2 push filters in `filters.rs`), and
//! webhooks for JSON events (`webhooks.rs`), and the hosts a CodeDeploy action reached
//! (`deploy_targets.rs`).

pub mod actions;
pub mod api;
mod deploy_targets;
mod engine;
mod executions;
pub mod filters;
pub mod jobs;
pub mod record;
mod retry;
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
