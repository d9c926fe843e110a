//! The store's error type.

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("secret: {0}")]
    Secret(String),
    #[error("unsupported database url: {0}")]
    Url(String),
}

impl StoreError {
    /// Maps a unique-constraint violation to `Conflict`, everything else to `Db`.
    pub fn from_insert(e: sqlx::Error, what: &str) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => Self::Conflict(what.to_owned()),
            _ => Self::Db(e),
        }
    }
}
