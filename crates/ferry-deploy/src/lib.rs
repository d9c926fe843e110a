//! Ferry's CodeDeploy (EC2/on-premises compute platform): the API (`api.rs` and the modules
//! it routes to), the deployment engine (`engine.rs`), the command plane agents talk to
//! (`commands.rs`) and the deployment specification they receive (`spec.rs`), with the
//! health arithmetic (`health.rs`), instance selection by tags (`selection.rs`) and the
//! lifecycle event lists (`events.rs`), and commits of Ferry's repositories as revisions
//! (`codecommit.rs`).

pub mod api;
mod apps;
pub mod codecommit;
pub mod commands;
mod deployments;
pub mod engine;
pub mod enrolment;
pub mod events;
pub mod health;
mod instances;
pub mod selection;
pub mod service;
pub mod spec;

pub(crate) use deployments::{record_outcome, targeted_instances};
