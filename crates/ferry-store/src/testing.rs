//! Test support: fresh stores on every backend the machine offers, so each storage test runs
//! on SQLite and, when `FERRY_TEST_POSTGRES_URL` names a server, on PostgreSQL too (each call
//! gets its own new database there).

use std::path::Path;

use sqlx::Executor;

use crate::secret::SecretBox;
use crate::{Store, StoreError};

/// The URL of a brand-new empty database on every backend available: a SQLite file under
/// `dir`, and a new PostgreSQL database when `FERRY_TEST_POSTGRES_URL` is set.
pub async fn database_urls(dir: &Path) -> Result<Vec<String>, StoreError> {
    let mut urls = vec![Store::sqlite_url(dir)];
    if let Ok(admin) = std::env::var("FERRY_TEST_POSTGRES_URL") {
        urls.push(new_postgres_database(&admin).await?);
    }
    Ok(urls)
}

/// Creates a new database on the server of `admin_url` and returns its URL.
pub async fn new_postgres_database(admin_url: &str) -> Result<String, StoreError> {
    sqlx::any::install_default_drivers();
    let name = format!("ferry_t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(admin_url).await?;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(admin_url);
    Ok(format!("{base}/{name}"))
}

/// Fresh, migrated stores on every available backend.
pub async fn stores(dir: &Path) -> Result<Vec<Store>, StoreError> {
    let mut out = Vec::new();
    for url in database_urls(dir).await? {
        out.push(Store::open(&url, SecretBox::new([42; 32])).await?);
    }
    Ok(out)
}
