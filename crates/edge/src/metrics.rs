//! Counters for `/metrics`, written in the Prometheus text exposition format (version 0.0.4).
//! Only aggregate numbers: no label ever carries a user, address or path with identifiers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

/// Upper bounds of the request-duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Request counters and the duration histogram.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    /// Requests by status class: 1xx..5xx.
    by_class: [AtomicU64; 5],
    buckets: [AtomicU64; BUCKETS.len()],
    duration_micros_sum: AtomicU64,
    count: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            started: Instant::now(),
            by_class: Default::default(),
            buckets: Default::default(),
            duration_micros_sum: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe_request(&self, status: StatusCode, elapsed: Duration) {
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        let seconds = elapsed.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.duration_micros_sum
            .fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Renders every metric; `audit_entries` and `store_up` are read by the caller.
    pub fn render(&self, version: &str, audit_entries: Option<u64>, store_up: bool) -> String {
        let mut out = String::new();
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line("# HELP trygg_build_info Version of the running server.".into());
        line("# TYPE trygg_build_info gauge".into());
        line(format!("trygg_build_info{{version=\"{version}\"}} 1"));
        line("# HELP trygg_uptime_seconds Seconds since the server started.".into());
        line("# TYPE trygg_uptime_seconds gauge".into());
        line(format!(
            "trygg_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        ));
        line("# HELP trygg_store_up Whether the database answered the last check.".into());
        line("# TYPE trygg_store_up gauge".into());
        line(format!("trygg_store_up {}", u8::from(store_up)));
        if let Some(entries) = audit_entries {
            line("# HELP trygg_audit_entries Entries in the audit trail.".into());
            line("# TYPE trygg_audit_entries gauge".into());
            line(format!("trygg_audit_entries {entries}"));
        }
        line("# HELP trygg_http_requests_total HTTP requests answered, by status class.".into());
        line("# TYPE trygg_http_requests_total counter".into());
        for (index, counter) in self.by_class.iter().enumerate() {
            line(format!(
                "trygg_http_requests_total{{class=\"{}xx\"}} {}",
                index + 1,
                counter.load(Ordering::Relaxed)
            ));
        }
        line("# HELP trygg_http_request_duration_seconds Time to answer HTTP requests.".into());
        line("# TYPE trygg_http_request_duration_seconds histogram".into());
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            line(format!(
                "trygg_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            ));
        }
        let count = self.count.load(Ordering::Relaxed);
        line(format!(
            "trygg_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        ));
        let sum = self.duration_micros_sum.load(Ordering::Relaxed) as f64 / 1e6;
        line(format!("trygg_http_request_duration_seconds_sum {sum:.6}"));
        line(format!("trygg_http_request_duration_seconds_count {count}"));
        out
    }
}
