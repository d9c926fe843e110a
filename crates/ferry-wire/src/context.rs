//! Who is calling and where: what every handler receives beside its typed input.

/// The authenticated caller of one API request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The id echoed in `x-amzn-RequestId`.
    pub request_id: String,
    /// The 12-digit account that owns every resource this installation holds.
    pub account_id: String,
    /// The region the request was signed for.
    pub region: String,
    /// The caller's ARN (`arn:aws:iam::<account>:root` or `...:user/<name>`).
    pub principal_arn: String,
    /// The caller's user name (`root` for the root user).
    pub user_name: String,
    /// The access key that signed the request, if it was signed.
    pub access_key_id: Option<String>,
}
