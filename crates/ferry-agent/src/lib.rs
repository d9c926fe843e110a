//! The host side of Ferry's CodeDeploy: what `ferry agent` does on each deployment target to
//! carry out the lifecycle events of an EC2/on-premises deployment.

pub mod appspec;
pub mod bundle;
mod cleanup;
mod copy_plan;
pub mod diagnostics;
mod extract;
mod fsutil;
pub mod hooks;
pub mod install;
pub mod layout;
pub mod lifecycle;
mod permissions;
mod script_log;
pub mod spec;
mod yaml;
