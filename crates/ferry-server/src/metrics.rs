//! Request metrics in Prometheus text format: counts, errors and latency by service and
//! operation.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS_MS: [f64; 9] = [0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 50.0, 250.0, 1000.0];

#[derive(Default, Clone)]
struct Series {
    count: u64,
    errors: u64,
    sum_secs: f64,
    buckets: [u64; BUCKETS_MS.len()],
}

/// Counters for every (service, operation) seen.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String), Series>>,
}

impl Metrics {
    /// Records one request.
    pub fn record(&self, service: &str, operation: &str, elapsed: Duration, error: bool) {
        let mut map = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let key = (service.to_owned(), operation.to_owned());
        let s = map.entry(key).or_default();
        s.count += 1;
        s.errors += u64::from(error);
        s.sum_secs += elapsed.as_secs_f64();
        let ms = elapsed.as_secs_f64() * 1000.0;
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            if ms <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        let map = self
            .series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut out = String::new();
        out.push_str("# HELP ferry_requests_total Requests answered, by service and operation.\n");
        out.push_str("# TYPE ferry_requests_total counter\n");
        for ((svc, op), s) in &map {
            let _ = writeln!(
                out,
                "ferry_requests_total{{service=\"{svc}\",operation=\"{op}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP ferry_request_errors_total Requests answered with an error.\n");
        out.push_str("# TYPE ferry_request_errors_total counter\n");
        for ((svc, op), s) in &map {
            let _ = writeln!(
                out,
                "ferry_request_errors_total{{service=\"{svc}\",operation=\"{op}\"}} {}",
                s.errors
            );
        }
        out.push_str(
            "# HELP ferry_request_duration_seconds Time to answer, by service and operation.\n",
        );
        out.push_str("# TYPE ferry_request_duration_seconds histogram\n");
        for ((svc, op), s) in &map {
            let labels = format!("service=\"{svc}\",operation=\"{op}\"");
            for (i, b) in BUCKETS_MS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "ferry_request_duration_seconds_bucket{{{labels},le=\"{}\"}} {}",
                    b / 1000.0,
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "ferry_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "ferry_request_duration_seconds_sum{{{labels}}} {}",
                s.sum_secs
            );
            let _ = writeln!(
                out,
                "ferry_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_buckets() {
        let m = Metrics::default();
        m.record(
            "codecommit",
            "GetRepository",
            Duration::from_micros(300),
            false,
        );
        m.record(
            "codecommit",
            "GetRepository",
            Duration::from_millis(3),
            true,
        );
        let text = m.render();
        assert!(text.contains(
            "ferry_requests_total{service=\"codecommit\",operation=\"GetRepository\"} 2"
        ));
        assert!(text.contains(
            "ferry_request_errors_total{service=\"codecommit\",operation=\"GetRepository\"} 1"
        ));
        assert!(text.contains("le=\"0.0005\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }
}
