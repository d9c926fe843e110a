//! IAM's view of identities: users with paths, their access keys, HTTPS git credentials
//! (service-specific credentials) and SSH keys, roles with their trust policies, and the
//! temporary credentials STS issues for a role or a user (secret sealed, token hashed).

use sqlx::Row;

use crate::identity::{AccessKey, Principal, Session, sha256_hex};
use crate::{Store, StoreError};

fn now_ms() -> i64 {
    ferry_types::Timestamp::now().millis()
}

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamUser {
    pub name: String,
    pub arn: String,
    pub path: String,
    pub created_ms: i64,
}

/// An access key's public facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMeta {
    pub access_key_id: String,
    pub status: String,
    pub created_ms: i64,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub arn: String,
    pub path: String,
    pub trust_policy: String,
    pub description: Option<String>,
    pub max_session_s: i64,
    pub created_ms: i64,
}

/// Temporary credentials just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSession {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expires_ms: i64,
}

fn user_of(r: &sqlx::any::AnyRow) -> IamUser {
    IamUser {
        name: r.get(0),
        arn: r.get(1),
        path: r.get(2),
        created_ms: r.get(3),
    }
}

fn role_of(r: &sqlx::any::AnyRow) -> Role {
    Role {
        name: r.get(0),
        arn: r.get(1),
        path: r.get(2),
        trust_policy: r.get(3),
        description: r.get(4),
        max_session_s: r.get(5),
        created_ms: r.get(6),
    }
}

const ROLE_COLUMNS: &str =
    "role_name, arn, path, trust_policy, description, max_session_s, created_ms";

impl Store {
    /// Creates a user under `path` (`/` or `/a/b/`); `Conflict` when the name is taken.
    pub async fn create_user_at(&self, name: &str, path: &str) -> Result<IamUser, StoreError> {
        let account = self.account_id().await?.ok_or(StoreError::NotFound)?;
        let arn = format!("arn:aws:iam::{account}:user{path}{name}");
        let created_ms = now_ms();
        sqlx::query("INSERT INTO users (user_name, arn, created_ms, path) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(&arn)
            .bind(created_ms)
            .bind(path)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(|e| StoreError::from_insert(e, name))?;
        Ok(IamUser {
            name: name.to_owned(),
            arn,
            path: path.to_owned(),
            created_ms,
        })
    }

    /// A user with its path and creation time.
    pub async fn iam_user(&self, name: &str) -> Result<IamUser, StoreError> {
        let row =
            sqlx::query("SELECT user_name, arn, path, created_ms FROM users WHERE user_name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
        Ok(user_of(&row))
    }

    /// Users whose path starts with `path_prefix`, by name, after `after`.
    pub async fn iam_users(
        &self,
        path_prefix: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<IamUser>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_name, arn, path, created_ms FROM users WHERE user_name > $1 \
             AND substr(path, 1, CAST($2 AS INTEGER)) = $3 ORDER BY user_name LIMIT $4",
        )
        .bind(after)
        .bind(path_prefix.chars().count() as i64)
        .bind(path_prefix)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(user_of).collect())
    }

    /// Deletes a user that holds no access keys, git credentials or SSH keys (`Conflict`
    /// otherwise, as IAM's DeleteConflict); `NotFound` when absent.
    pub async fn delete_user(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let held: i64 = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM access_keys WHERE user_name = $1) \
             + (SELECT COUNT(*) FROM git_credentials WHERE user_name = $1) \
             + (SELECT COUNT(*) FROM ssh_keys WHERE user_name = $1)",
        )
        .bind(name)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        if held > 0 {
            return Err(StoreError::Conflict(name.to_owned()));
        }
        let gone = sqlx::query("DELETE FROM users WHERE user_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if gone.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// A user's access keys, oldest first.
    pub async fn access_keys_of(&self, user: &str) -> Result<Vec<KeyMeta>, StoreError> {
        self.user(user).await?;
        let rows = sqlx::query("SELECT access_key_id, status, created_ms FROM access_keys WHERE user_name = $1 ORDER BY created_ms, access_key_id")
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| KeyMeta {
                access_key_id: r.get(0),
                status: r.get(1),
                created_ms: r.get(2),
            })
            .collect())
    }

    /// Sets an access key `Active` or `Inactive`; `NotFound` unless `user` owns it.
    pub async fn set_access_key_status(
        &self,
        user: &str,
        akid: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE access_keys SET status = $1 WHERE access_key_id = $2 AND user_name = $3",
        )
        .bind(status)
        .bind(akid)
        .bind(user)
        .execute(&mut *self.writer().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes an access key; `NotFound` unless `user` owns it.
    pub async fn delete_access_key(&self, user: &str, akid: &str) -> Result<(), StoreError> {
        let done =
            sqlx::query("DELETE FROM access_keys WHERE access_key_id = $1 AND user_name = $2")
                .bind(akid)
                .bind(user)
                .execute(&mut *self.writer().await?)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// A user's HTTPS git credentials: `(service user name, created)`.
    pub async fn git_credentials_of(&self, user: &str) -> Result<Vec<(String, i64)>, StoreError> {
        self.user(user).await?;
        let rows = sqlx::query("SELECT service_user_name, created_ms FROM git_credentials WHERE user_name = $1 ORDER BY created_ms, service_user_name")
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Deletes one of a user's git credentials by service user name.
    pub async fn delete_git_credential(
        &self,
        user: &str,
        service_user_name: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "DELETE FROM git_credentials WHERE service_user_name = $1 AND user_name = $2",
        )
        .bind(service_user_name)
        .bind(user)
        .execute(&mut *self.writer().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Gives one of a user's git credentials a new password and returns it.
    pub async fn reset_git_credential(
        &self,
        user: &str,
        service_user_name: &str,
    ) -> Result<String, StoreError> {
        let password = ferry_types::ids::random_alnum(44);
        let done = sqlx::query("UPDATE git_credentials SET password_sha256 = $1 WHERE service_user_name = $2 AND user_name = $3")
            .bind(sha256_hex(&password))
            .bind(service_user_name)
            .bind(user)
            .execute(&mut *self.writer().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(password)
    }

    /// A user's SSH keys: `(key id, public key, uploaded)`.
    pub async fn ssh_keys_of(&self, user: &str) -> Result<Vec<(String, String, i64)>, StoreError> {
        self.user(user).await?;
        let rows = sqlx::query("SELECT key_id, public_key, created_ms FROM ssh_keys WHERE user_name = $1 ORDER BY created_ms, key_id")
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Deletes one of a user's SSH keys.
    pub async fn delete_ssh_key(&self, user: &str, key_id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM ssh_keys WHERE key_id = $1 AND user_name = $2")
            .bind(key_id)
            .bind(user)
            .execute(&mut *self.writer().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Creates a role; `Conflict` when the name is taken.
    pub async fn create_role(&self, r: &Role) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO iam_roles ({ROLE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&r.name)
        .bind(&r.arn)
        .bind(&r.path)
        .bind(&r.trust_policy)
        .bind(&r.description)
        .bind(r.max_session_s)
        .bind(r.created_ms)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| StoreError::from_insert(e, &r.name))?;
        Ok(())
    }

    /// A role by name.
    pub async fn role(&self, name: &str) -> Result<Option<Role>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ROLE_COLUMNS} FROM iam_roles WHERE role_name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(role_of))
    }

    /// Roles whose path starts with `path_prefix`, by name, after `after`.
    pub async fn roles(
        &self,
        path_prefix: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Role>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ROLE_COLUMNS} FROM iam_roles WHERE role_name > $1 \
             AND substr(path, 1, CAST($2 AS INTEGER)) = $3 ORDER BY role_name LIMIT $4"
        ))
        .bind(after)
        .bind(path_prefix.chars().count() as i64)
        .bind(path_prefix)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(role_of).collect())
    }

    /// Deletes a role; `NotFound` when absent.
    pub async fn delete_role(&self, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM iam_roles WHERE role_name = $1")
            .bind(name)
            .execute(&mut *self.writer().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Issues temporary credentials acting as `principal` for `duration_s` seconds, and
    /// forgets sessions that have expired.
    pub async fn create_session(
        &self,
        principal: &Principal,
        duration_s: i64,
    ) -> Result<IssuedSession, StoreError> {
        let mut tx = self.begin_write().await?;
        forget_expired_sessions(&mut tx).await?;
        let issued = self.issue_session(&mut tx, principal, duration_s).await?;
        tx.commit().await?;
        Ok(issued)
    }

    /// Issues temporary credentials inside a write transaction of the caller's.
    pub(crate) async fn issue_session(
        &self,
        tx: &mut crate::WriteTx,
        principal: &Principal,
        duration_s: i64,
    ) -> Result<IssuedSession, StoreError> {
        let mut issued = self.issue_sessions(tx, &[(principal, duration_s)]).await?;
        Ok(issued.remove(0))
    }

    /// Issues several temporary credentials (each acting as a principal for some seconds)
    /// inside a write transaction of the caller's, in statements of many rows.
    pub(crate) async fn issue_sessions(
        &self,
        tx: &mut crate::WriteTx,
        wanted: &[(&Principal, i64)],
    ) -> Result<Vec<IssuedSession>, StoreError> {
        let now = now_ms();
        let issued: Vec<IssuedSession> = wanted
            .iter()
            .map(|(_, duration_s)| IssuedSession {
                access_key_id: format!("ASIA{}", &ferry_types::ids::access_key_id()[4..]),
                secret_access_key: ferry_types::ids::secret_access_key(),
                session_token: ferry_types::ids::random_alnum(192),
                expires_ms: now + duration_s * 1000,
            })
            .collect();
        let per = crate::rows::PER_STATEMENT;
        for (who, made) in wanted.chunks(per).zip(issued.chunks(per)) {
            let sql = format!(
                "INSERT INTO sts_sessions (access_key_id, secret_enc, token_sha256, principal_name, principal_arn, expires_ms, created_ms) \
                 VALUES {}",
                crate::rows::values(self.backend(), who.len(), &[""; 7])
            );
            let mut q = sqlx::query(&sql);
            for ((principal, _), s) in who.iter().zip(made) {
                q = q
                    .bind(&s.access_key_id)
                    .bind(self.secrets.seal(&s.secret_access_key))
                    .bind(sha256_hex(&s.session_token))
                    .bind(&principal.user_name)
                    .bind(&principal.arn)
                    .bind(s.expires_ms)
                    .bind(now);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(issued)
    }

    /// Temporary credentials by access key id.
    pub(crate) async fn session_key(&self, akid: &str) -> Result<Option<AccessKey>, StoreError> {
        let row = sqlx::query("SELECT secret_enc, token_sha256, principal_name, principal_arn, expires_ms FROM sts_sessions WHERE access_key_id = $1")
            .bind(akid)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: String = row.get(0);
        Ok(Some(AccessKey {
            access_key_id: akid.to_owned(),
            secret_access_key: self.secrets.open(&sealed)?,
            principal: Principal {
                user_name: row.get(2),
                arn: row.get(3),
            },
            active: true,
            session: Some(Session {
                token_sha256: row.get(1),
                expires_ms: row.get(4),
            }),
        }))
    }
}

/// Deletes the sessions that have expired.
pub(crate) async fn forget_expired_sessions(tx: &mut crate::WriteTx) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sts_sessions WHERE expires_ms < $1")
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
