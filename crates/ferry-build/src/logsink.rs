//! A build's log: lines go to the CloudWatch-Logs-shaped store (`/aws/codebuild/<project>`,
//! one stream per build) as soon as a write can take them. One writer per node stores every
//! build's lines, each write taking all lines waiting (so a quiet log's line is seen at once,
//! and many busy logs share few transactions); values that must not be seen (secrets,
//! parameters, keys) are masked first.

use ferry_store::Store;
use ferry_store::logs::{NewLogEvent, OpenStream};
use tokio::sync::{mpsc, oneshot};

/// The most lines of one build passed to the writer at a time.
const BATCH: usize = 500;
/// The most log bytes one build keeps; later lines are dropped with one notice.
pub const MAX_LOG_BYTES: usize = 256 * 1024 * 1024;

/// Where a build's log goes.
#[derive(Debug, Clone)]
pub struct LogTarget {
    pub group: String,
    pub stream: String,
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

/// Has the log stream made, then passes lines from `rx` to `writer` until it closes; returns
/// when everything is stored. Lines waiting together go together, so a quiet log's line is
/// stored at once and a busy log's in large batches.
pub async fn run(
    writer: LogWriter,
    target: Option<LogTarget>,
    secrets: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    copy: Option<std::path::PathBuf>,
    mut rx: mpsc::Receiver<String>,
) {
    use tokio::io::AsyncWriteExt;
    // The stream (and its group) is made by the writer, in the transaction of the first
    // lines it writes after this.
    if let Some(t) = &target {
        writer.open(t, now_ms()).await;
    }
    // A copy of the (masked) log for S3 logs, when the build asks for them.
    let mut file = match copy {
        Some(p) => tokio::fs::File::create(p)
            .await
            .ok()
            .map(tokio::io::BufWriter::new),
        None => None,
    };
    let mut total = 0usize;
    let mut truncated = false;
    while let Some(first) = rx.recv().await {
        let mut batch: Vec<NewLogEvent> = Vec::new();
        let mut next = Some(first);
        while let Some(l) = next.take() {
            if truncated {
            } else if total + l.len() > MAX_LOG_BYTES {
                truncated = true;
                batch.push(NewLogEvent {
                    ts_ms: now_ms(),
                    message: format!(
                        "[Container] The build's log exceeded {} MiB; further output is not kept.",
                        MAX_LOG_BYTES / (1024 * 1024)
                    ),
                });
            } else {
                total += l.len();
                let masked = mask(&l, &secrets.lock().unwrap_or_else(|e| e.into_inner()));
                if let Some(f) = &mut file {
                    let _ = f.write_all(masked.as_bytes()).await;
                    let _ = f.write_all(b"\n").await;
                }
                batch.push(NewLogEvent {
                    ts_ms: now_ms(),
                    message: masked,
                });
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        if let Some(t) = &target
            && !batch.is_empty()
        {
            writer.send(t, batch, None).await;
        }
    }
    if let Some(t) = &target {
        let (done, stored) = oneshot::channel();
        writer.send(t, Vec::new(), Some(done)).await;
        let _ = stored.await;
    }
    if let Some(f) = &mut file {
        let _ = f.flush().await;
    }
}

/// Lines of one build on their way to the store; `stored` hears when they (and everything
/// sent before them) are written. `open` (the time) asks for the stream to be made first.
struct Lines {
    target: LogTarget,
    events: Vec<NewLogEvent>,
    stored: Option<oneshot::Sender<()>>,
    open: Option<i64>,
}

/// Writes the log lines of every build on this node: whatever is waiting when a write starts
/// goes in one transaction.
#[derive(Clone)]
pub struct LogWriter {
    queue: mpsc::Sender<Lines>,
}

impl LogWriter {
    /// Starts the writer's task (it ends when the last handle is dropped).
    pub fn start(store: Store) -> Self {
        let (queue, rx) = mpsc::channel(1024);
        tokio::spawn(write_lines(store, rx));
        Self { queue }
    }

    async fn send(
        &self,
        target: &LogTarget,
        events: Vec<NewLogEvent>,
        stored: Option<oneshot::Sender<()>>,
    ) {
        let _ = self
            .queue
            .send(Lines {
                target: target.clone(),
                events,
                stored,
                open: None,
            })
            .await;
    }

    /// Has the stream (and its group) made where missing, with the next write.
    async fn open(&self, target: &LogTarget, created_ms: i64) {
        let _ = self
            .queue
            .send(Lines {
                target: target.clone(),
                events: Vec::new(),
                stored: None,
                open: Some(created_ms),
            })
            .await;
    }
}

async fn write_lines(store: Store, mut rx: mpsc::Receiver<Lines>) {
    while let Some(first) = rx.recv().await {
        let mut waiting = vec![first];
        while let Ok(more) = rx.try_recv() {
            waiting.push(more);
        }
        // One batch per stream, in the order its lines came.
        let mut streams: Vec<(LogTarget, Vec<NewLogEvent>)> = Vec::new();
        let mut acks = Vec::new();
        let mut opening: Vec<(LogTarget, i64)> = Vec::new();
        for l in waiting {
            if let Some(at) = l.open {
                opening.push((l.target.clone(), at));
            }
            match streams
                .iter_mut()
                .find(|(t, _)| t.group == l.target.group && t.stream == l.target.stream)
            {
                Some((_, events)) => events.extend(l.events),
                None => streams.push((l.target, l.events)),
            }
            acks.extend(l.stored);
        }
        let batches: Vec<(&str, &str, &[NewLogEvent])> = streams
            .iter()
            .map(|(t, e)| (t.group.as_str(), t.stream.as_str(), e.as_slice()))
            .collect();
        let open: Vec<OpenStream<'_>> = opening
            .iter()
            .map(|(t, at)| OpenStream {
                group: &t.group,
                stream: &t.stream,
                created_ms: *at,
            })
            .collect();
        match store.put_log_batches(&open, &batches, now_ms()).await {
            Ok(missing) => {
                for k in missing {
                    let t = &streams[k].0;
                    tracing::warn!(group = %t.group, stream = %t.stream, "build log lines dropped: the stream is gone");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, streams = streams.len(), "could not store build log lines")
            }
        }
        for a in acks {
            let _ = a.send(());
        }
    }
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
