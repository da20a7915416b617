//! Prometheus text metrics: requests by route and status, latency histograms, work counters.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

/// Latency bucket bounds in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    pub site_checks: AtomicU64,
    pub checklists_issued: AtomicU64,
    pub reconcile_runs: AtomicU64,
    pub tiles_served: AtomicU64,
    pub tile_cache_hits: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l.entry(route.to_string()).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.count += 1;
        }
    }

    pub fn render(&self, blueprint: &str, version: i64) -> String {
        let mut out = String::new();
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let _ = writeln!(
            out,
            "# HELP lantu_http_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE lantu_http_requests_total counter");
        if let Ok(r) = self.requests.lock() {
            for ((m, route, status), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "lantu_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{status}\"}} {n}",
                    esc(route)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP lantu_http_request_duration_seconds Request latency."
        );
        let _ = writeln!(out, "# TYPE lantu_http_request_duration_seconds histogram");
        if let Ok(l) = self.latency.lock() {
            for (route, h) in l.iter() {
                let route = esc(route);
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "lantu_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "lantu_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "lantu_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "lantu_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
        for (name, help, v) in [
            (
                "lantu_site_checks_total",
                "Site checks analysed.",
                &self.site_checks,
            ),
            (
                "lantu_checklists_issued_total",
                "Checklists issued.",
                &self.checklists_issued,
            ),
            (
                "lantu_reconcile_runs_total",
                "Reconciliation runs started.",
                &self.reconcile_runs,
            ),
            (
                "lantu_tiles_served_total",
                "Vector tiles served.",
                &self.tiles_served,
            ),
            (
                "lantu_tile_cache_hits_total",
                "Vector tiles served from the cache.",
                &self.tile_cache_hits,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP lantu_blueprint_version The active blueprint version."
        );
        let _ = writeln!(out, "# TYPE lantu_blueprint_version gauge");
        let _ = writeln!(
            out,
            "lantu_blueprint_version{{blueprint=\"{}\"}} {version}",
            esc(blueprint)
        );
        out
    }
}

/// Middleware recording every request, with structured logs.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".to_string());
    let resp = next.run(req).await;
    let secs = started.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    state.metrics.observe(&method, &route, status, secs);
    tracing::info!(
        target: "lantu::http",
        method = %method,
        route = %route,
        status,
        ms = secs * 1000.0,
        "request"
    );
    resp
}
