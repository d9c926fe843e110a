//! STS over the Query protocol: GetCallerIdentity, AssumeRole and GetSessionToken. The
//! temporary credentials it issues are access keys (`ASIA…`) with a session token; SigV4
//! verification accepts them, with exactly that token, until they expire. Trust policies are
//! stored with roles but not evaluated yet.

use ferry_store::iam::IssuedSession;
use ferry_store::identity::Principal;
use ferry_wire::{AwsError, RequestContext};

use crate::iam::{role_id, stable_id};
use crate::query::{Params, iso, leaf, response, validation};
use crate::{CompanionService, store_err};

/// STS's response namespace.
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

fn credentials_xml(s: &IssuedSession, out: &mut String) {
    out.push_str("<Credentials>");
    leaf(out, "AccessKeyId", &s.access_key_id);
    leaf(out, "SecretAccessKey", &s.secret_access_key);
    leaf(out, "SessionToken", &s.session_token);
    leaf(out, "Expiration", &iso(s.expires_ms));
    out.push_str("</Credentials>");
}

/// `arn:aws:iam::<account>:role/<path/>name` → `(path, name)`.
fn role_of_arn<'a>(arn: &'a str, account: &str) -> Option<(&'a str, &'a str)> {
    let rest = arn.strip_prefix(&format!("arn:aws:iam::{account}:role"))?;
    let i = rest.rfind('/')?;
    Some((&rest[..=i], &rest[i + 1..]))
}

impl CompanionService {
    /// Answers one STS action with its XML document.
    pub async fn sts(
        &self,
        ctx: &RequestContext,
        action: &str,
        p: &Params,
    ) -> Result<String, AwsError> {
        let mut out = String::new();
        match action {
            "GetCallerIdentity" => {
                let user_id = if ctx.user_name == "root" {
                    ctx.account_id.clone()
                } else if let Some(rest) = ctx.principal_arn.split(":assumed-role/").nth(1) {
                    // `role/session` → `AROA…:session`
                    let (role, session) = rest.split_once('/').unwrap_or((rest, ""));
                    format!("{}:{session}", role_id(role))
                } else {
                    stable_id("AIDA", &ctx.principal_arn)
                };
                leaf(&mut out, "Arn", &ctx.principal_arn);
                leaf(&mut out, "UserId", &user_id);
                leaf(&mut out, "Account", &ctx.account_id);
            }
            "AssumeRole" => {
                let arn = p.required("RoleArn")?;
                let session = p.required("RoleSessionName")?;
                let session_ok = (2..=64).contains(&session.chars().count())
                    && session
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
                if !session_ok {
                    return Err(validation(format!(
                        "1 validation error detected: Value '{session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64"
                    )));
                }
                if arn.len() < 20 {
                    return Err(validation(format!(
                        "1 validation error detected: Value '{arn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
                    )));
                }
                let denied = || {
                    AwsError::new(
                        "AccessDenied",
                        format!(
                            "User: {} is not authorized to perform: sts:AssumeRole on resource: {arn}",
                            ctx.principal_arn
                        ),
                    )
                    .with_status(403)
                };
                let (path, name) = role_of_arn(arn, &ctx.account_id).ok_or_else(denied)?;
                let role = self
                    .store
                    .role(name)
                    .await
                    .map_err(store_err)?
                    .filter(|r| r.path == path)
                    .ok_or_else(denied)?;
                let chained = ctx.principal_arn.contains(":assumed-role/");
                let max = if chained { 3600 } else { role.max_session_s };
                let duration = p.int("DurationSeconds", 900..=43200)?.unwrap_or(3600);
                if duration > max {
                    return Err(validation(
                        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                    ));
                }
                let assumed = format!(
                    "arn:aws:sts::{}:assumed-role/{}/{session}",
                    ctx.account_id, role.name
                );
                let issued = self
                    .store
                    .create_session(
                        &Principal {
                            user_name: session.to_owned(),
                            arn: assumed.clone(),
                        },
                        duration,
                    )
                    .await
                    .map_err(store_err)?;
                credentials_xml(&issued, &mut out);
                out.push_str("<AssumedRoleUser>");
                leaf(
                    &mut out,
                    "AssumedRoleId",
                    &format!("{}:{session}", role_id(&role.name)),
                );
                leaf(&mut out, "Arn", &assumed);
                out.push_str("</AssumedRoleUser>");
            }
            "GetSessionToken" => {
                if ctx
                    .access_key_id
                    .as_deref()
                    .is_some_and(|k| k.starts_with("ASIA"))
                {
                    return Err(AwsError::new(
                        "AccessDenied",
                        "Cannot call GetSessionToken with session credentials",
                    )
                    .with_status(403));
                }
                let (min, max) = if ctx.user_name == "root" {
                    (900, 3600)
                } else {
                    (900, 129_600)
                };
                let duration = p
                    .int("DurationSeconds", min..=max)?
                    .unwrap_or(max.min(43200));
                let issued = self
                    .store
                    .create_session(
                        &Principal {
                            user_name: ctx.user_name.clone(),
                            arn: ctx.principal_arn.clone(),
                        },
                        duration,
                    )
                    .await
                    .map_err(store_err)?;
                credentials_xml(&issued, &mut out);
            }
            other => return Err(AwsError::not_implemented("sts", other)),
        }
        Ok(response(action, NAMESPACE, Some(&out), &ctx.request_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert_eq!(
            role_of_arn("arn:aws:iam::123456789012:role/deploy", "123456789012"),
            Some(("/", "deploy"))
        );
        assert_eq!(
            role_of_arn(
                "arn:aws:iam::123456789012:role/ci/build/runner",
                "123456789012"
            ),
            Some(("/ci/build/", "runner"))
        );
        assert_eq!(
            role_of_arn("arn:aws:iam::999999999999:role/x", "123456789012"),
            None
        );
    }
}
