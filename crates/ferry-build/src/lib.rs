//! CodeBuild support: buildspec parsing ([`buildspec`]) and safe selection of artifact,
//! report and cache files ([`artifacts`]).

pub mod artifacts;
pub mod buildspec;
mod yaml;

pub use artifacts::{SelectError, Selected, select, select_files};
pub use buildspec::{
    Artifacts, Buildspec, BuildspecError, CacheSpec, Env, OnFailure, Phase, Phases, ReportSpec,
    SecretRef, parse,
};
