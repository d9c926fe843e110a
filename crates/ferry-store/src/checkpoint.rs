//! SQLite's write-ahead log folded back into the database file by a task of its own, twice a
//! second when something was written, instead of by whichever writer's commit crossed SQLite's
//! threshold (1000 pages): that writer waited for the copy and its fsync, and every writer
//! queued behind it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::AnyPool;

/// How often the log is folded back, when something was written.
const EVERY: Duration = Duration::from_millis(500);

/// Starts the task for a store whose writes `writes` counts; it ends with the store (the
/// counter dropped) or its pool.
pub(crate) fn start(pool: AnyPool, writes: &Arc<AtomicU64>) {
    let weak: Weak<AtomicU64> = Arc::downgrade(writes);
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            tokio::time::sleep(EVERY).await;
            let Some(now) = weak.upgrade().map(|w| w.load(Ordering::Relaxed)) else {
                return;
            };
            if pool.is_closed() {
                return;
            }
            if now == seen {
                continue;
            }
            seen = now;
            // PASSIVE: copies what no reader still needs, never waits for readers or writers.
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "SQLite checkpoint");
            }
        }
    });
}
