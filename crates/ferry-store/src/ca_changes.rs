//! The CodeArtifact generation across nodes. Every write to CodeArtifact's records moves this
//! node's generation on when it ends; on PostgreSQL it is also announced on channel
//! `ferry_ca`, and every node listening there moves its own generation on when it hears it, so
//! an answer one node cached goes stale within a notification's latency of another node's
//! write. A lost listener connection counts as a change (notices may have been missed) and is
//! re-made.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::AnyPool;

/// The channel CodeArtifact writes are announced on.
const CHANNEL: &str = "ferry_ca";

/// Moves the generation on when dropped, after the write it guards ended; on PostgreSQL it
/// also tells the other nodes.
pub(crate) struct Changed {
    pub(crate) generation: Arc<AtomicU64>,
    pub(crate) announce: Option<AnyPool>,
}

impl Drop for Changed {
    fn drop(&mut self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let Some(pool) = self.announce.take() else {
            return;
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let q = format!("SELECT pg_notify('{CHANNEL}', '')");
                if let Err(e) = sqlx::query(&q).execute(&pool).await {
                    tracing::warn!(error = %e, "announcing a CodeArtifact change");
                }
            });
        }
    }
}

/// Listens on `url` for other nodes' CodeArtifact writes while `generation` is alive.
pub(crate) fn listen(url: String, generation: &Arc<AtomicU64>) {
    let weak: Weak<AtomicU64> = Arc::downgrade(generation);
    tokio::spawn(async move {
        loop {
            match sqlx::postgres::PgListener::connect(&url).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(CHANNEL).await {
                        tracing::warn!(error = %e, "listening for CodeArtifact changes");
                    } else {
                        loop {
                            let heard = listener.try_recv().await;
                            let Some(g) = weak.upgrade() else {
                                return;
                            };
                            g.fetch_add(1, Ordering::SeqCst);
                            match heard {
                                Ok(Some(_)) => {}
                                // The connection was lost (and will be re-made): notices sent
                                // meanwhile are gone, which the bump above accounts for.
                                Ok(None) => {}
                                Err(e) => {
                                    tracing::warn!(error = %e, "CodeArtifact change listener");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "connecting the CodeArtifact change listener"),
            }
            if weak.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}
