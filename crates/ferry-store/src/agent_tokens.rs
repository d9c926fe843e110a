//! Agent registration tokens (a Ferry extension to CodeDeploy on-premises registration): minted
//! for a number of uses and a lifetime, stored as their SHA-256 only, spent one use at a time
//! (a use is given back when the registration it paid for fails).

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Store, StoreError};

fn now_ms() -> i64 {
    ferry_types::Timestamp::now().millis()
}

/// What every token starts with, so that one is recognisable in a log or a secret scanner.
pub const TOKEN_PREFIX: &str = "ferryreg-";

/// A minted token's limits, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLimits {
    pub expires_ms: i64,
    pub uses_left: i64,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Mints a token good for `uses` registrations during `ttl_ms`; returns its text (shown once).
    pub async fn create_agent_token(&self, ttl_ms: i64, uses: i64) -> Result<String, StoreError> {
        let token = format!("{TOKEN_PREFIX}{}", ferry_types::ids::random_alnum(40));
        let now = now_ms();
        sqlx::query(
            "INSERT INTO cd_agent_tokens (token_hash, created_ms, expires_ms, uses_left) VALUES ($1, $2, $3, $4)",
        )
        .bind(digest(&token))
        .bind(now)
        .bind(now.saturating_add(ttl_ms))
        .bind(uses)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(token)
    }

    /// Spends one use of `token`: `false` when it is unknown, expired or used up.
    pub async fn spend_agent_token(&self, token: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE cd_agent_tokens SET uses_left = uses_left - 1 WHERE token_hash = $1 AND uses_left > 0 AND expires_ms > $2",
        )
        .bind(digest(token))
        .bind(now_ms())
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives back the use [`Store::spend_agent_token`] took, when what it paid for failed.
    pub async fn refund_agent_token(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE cd_agent_tokens SET uses_left = uses_left + 1 WHERE token_hash = $1")
            .bind(digest(token))
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    /// A token's remaining limits, or `None` when it was never minted.
    pub async fn agent_token(&self, token: &str) -> Result<Option<TokenLimits>, StoreError> {
        let row =
            sqlx::query("SELECT expires_ms, uses_left FROM cd_agent_tokens WHERE token_hash = $1")
                .bind(digest(token))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| TokenLimits {
            expires_ms: r.get(0),
            uses_left: r.get(1),
        }))
    }

    /// Removes every token (all registrations not yet made with them become impossible).
    pub async fn revoke_agent_tokens(&self) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM cd_agent_tokens")
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected())
    }
}
