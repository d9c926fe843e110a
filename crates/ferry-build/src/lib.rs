//! CodeBuild: projects and builds that really run. The API face ([`api`]) stores projects and
//! queues builds; the service ([`service`]) schedules them with leases; the runner
//! ([`runner`]) takes a build through AWS's phases on the local executor, with buildspecs
//! parsed by [`buildspec`], commands run with CodeBuild's shell semantics ([`shell`]),
//! variables resolved from SSM and Secrets Manager ([`env`]), logs streamed into the
//! CloudWatch-Logs-shaped store ([`logsink`]), sources fetched ([`source`]), and artifacts
//! selected safely ([`artifacts`]) and packed ([`archive`]) into Ferry's S3.

pub mod api;
pub mod archive;
pub mod artifacts;
pub mod batch;
pub mod buildspec;
pub mod cache;
pub mod env;
pub mod executor;
mod logsink;
pub mod managed;
mod misc_api;
pub mod phases;
mod report_api;
mod report_upload;
pub mod reports;
mod runner;
pub mod service;
pub mod shell;
mod source;
pub mod workspace;
mod yaml;

pub use artifacts::{SelectError, Selected, select, select_files};
pub use buildspec::{
    Artifacts, Buildspec, BuildspecError, CacheSpec, Env, OnFailure, Phase, Phases, ReportSpec,
    SecretRef, parse,
};
