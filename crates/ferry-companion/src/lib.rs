//! The companion services Ferry serves beside the developer tools: CloudWatch Logs (`logs`),
//! SSM Parameter Store (`ssm`) and Secrets Manager (`secrets`) over JSON 1.1, and IAM (`iam`)
//! and STS (`sts`) over the Query protocol (`query`). `CompanionService`
//! implements the generated traits `ferry_model::{logs::Logs, ssm::Ssm,
//! secretsmanager::SecretsManager}` on top of the store; operations not overridden answer
//! `NotImplementedException`. Secret values and `SecureString` values are sealed at rest by the
//! store and never logged.

pub mod iam;
mod logs;
mod logs_pattern;
mod logs_tokens;
mod paging;
pub mod query;
mod secrets;
mod ssm;
mod ssm_names;
pub mod sts;

use ferry_store::{Store, StoreError};
use ferry_wire::AwsError;

pub use logs_pattern::FilterPattern;

/// The companion services of one node.
pub struct CompanionService {
    store: Store,
}

impl CompanionService {
    /// The services over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

/// A store failure as an internal error (the detail is logged, not answered).
pub(crate) fn store_err(e: StoreError) -> AwsError {
    AwsError::internal(e)
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    ferry_types::Timestamp::now().millis()
}
