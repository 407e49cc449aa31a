//! Prometheus metrics (`GET /metrics`).
//!
//! One process-wide recorder (the `metrics` facade is global); counters are
//! named `auth_*`. Labels are bounded sets (route patterns, outcomes, event
//! kinds), never ids or tokens.

use std::sync::OnceLock;

use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder (once per process) and returns its handle; `None`
/// when another recorder was installed first.
pub fn init() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| match nexus_common::prometheus::install_recorder() {
            Ok(handle) => Some(handle),
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "metrics recorder not installed"
                );
                None
            }
        })
        .clone()
}

pub fn http_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    metrics::counter!(
        "auth_http_requests_total",
        "route" => route.to_owned(),
        "method" => method.to_owned(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "auth_http_request_duration_seconds",
        "route" => route.to_owned()
    )
    .record(elapsed.as_secs_f64());
}

/// `routing_key`: the event's routing key (`session.revoked`,
/// `group.member_removed`, ...), the `type` label.
pub fn event_buffered(routing_key: &'static str) {
    metrics::counter!("auth_events_buffered_total", "type" => routing_key).increment(1);
}

pub fn event_published(routing_key: &'static str) {
    metrics::counter!("auth_events_published_total", "type" => routing_key).increment(1);
}

pub fn event_dropped(routing_key: &'static str) {
    metrics::counter!("auth_events_dropped_total", "type" => routing_key).increment(1);
}

/// Outcome of a refresh: `rotated`, `current_returned`, `reuse_detected`,
/// `revoked`, `expired`, `forged`, `mismatch`, `unavailable`.
pub fn refresh_outcome(outcome: &'static str) {
    metrics::counter!("auth_refresh_total", "outcome" => outcome).increment(1);
}

/// Outcome of a bridge: `created` or `existing`.
pub fn bridge_outcome(outcome: &'static str) {
    metrics::counter!("auth_bridge_total", "outcome" => outcome).increment(1);
}

/// Calls made to session-store, by method.
pub fn store_call(method: &'static str) {
    metrics::counter!("auth_session_store_calls_total", "method" => method).increment(1);
}

pub fn secret_cache(hit: bool) {
    metrics::counter!("auth_refresh_secret_cache_total", "result" => if hit { "hit" } else { "miss" }).increment(1);
}
