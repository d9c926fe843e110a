//! Authorization tokens (GetAuthorizationToken): URL-safe secrets scoped to one domain, minted
//! for the calling principal for 15 minutes to 12 hours, kept as their SHA-256 only. The native
//! endpoints take them as `Bearer`, as the password of `Basic aws:<token>`, or raw. An operator
//! can also mint long-lived ones (`mint_long_lived`).

use base64::Engine;
use ferry_store::artifacts::TokenRow;
use ferry_wire::{AwsError, RequestContext};
use sha2::{Digest, Sha256};

use crate::service::{ArtifactService, internal, invalid};

/// Every token starts with this, so that one is recognisable in a log or a secret scanner.
pub const TOKEN_PREFIX: &str = "ferryca.";

/// The lifetime when the caller names none, and the bounds of one it names (seconds).
pub const DEFAULT_SECONDS: i64 = 43_200;
const MIN_SECONDS: i64 = 900;

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token in an `Authorization` header value: `Bearer <t>`, `Basic base64(aws:<t>)`, or
/// the token itself (how cargo sends it).
pub fn from_header(value: &str) -> Option<String> {
    let value = value.trim();
    if let Some(t) = value.strip_prefix("Bearer ") {
        return Some(t.trim().to_owned());
    }
    if let Some(b) = value.strip_prefix("Basic ") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (_, password) = text.split_once(':')?;
        return Some(password.to_owned());
    }
    (!value.is_empty() && !value.contains(' ')).then(|| value.to_owned())
}

/// Mints a long-lived token for `domain` acting as the IAM principal `(arn, user)`, for
/// `days` days (a Ferry extension, for CI systems and build hosts that cannot run the aws CLI
/// every twelve hours; `ferry admin create-artifact-token`).
pub async fn mint_long_lived(
    store: &ferry_store::Store,
    domain: &str,
    principal_arn: &str,
    user_name: &str,
    days: u32,
) -> Result<(String, i64), ferry_store::StoreError> {
    if store.ca_domain(domain).await?.is_none() {
        return Err(ferry_store::StoreError::NotFound);
    }
    let token = format!("{TOKEN_PREFIX}{}", ferry_types::ids::random_alnum(64));
    let expires_ms = crate::service::now_ms() + i64::from(days) * 86_400_000;
    let row = TokenRow {
        domain: domain.to_owned(),
        principal_arn: principal_arn.to_owned(),
        user_name: user_name.to_owned(),
        expires_ms,
    };
    store.create_ca_token(&digest(&token), &row).await?;
    Ok((token, expires_ms))
}

impl ArtifactService {
    /// Mints a token for `domain` lasting `seconds` (0 or `None`: the default).
    pub async fn mint_token(
        &self,
        ctx: &RequestContext,
        domain: &str,
        seconds: Option<i64>,
    ) -> Result<(String, i64), AwsError> {
        let seconds = match seconds {
            None | Some(0) => DEFAULT_SECONDS,
            Some(s) if (MIN_SECONDS..=DEFAULT_SECONDS).contains(&s) => s,
            Some(s) => {
                return Err(invalid(format!(
                    "durationSeconds {s} must be 0 or between {MIN_SECONDS} and {DEFAULT_SECONDS}"
                )));
            }
        };
        let token = format!("{TOKEN_PREFIX}{}", ferry_types::ids::random_alnum(64));
        let expires_ms = crate::service::now_ms() + seconds * 1000;
        let row = TokenRow {
            domain: domain.to_owned(),
            principal_arn: ctx.principal_arn.clone(),
            user_name: ctx.user_name.clone(),
            expires_ms,
        };
        self.store
            .create_ca_token(&digest(&token), &row)
            .await
            .map_err(internal)?;
        Ok((token, expires_ms))
    }

    /// The live token `token`, when it is one.
    pub async fn check_token(&self, token: &str) -> Option<TokenRow> {
        if !token.starts_with(TOKEN_PREFIX) {
            return None;
        }
        let key = digest(token);
        let now = crate::service::now_ms();
        if let Some(row) = self.caches.token(&key, now) {
            return Some(row);
        }
        let row = self.store.ca_token(&key).await.ok()??;
        let live = row.expires_ms > now;
        if live {
            self.caches.keep_token(key, row.clone());
        }
        live.then_some(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_header_forms() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("aws:ferryca.abc");
        assert_eq!(
            from_header("Bearer ferryca.abc").as_deref(),
            Some("ferryca.abc")
        );
        assert_eq!(
            from_header(&format!("Basic {b64}")).as_deref(),
            Some("ferryca.abc")
        );
        assert_eq!(from_header("ferryca.abc").as_deref(), Some("ferryca.abc"));
        assert_eq!(from_header("Basic !!!"), None);
        assert_eq!(from_header("AWS4-HMAC-SHA256 Credential=x"), None);
    }
}
