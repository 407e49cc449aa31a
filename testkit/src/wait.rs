//! Small waiting and environment helpers.

use std::net::TcpListener;
use std::time::{Duration, Instant};

/// Installs the services' tracing subscriber when `TEST_LOG` is set (the
/// first call in a process wins; later ones are no-ops).
pub fn init_tracing(service: &'static str) {
    if std::env::var("TEST_LOG").is_ok() {
        nexus_common::telemetry::init(service);
    }
}

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Waits (up to 15 s) until `condition` holds; panics with `what` if not.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !condition() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
