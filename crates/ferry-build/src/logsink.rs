//! A build's log: lines go to the CloudWatch-Logs-shaped store (`/aws/codebuild/<project>`,
//! one stream per build) in small batches, so `GetLogEvents` sees them within a fraction of a
//! second; values that must not be seen (secrets, parameters, keys) are masked first.

use std::time::Duration;

use ferry_store::Store;
use ferry_store::logs::{LogGroupRow, NewLogEvent};
use tokio::sync::mpsc;

/// How long a line may wait before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// The most lines written in one batch.
const BATCH: usize = 500;
/// The most log bytes one build keeps; later lines are dropped with one notice.
pub const MAX_LOG_BYTES: usize = 256 * 1024 * 1024;

/// Where a build's log goes.
#[derive(Debug, Clone)]
pub struct LogTarget {
    pub group: String,
    pub stream: String,
}

/// Makes sure the group and stream exist.
pub async fn prepare(
    store: &Store,
    target: &LogTarget,
    now_ms: i64,
) -> Result<(), ferry_store::StoreError> {
    if store.log_group(&target.group).await?.is_none() {
        let row = LogGroupRow {
            name: target.group.clone(),
            created_ms: now_ms,
            retention_days: None,
            kms_key_id: None,
            class: "STANDARD".into(),
            stored_bytes: 0,
        };
        match store.create_log_group(&row, &Default::default()).await {
            Ok(()) | Err(ferry_store::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    match store
        .create_log_stream(&target.group, &target.stream, now_ms)
        .await
    {
        Ok(()) | Err(ferry_store::StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Replaces every occurrence of the secrets in a line with `***`.
pub fn mask(line: &str, secrets: &[String]) -> String {
    let mut out = line.to_owned();
    for s in secrets {
        if s.len() >= 3 && out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

/// Makes the log stream, then writes lines from `rx` until it closes; returns when everything
/// is stored.
pub async fn run(
    store: Store,
    target: Option<LogTarget>,
    secrets: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    copy: Option<std::path::PathBuf>,
    mut rx: mpsc::Receiver<String>,
) {
    use tokio::io::AsyncWriteExt;
    // The stream is made here, beside the build rather than before it.
    if let Some(t) = &target
        && let Err(e) = prepare(&store, t, now_ms()).await
    {
        tracing::warn!(group = %t.group, stream = %t.stream, error = %e, "could not create the build's log stream");
    }
    // A copy of the (masked) log for S3 logs, when the build asks for them.
    let mut file = match copy {
        Some(p) => tokio::fs::File::create(p)
            .await
            .ok()
            .map(tokio::io::BufWriter::new),
        None => None,
    };
    let mut batch: Vec<NewLogEvent> = Vec::new();
    let mut total = 0usize;
    let mut truncated = false;
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            line = rx.recv() => match line {
                Some(_) if truncated => {}
                Some(l) if total + l.len() > MAX_LOG_BYTES => {
                    truncated = true;
                    batch.push(NewLogEvent {
                        ts_ms: now_ms(),
                        message: format!("[Container] The build's log exceeded {} MiB; further output is not kept.", MAX_LOG_BYTES / (1024 * 1024)),
                    });
                }
                Some(l) => {
                    total += l.len();
                    let masked = mask(&l, &secrets.lock().unwrap_or_else(|e| e.into_inner()));
                    if let Some(f) = &mut file {
                        let _ = f.write_all(masked.as_bytes()).await;
                        let _ = f.write_all(b"\n").await;
                    }
                    batch.push(NewLogEvent { ts_ms: now_ms(), message: masked });
                    if batch.len() >= BATCH {
                        flush(&store, target.as_ref(), &mut batch).await;
                    }
                }
                None => {
                    flush(&store, target.as_ref(), &mut batch).await;
                    if let Some(f) = &mut file {
                        let _ = f.flush().await;
                    }
                    return;
                }
            },
            _ = tick.tick() => flush(&store, target.as_ref(), &mut batch).await,
        }
    }
}

async fn flush(store: &Store, target: Option<&LogTarget>, batch: &mut Vec<NewLogEvent>) {
    if batch.is_empty() {
        return;
    }
    if let Some(t) = target
        && let Err(e) = store
            .put_log_events(&t.group, &t.stream, batch, now_ms())
            .await
    {
        tracing::warn!(group = %t.group, stream = %t.stream, error = %e, "could not store build log lines");
    }
    batch.clear();
}

fn now_ms() -> i64 {
    ferry_types::Timestamp::now().millis()
}

#[cfg(test)]
mod tests {
    #[test]
    fn masking() {
        let s = vec!["hunter22".to_owned(), "AKIAXYZ".to_owned(), "ab".to_owned()];
        assert_eq!(
            super::mask("pw=hunter22 key=AKIAXYZ ab", &s),
            "pw=*** key=*** ab"
        );
    }
}
