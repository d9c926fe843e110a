//! The host side of Ferry's CodeDeploy: what `ferry agent` does on each deployment target to
//! carry out the lifecycle events of an EC2/on-premises deployment (reference §4). The
//! [`runner`] registers the host, polls the command plane and hands each command to
//! [`Agent::execute`] with the [`DeploymentSpec`], then reports the [`Diagnostics`] it returns.
//!
//! Carrying out commands:
//!
//! - [`appspec`]: `appspec.yml` parsed and validated;
//! - [`bundle`]: zip/tar/tgz bundles unpacked without leaving their directory;
//! - [`layout`]: the deployment root, install records, pruning;
//! - [`install`]: the Install event (cleanup, copy, permissions);
//! - [`hooks`]: an event's scripts run, logged and timed out;
//! - [`spec`], [`lifecycle`]: the deployment specification and the command dispatcher;
//! - [`diagnostics`]: the result of an event in the agent's JSON.
//!
//! Talking to the server (never linking it: this is a lean code path of its own):
//!
//! - [`credentials`]: AWS credentials and region from the environment or the shared file;
//! - [`sign`]: SigV4 signing, with `ferry_wire`'s canonical request;
//! - [`http`]: a minimal HTTP/1.1 client (hyper, rustls for https);
//! - [`client`]: STS, CodeDeploy registration, the command plane and S3 `GetObject`, typed;
//! - [`enrol`]: registration with a token, and the credentials it bought;
//! - [`runner`]: the agent loop (registration, polling, heartbeats, tracking file).

pub mod appspec;
pub mod bundle;
mod cleanup;
pub mod client;
mod copy_plan;
pub mod credentials;
pub mod diagnostics;
pub mod enrol;
mod extract;
mod fsutil;
pub mod hooks;
pub mod http;
pub mod install;
pub mod layout;
pub mod lifecycle;
mod permissions;
pub mod runner;
mod script_log;
pub mod sign;
pub mod spec;
mod yaml;

pub use diagnostics::{Diagnostics, ErrorCode};
pub use lifecycle::Agent;
pub use spec::DeploymentSpec;
