//! A deployment's `logs/scripts.log` as one event writes it: `<timestamp> LifecycleEvent - X`
//! and `<timestamp> Script - <location>` headers, then `<timestamp> [stdout]<line>` /
//! `[stderr]<line>`; plus the tail of the same text (without timestamps) kept for the event's
//! diagnostics. Timestamps are UTC.

use std::io;
use std::path::Path;
use std::time::SystemTime;
use tokio::io::AsyncWriteExt;

/// How much of the event's output the diagnostics keep.
pub const LOG_TAIL_BYTES: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

impl OutputStream {
    fn tag(self) -> &'static str {
        match self {
            Self::Stdout => "[stdout]",
            Self::Stderr => "[stderr]",
        }
    }
}

pub(crate) struct ScriptLog {
    file: tokio::fs::File,
    tail: String,
}

impl ScriptLog {
    /// Open `path` for appending, creating it and its directory.
    pub async fn open(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        Ok(Self {
            file,
            tail: String::new(),
        })
    }

    /// A header line, e.g. `LifecycleEvent - AfterInstall`.
    pub async fn header(&mut self, text: &str) {
        self.write(text).await;
    }

    pub async fn output(&mut self, stream: OutputStream, line: &str) {
        self.write(&format!("{}{line}", stream.tag())).await;
    }

    /// The last [`LOG_TAIL_BYTES`] bytes written (cut at a character boundary).
    pub fn tail(&self) -> &str {
        &self.tail
    }

    async fn write(&mut self, text: &str) {
        let line = format!("{} {text}\n", utc_timestamp(SystemTime::now()));
        // tokio hands writes to a background thread; flushing waits until the line is written.
        let written = match self.file.write_all(line.as_bytes()).await {
            Ok(()) => self.file.flush().await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            tracing::warn!(error = %e, "cannot write to scripts.log");
        }
        self.tail.push_str(text);
        self.tail.push('\n');
        if self.tail.len() > LOG_TAIL_BYTES {
            let mut cut = self.tail.len() - LOG_TAIL_BYTES;
            while !self.tail.is_char_boundary(cut) {
                cut += 1;
            }
            self.tail.drain(..cut);
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub(crate) fn utc_timestamp(at: SystemTime) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_dates() {
        let at = |secs| utc_timestamp(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01 00:00:00");
        assert_eq!(at(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(at(1_709_251_199), "2024-02-29 23:59:59");
        assert_eq!(at(4_102_444_800), "2100-01-01 00:00:00");
    }

    #[tokio::test]
    async fn lines_and_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("logs/scripts.log");
        let mut log = ScriptLog::open(&path).await.unwrap();
        log.header("LifecycleEvent - AfterInstall").await;
        log.output(OutputStream::Stdout, "hello").await;
        log.output(OutputStream::Stderr, "oops").await;
        assert_eq!(
            log.tail(),
            "LifecycleEvent - AfterInstall\n[stdout]hello\n[stderr]oops\n"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].ends_with(" [stdout]hello"), "{text}");
        assert_eq!(lines[1].len(), "2024-01-01 00:00:00 [stdout]hello".len());
        for _ in 0..100 {
            log.output(OutputStream::Stdout, "éééééééééééééééééééééééééééééé")
                .await;
        }
        assert!(log.tail().len() <= LOG_TAIL_BYTES);
        assert!(log.tail().len() > LOG_TAIL_BYTES - 4);
        assert!(log.tail().ends_with("éé\n"));
    }
}
