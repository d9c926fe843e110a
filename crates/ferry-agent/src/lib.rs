//! The host side of Ferry's CodeDeploy: what `ferry agent` does on each deployment target to
//! carry out the lifecycle events of an EC2/on-premises deployment.

pub mod appspec;
pub mod bundle;
mod extract;
pub mod layout;
mod yaml;
