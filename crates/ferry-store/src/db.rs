//! Opening the metadata database (SQLite file or PostgreSQL) and migrating it.

use std::path::Path;
use std::str::FromStr;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

use crate::StoreError;
use crate::events::EventBus;
use crate::secret::SecretBox;
use crate::write_gate::Priority;

/// Which SQL engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The metadata store, the secret sealer and the event bus of one Ferry node.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    pub(crate) secrets: SecretBox,
    events: EventBus,
    /// On SQLite, this process's writers take turns here (see `write_gate.rs`).
    write_gate: crate::write_gate::WriteGate,
    /// Counts write turns on SQLite, for the checkpoint task (see `checkpoint.rs`).
    writes: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Bumped by every write to CodeArtifact's records, so that answers cached from them can
    /// tell they are stale (every node's writes; see `ca_changes.rs`).
    pub(crate) ca_generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// A write transaction: the connection (as `&mut *tx`), and on SQLite this process's write
/// turn, held until commit or drop.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<crate::write_gate::Turn>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

/// A pooled connection for one autocommit write, with (on SQLite) this process's write turn.
pub(crate) struct Writer {
    conn: sqlx::pool::PoolConnection<sqlx::Any>,
    _turn: Option<crate::write_gate::Turn>,
}

impl std::ops::Deref for Writer {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.conn
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

impl Store {
    /// Connects to `url` (`sqlite://<path>` or `postgres://...`), runs pending migrations, and
    /// seals secrets with `secrets`.
    pub async fn open(url: &str, secrets: SecretBox) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Url(url.to_owned()));
        };
        let pool = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                };
                AnyPoolOptions::new()
                    .max_connections(8)
                    .min_connections(1)
                    // A connection to a local file cannot go stale: no ping before each use
                    // (a round trip to the connection's thread on every query otherwise).
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; \
                                 PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; \
                                 PRAGMA wal_autocheckpoint=0;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .connect(url)
                    .await?
            }
        };
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        let ca_generation = std::sync::Arc::default();
        if backend == Backend::Postgres {
            crate::ca_changes::listen(url.to_owned(), &ca_generation);
        }
        let writes = std::sync::Arc::default();
        if backend == Backend::Sqlite {
            // Commits no longer fold the log back (`wal_autocheckpoint=0` above): this does.
            crate::checkpoint::start(pool.clone(), &writes);
        }
        Ok(Self {
            pool,
            backend,
            secrets,
            events: EventBus::new(),
            write_gate: Default::default(),
            writes,
            ca_generation,
        })
    }

    /// Opens the store of a data directory: its database (`database_url`, else the SQLite file
    /// in the directory) with its master key (`master_key` as hex, else `<dir>/master.key`).
    pub async fn open_data_dir(
        dir: &Path,
        database_url: Option<&str>,
        master_key: Option<&str>,
    ) -> Result<Self, StoreError> {
        let secrets = match master_key {
            Some(hex_key) => SecretBox::from_hex(hex_key)?,
            None => SecretBox::load_or_create(dir)?,
        };
        let url = database_url.map_or_else(|| Self::sqlite_url(dir), str::to_owned);
        Self::open(&url, secrets).await
    }

    /// The default SQLite URL for a data directory.
    pub fn sqlite_url(data_dir: &Path) -> String {
        format!("sqlite://{}", data_dir.join("ferry.db").display())
    }

    /// Starts a transaction that will write. On SQLite it first waits for this process's write
    /// turn, then takes the write lock up front (`BEGIN IMMEDIATE`), so concurrent writers
    /// queue instead of failing when a read lock cannot be upgraded (other processes still
    /// wait in the busy timeout).
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        self.begin_write_as(Priority::Request).await
    }

    /// [`Store::begin_write`] for a write nobody waits for at once: on SQLite, writes for
    /// requests waiting with it go first (see `write_gate.rs`).
    pub(crate) async fn begin_background_write(&self) -> Result<WriteTx, StoreError> {
        self.begin_write_as(Priority::Background).await
    }

    async fn begin_write_as(&self, priority: Priority) -> Result<WriteTx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let turn = self.write_gate.turn(priority).await;
                self.writes
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                WriteTx {
                    tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
                    _turn: Some(turn),
                }
            }
            Backend::Postgres => WriteTx {
                tx: self.pool.begin().await?,
                _turn: None,
            },
        })
    }

    /// A connection for one autocommit write statement (`.execute(&mut *self.writer().await?)`),
    /// queued behind this process's other writers on SQLite.
    pub(crate) async fn writer(&self) -> Result<Writer, StoreError> {
        let turn = match self.backend {
            Backend::Sqlite => {
                self.writes
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Some(self.write_gate.turn(Priority::Request).await)
            }
            Backend::Postgres => None,
        };
        Ok(Writer {
            conn: self.pool.acquire().await?,
            _turn: turn,
        })
    }

    /// Which engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The event bus of this node.
    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// Closes every connection (for a clean shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl FromStr for Backend {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" => Ok(Self::Postgres),
            _ => Err(StoreError::Url(s.to_owned())),
        }
    }
}
