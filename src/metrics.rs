//! Prometheus metrics (`shardgate_*`), served as text on `GET /metrics` at
//! `[server] metrics_listen`. Counters and histograms are updated as statements run; the
//! pool, breaker and connection gauges are read from the proxy's state at each scrape.
//! The registry belongs to the proxy (no process-global registry).

use crate::server::Shared;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub struct Metrics {
    registry: Registry,
    /// Statements by first keyword (`select`, `insert`, ..., `other`) and route kind.
    pub statements: IntCounterVec,
    pub duration: HistogramVec,
    /// Error packets sent, by MySQL error code.
    pub errors: IntCounterVec,
    /// Statements refused to protect the data sources, by reason.
    pub rejected: IntCounterVec,
    pub xa: IntCounterVec,
    pub slow: IntCounterVec,
    pool: IntGaugeVec,
    up: IntGaugeVec,
    breaker: IntGaugeVec,
    trips: IntGaugeVec,
    clients: IntGauge,
}

/// Statement kinds counted by name; the rest are `other` (bounded label values).
const KINDS: &[&str] = &[
    "select",
    "insert",
    "update",
    "delete",
    "replace",
    "set",
    "show",
    "begin",
    "start",
    "commit",
    "rollback",
    "create",
    "alter",
    "drop",
    "truncate",
    "explain",
    "prepare",
    "execute",
    "use",
    "kill",
    "do",
    "call",
    "savepoint",
    "release",
    "describe",
    "desc",
];

/// The protection a refusal with this error code comes from (`shardgate_rejected_total`).
fn rejection(code: u16) -> Option<&'static str> {
    Some(match code {
        1040 => "too_busy",
        1429 => "breaker_open",
        1226 => "limit",
        1969 => "timeout",
        1175 | 1290 => "firewall",
        _ => return None,
    })
}

pub fn kind_label(first_keyword: &str) -> &'static str {
    let k = first_keyword.to_ascii_lowercase();
    KINDS.iter().find(|s| **s == k).copied().unwrap_or("other")
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("metric definition");
            registry
                .register(Box::new(c.clone()))
                .expect("metric registration");
            c
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("metric definition");
            registry
                .register(Box::new(g.clone()))
                .expect("metric registration");
            g
        };
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "shardgate_statement_duration_seconds",
                "Time from a statement's arrival to the end of its answer",
            )
            .buckets(vec![
                0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                5.0, 10.0, 30.0,
            ]),
            &["kind"],
        )
        .expect("metric definition");
        registry
            .register(Box::new(duration.clone()))
            .expect("metric registration");
        let clients = IntGauge::new("shardgate_client_connections", "Client connections now")
            .expect("metric definition");
        registry
            .register(Box::new(clients.clone()))
            .expect("metric registration");
        Metrics {
            statements: counter(
                "shardgate_statements_total",
                "Statements by kind and route kind",
                &["kind", "route"],
            ),
            errors: counter(
                "shardgate_errors_total",
                "Error packets sent to clients, by MySQL error code",
                &["code"],
            ),
            rejected: counter(
                "shardgate_rejected_total",
                "Statements refused to protect the data sources, by reason",
                &["reason"],
            ),
            xa: counter(
                "shardgate_xa_transactions_total",
                "Distributed (XA) transactions by outcome",
                &["outcome"],
            ),
            slow: counter(
                "shardgate_slow_queries_total",
                "Statements that took at least [limits] slow_query_ms",
                &["kind"],
            ),
            pool: gauge(
                "shardgate_pool_connections",
                "Backend connections per data source: in_use, idle, waiting (statements waiting for one)",
                &["data_source", "state"],
            ),
            up: gauge(
                "shardgate_data_source_up",
                "1 when the data source answers (breaker closed, last connection attempt succeeded)",
                &["data_source"],
            ),
            breaker: gauge(
                "shardgate_breaker_open",
                "1 while the data source's circuit breaker is open",
                &["data_source"],
            ),
            trips: gauge(
                "shardgate_breaker_trips",
                "Times the data source's circuit breaker opened since start",
                &["data_source"],
            ),
            duration,
            clients,
            registry,
        }
    }

    /// Record a finished statement.
    pub fn statement(&self, kind: &str, route: Option<&str>, took: Duration, error: Option<u16>) {
        self.statements
            .with_label_values(&[kind, route.unwrap_or("none")])
            .inc();
        self.duration
            .with_label_values(&[kind])
            .observe(took.as_secs_f64());
        if let Some(code) = error {
            self.errors.with_label_values(&[&code.to_string()]).inc();
            if let Some(reason) = rejection(code) {
                self.reject(reason);
            }
        }
    }

    /// A distributed commit's outcome (`one_phase` / `two_phase`, committed or failed).
    pub fn xa_outcome(&self, how: &str, committed: bool) {
        let outcome = match (how, committed) {
            ("one_phase", true) => "one_phase_committed",
            ("one_phase", false) => "one_phase_failed",
            (_, true) => "two_phase_committed",
            (_, false) => "two_phase_failed",
        };
        self.xa.with_label_values(&[outcome]).inc();
    }

    pub fn reject(&self, reason: &str) {
        self.rejected.with_label_values(&[reason]).inc();
    }

    /// The exposition text, with the gauges read from `shared` now.
    pub fn render(&self, shared: &Shared) -> String {
        for b in shared.backends.all() {
            let ds = b.name();
            let h = b.health.snapshot();
            self.pool
                .with_label_values(&[ds, "in_use"])
                .set(b.in_use() as i64);
            self.pool
                .with_label_values(&[ds, "idle"])
                .set(b.idle_count() as i64);
            self.pool
                .with_label_values(&[ds, "waiting"])
                .set(b.waiting() as i64);
            self.up
                .with_label_values(&[ds])
                .set(i64::from(!b.is_down()));
            self.breaker
                .with_label_values(&[ds])
                .set(i64::from(h.state != crate::backend::BreakerState::Closed));
            self.trips
                .with_label_values(&[ds])
                .set(i64::try_from(h.trips).unwrap_or(i64::MAX));
        }
        self.clients.set(i64::from(
            shared
                .connections
                .load(std::sync::atomic::Ordering::Relaxed),
        ));
        let mut buf = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Serve `GET /metrics` on `listener` until `stop` turns true. Anything else gets 404;
/// a request that does not arrive within 5 s is dropped.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => {
                if *stop.borrow() { return; }
                continue;
            }
            a = listener.accept() => a,
        };
        let Ok((mut stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut head = Vec::with_capacity(512);
            let read = tokio::time::timeout(Duration::from_secs(5), async {
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    head.extend_from_slice(&buf[..n]);
                }
                Ok::<(), std::io::Error>(())
            })
            .await;
            if !matches!(read, Ok(Ok(()))) {
                return;
            }
            let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
            let mut parts = line.split(|b| *b == b' ');
            let (method, path) = (parts.next(), parts.next());
            let path = path.map(|p| p.split(|b| *b == b'?').next().unwrap_or_default());
            let (status, body) = if method == Some(b"GET") && path == Some(b"/metrics") {
                ("200 OK", shared.metrics.render(&shared))
            } else {
                ("404 Not Found", "not found: try /metrics\n".to_string())
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(resp.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_bounded() {
        assert_eq!(kind_label("SELECT"), "select");
        assert_eq!(kind_label("whatever"), "other");
    }

    #[test]
    fn counters_render_with_prefix() {
        let m = Metrics::new();
        m.statement("select", Some("Unicast"), Duration::from_millis(3), None);
        m.statement(
            "select",
            Some("Scatter"),
            Duration::from_millis(30),
            Some(1040),
        );
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&m.registry.gather(), &mut buf)
            .expect("encode");
        let text = String::from_utf8(buf).expect("utf8");
        for want in [
            "shardgate_statements_total{kind=\"select\",route=\"Unicast\"} 1",
            "shardgate_errors_total{code=\"1040\"} 1",
            "shardgate_rejected_total{reason=\"too_busy\"} 1",
            "shardgate_statement_duration_seconds_count{kind=\"select\"} 2",
        ] {
            assert!(text.contains(want), "{want} missing in\n{text}");
        }
    }
}
