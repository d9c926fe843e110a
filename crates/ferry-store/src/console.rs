//! The web console's sign-in records: each user's password (an argon2 PHC string, never the
//! password) and the sessions signed in (the SHA-256 of their cookie token, the CSRF token
//! their forms carry, and their expiry).

use sqlx::Row;

use crate::{Store, StoreError};

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub user_name: String,
    pub csrf: String,
    pub expires_ms: i64,
}

impl Store {
    /// Sets (or replaces) a user's console password.
    pub async fn set_console_password(
        &self,
        user: &str,
        phc: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO console_passwords (user_name, phc, updated_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (user_name) DO UPDATE SET phc = excluded.phc, updated_ms = excluded.updated_ms",
        )
        .bind(user)
        .bind(phc)
        .bind(now_ms)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// A user's console password (its PHC string), when one is set.
    pub async fn console_password(&self, user: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT phc FROM console_passwords WHERE user_name = $1")
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Records a new session (and forgets expired ones).
    pub async fn create_console_session(
        &self,
        token_hash: &str,
        row: &SessionRow,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut w = self.writer().await?;
        sqlx::query("DELETE FROM console_sessions WHERE expires_ms <= $1")
            .bind(now_ms)
            .execute(&mut *w)
            .await?;
        sqlx::query(
            "INSERT INTO console_sessions (token_hash, user_name, csrf, created_ms, expires_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(&row.user_name)
        .bind(&row.csrf)
        .bind(now_ms)
        .bind(row.expires_ms)
        .execute(&mut *w)
        .await?;
        Ok(())
    }

    /// The session with this token hash, unless it expired.
    pub async fn console_session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT user_name, csrf, expires_ms FROM console_sessions \
             WHERE token_hash = $1 AND expires_ms > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| SessionRow {
            user_name: r.get(0),
            csrf: r.get(1),
            expires_ms: r.get(2),
        }))
    }

    /// Ends a session.
    pub async fn delete_console_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }
}
