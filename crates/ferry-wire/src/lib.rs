//! The AWS wire layer, independent of any service's domain: SigV4 verification, the error
//! envelope, the request context handlers receive, the service-model tables the generated code
//! fills in, and the model-driven request validation and REST-JSON binding that use them.

pub mod chunked;
pub mod context;
pub mod error;
pub mod rest;
pub mod shape;
pub mod sigv2;
pub mod sigv4;
pub mod target;
pub mod validate;

pub use context::RequestContext;
pub use error::AwsError;
