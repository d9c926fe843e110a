//! The host side of Ferry's CodeDeploy: what `ferry agent` does on each deployment target to
//! carry out the lifecycle events of an EC2/on-premises deployment (reference §4). The polling
//! loop and its HTTP client live elsewhere; they hand each command to [`Agent::execute`] with
//! the [`DeploymentSpec`] and report the [`Diagnostics`] it returns.
//!
//! - [`appspec`]: `appspec.yml` parsed and validated;
//! - [`bundle`]: zip/tar/tgz bundles unpacked without leaving their directory;
//! - [`layout`]: the deployment root, install records, pruning;
//! - [`install`]: the Install event (cleanup, copy, permissions);
//! - [`hooks`]: an event's scripts run, logged and timed out;
//! - [`spec`], [`lifecycle`]: the deployment specification and the command dispatcher;
//! - [`diagnostics`]: the result of an event in the agent's JSON.

pub mod appspec;
pub mod bundle;
mod cleanup;
mod copy_plan;
pub mod credentials;
pub mod diagnostics;
mod extract;
mod fsutil;
pub mod hooks;
pub mod http;
pub mod install;
pub mod layout;
pub mod lifecycle;
mod permissions;
mod script_log;
pub mod sign;
pub mod spec;
mod yaml;

pub use diagnostics::{Diagnostics, ErrorCode};
pub use lifecycle::Agent;
pub use spec::DeploymentSpec;
