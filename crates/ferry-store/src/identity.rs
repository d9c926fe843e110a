//! Who may call Ferry: the installation's account id, users (the root user and those an
//! administrator creates), their access keys (secrets sealed at rest), and HTTPS git
//! credentials (service-specific user name + generated password, stored as SHA-256: the
//! passwords are random and high-entropy, so a fast hash is enough and keeps git requests fast).

use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::{Store, StoreError};

/// A user that can be authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_name: String,
    pub arn: String,
}

/// An access key with its secret opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub principal: Principal,
    pub active: bool,
    /// Set for temporary credentials issued by STS.
    pub session: Option<Session>,
}

/// What makes temporary credentials temporary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Lower-case hex SHA-256 of the session token the requests must carry.
    pub token_sha256: String,
    pub expires_ms: i64,
}

impl AccessKey {
    /// Whether `token` (the request's `X-Amz-Security-Token`) fits this key: long-term keys
    /// take none, temporary ones exactly theirs.
    pub fn token_matches(&self, token: Option<&str>) -> bool {
        match (&self.session, token) {
            (None, None) => true,
            (Some(s), Some(t)) => {
                bool::from(s.token_sha256.as_bytes().ct_eq(sha256_hex(t).as_bytes()))
            }
            _ => false,
        }
    }

    /// Whether temporary credentials have expired at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| now_ms >= s.expires_ms)
    }
}

/// What [`Store::initialize`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initialized {
    pub account_id: String,
    /// The root key created by this call; `None` when the store was already initialised.
    pub new_root_key: Option<(String, String)>,
}

/// The most git credentials one user may hold (as IAM allows).
pub const MAX_GIT_CREDENTIALS_PER_USER: i64 = 2;

fn now_ms() -> i64 {
    ferry_types::Timestamp::now().millis()
}

impl Store {
    /// Makes sure the store has an account id, a root user and a root access key. The first
    /// call on an empty store creates them (with `root_key` when given, else generated);
    /// later calls change nothing. Safe when several nodes start at once.
    pub async fn initialize(
        &self,
        account_id: Option<&str>,
        root_key: Option<(&str, &str)>,
    ) -> Result<Initialized, StoreError> {
        let mut tx = self.begin_write().await?;
        let candidate = account_id
            .map(str::to_owned)
            .unwrap_or_else(ferry_types::ids::account_id);
        let inserted = sqlx::query(
            "INSERT INTO meta (meta_key, meta_value) VALUES ('account_id', $1) ON CONFLICT (meta_key) DO NOTHING",
        )
        .bind(&candidate)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            tx.rollback().await?;
            let account_id = self.account_id().await?.ok_or(StoreError::NotFound)?;
            return Ok(Initialized {
                account_id,
                new_root_key: None,
            });
        }
        let arn = format!("arn:aws:iam::{candidate}:root");
        sqlx::query("INSERT INTO users (user_name, arn, created_ms) VALUES ('root', $1, $2)")
            .bind(&arn)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        let (akid, secret) = match root_key {
            Some((a, s)) => (a.to_owned(), s.to_owned()),
            None => (
                ferry_types::ids::access_key_id(),
                ferry_types::ids::secret_access_key(),
            ),
        };
        sqlx::query(
            "INSERT INTO access_keys (access_key_id, user_name, secret_enc, status, created_ms) VALUES ($1, 'root', $2, 'Active', $3)",
        )
        .bind(&akid)
        .bind(self.secrets.seal(&secret))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Initialized {
            account_id: candidate,
            new_root_key: Some((akid, secret)),
        })
    }

    /// The installation's account id, once initialised.
    pub async fn account_id(&self) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT meta_value FROM meta WHERE meta_key = 'account_id'")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<String, _>(0)))
    }

    /// Creates a user `name` in the account.
    pub async fn create_user(&self, name: &str) -> Result<Principal, StoreError> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if !valid {
            return Err(StoreError::Secret(format!("invalid user name {name:?}")));
        }
        let account = self.account_id().await?.ok_or(StoreError::NotFound)?;
        let arn = format!("arn:aws:iam::{account}:user/{name}");
        sqlx::query("INSERT INTO users (user_name, arn, created_ms) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(&arn)
            .bind(now_ms())
            .execute(&mut *self.writer().await?)
            .await
            .map_err(|e| StoreError::from_insert(e, name))?;
        Ok(Principal {
            user_name: name.to_owned(),
            arn,
        })
    }

    /// A user by name.
    pub async fn user(&self, name: &str) -> Result<Principal, StoreError> {
        let row = sqlx::query("SELECT user_name, arn FROM users WHERE user_name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Principal {
            user_name: row.get(0),
            arn: row.get(1),
        })
    }

    /// All users, by name.
    pub async fn list_users(&self) -> Result<Vec<Principal>, StoreError> {
        let rows = sqlx::query("SELECT user_name, arn FROM users ORDER BY user_name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Principal {
                user_name: r.get(0),
                arn: r.get(1),
            })
            .collect())
    }

    /// Creates an access key for a user and returns `(access key id, secret)`.
    pub async fn create_access_key(&self, user: &str) -> Result<(String, String), StoreError> {
        self.user(user).await?;
        let akid = ferry_types::ids::access_key_id();
        let secret = ferry_types::ids::secret_access_key();
        sqlx::query(
            "INSERT INTO access_keys (access_key_id, user_name, secret_enc, status, created_ms) VALUES ($1, $2, $3, 'Active', $4)",
        )
        .bind(&akid)
        .bind(user)
        .bind(self.secrets.seal(&secret))
        .bind(now_ms())
        .execute(&mut *self.writer().await?)
        .await?;
        Ok((akid, secret))
    }

    /// An access key with its secret, or `None` when unknown.
    pub async fn access_key(&self, akid: &str) -> Result<Option<AccessKey>, StoreError> {
        let row = sqlx::query(
            "SELECT k.access_key_id, k.secret_enc, k.status, u.user_name, u.arn \
             FROM access_keys k JOIN users u ON u.user_name = k.user_name WHERE k.access_key_id = $1",
        )
        .bind(akid)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return self.session_key(akid).await;
        };
        let sealed: String = row.get(1);
        let status: String = row.get(2);
        Ok(Some(AccessKey {
            access_key_id: row.get(0),
            secret_access_key: self.secrets.open(&sealed)?,
            principal: Principal {
                user_name: row.get(3),
                arn: row.get(4),
            },
            active: status == "Active",
            session: None,
        }))
    }

    /// Creates HTTPS git credentials for a user: `(<user>-at-<account>[-n], password)`.
    pub async fn create_git_credential(&self, user: &str) -> Result<(String, String), StoreError> {
        self.user(user).await?;
        let account = self.account_id().await?.ok_or(StoreError::NotFound)?;
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM git_credentials WHERE user_name = $1")
            .bind(user)
            .fetch_one(&self.pool)
            .await?
            .get(0);
        if count >= MAX_GIT_CREDENTIALS_PER_USER {
            return Err(StoreError::Conflict(format!(
                "{user} already has {count} git credentials"
            )));
        }
        let base = format!("{user}-at-{account}");
        let password = ferry_types::ids::random_alnum(44);
        for n in 0..MAX_GIT_CREDENTIALS_PER_USER {
            let username = if n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let res = sqlx::query(
                "INSERT INTO git_credentials (service_user_name, user_name, password_sha256, created_ms) VALUES ($1, $2, $3, $4)",
            )
            .bind(&username)
            .bind(user)
            .bind(sha256_hex(&password))
            .bind(now_ms())
            .execute(&mut *self.writer().await?)
            .await;
            match res {
                Ok(_) => return Ok((username, password)),
                Err(e) => match StoreError::from_insert(e, &username) {
                    StoreError::Conflict(_) => continue,
                    other => return Err(other),
                },
            }
        }
        Err(StoreError::Conflict(base))
    }

    /// The user behind a git user name and password, or `None` when they do not match.
    pub async fn verify_git_credential(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Principal>, StoreError> {
        let row = sqlx::query(
            "SELECT g.password_sha256, u.user_name, u.arn FROM git_credentials g \
             JOIN users u ON u.user_name = g.user_name WHERE g.service_user_name = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: String = row.get(0);
        if bool::from(stored.as_bytes().ct_eq(sha256_hex(password).as_bytes())) {
            Ok(Some(Principal {
                user_name: row.get(1),
                arn: row.get(2),
            }))
        } else {
            Ok(None)
        }
    }
}

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

impl Store {
    /// Registers an SSH public key (OpenSSH `type base64 [comment]` text) for a user and returns
    /// its key id (`APKA` and 16 upper-case letters or digits, as IAM's are).
    pub async fn add_ssh_key(&self, user: &str, public_key: &str) -> Result<String, StoreError> {
        self.user(user).await?;
        let mut parts = public_key.split_whitespace();
        let (Some(kind), Some(data)) = (parts.next(), parts.next()) else {
            return Err(StoreError::Secret("not an OpenSSH public key".into()));
        };
        let normalized = format!("{kind} {data}");
        let key_id = format!("APKA{}", &ferry_types::ids::access_key_id()[4..]);
        sqlx::query("INSERT INTO ssh_keys (key_id, user_name, public_key, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(&key_id)
            .bind(user)
            .bind(&normalized)
            .bind(now_ms())
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(key_id)
    }

    /// The SSH keys that `login` (a key id or a user name) may authenticate with:
    /// `(key id, public key, principal)`.
    pub async fn ssh_keys_for(
        &self,
        login: &str,
    ) -> Result<Vec<(String, String, Principal)>, StoreError> {
        let rows = sqlx::query(
            "SELECT k.key_id, k.public_key, u.user_name, u.arn FROM ssh_keys k JOIN users u ON u.user_name = k.user_name \
             WHERE k.key_id = $1 OR k.user_name = $1",
        )
        .bind(login)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    r.get(1),
                    Principal {
                        user_name: r.get(2),
                        arn: r.get(3),
                    },
                )
            })
            .collect())
    }
}
