//! Engine.IO sessions that have not (yet) sent a Socket.IO CONNECT: few per
//! client and short-lived.
//!
//! Such a session costs memory before any credential was shown, so a
//! client (a [`RateLimitKey`]) may hold at most `max` of them at once: a new
//! Engine.IO handshake (a `/socket.io/` request without `sid`) takes a
//! slot, the CONNECT reaching the connect middleware gives it back, and a
//! slot that was never given back lapses after `connect_timeout`, which is
//! also when socketioxide closes a session that sent no CONNECT. Over the
//! limit the handshake is answered `429` (there is no Socket.IO session yet
//! to carry a `connect_error`).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use nexus_common::client_ip::{RateLimitKey, TrustedProxies};

/// Clients remembered before expired entries are swept from the map.
const SWEEP_AT: usize = 10_000;

/// Handshakes still waiting for their CONNECT, by client.
#[derive(Debug)]
pub struct PendingHandshakes {
    pending: Mutex<HashMap<RateLimitKey, VecDeque<Instant>>>,
    max: usize,
    lapse: Duration,
}

impl PendingHandshakes {
    pub fn new(max: usize, lapse: Duration) -> Self {
        Self {
            pending: Mutex::new(HashMap::new()),
            max,
            lapse,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RateLimitKey, VecDeque<Instant>>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes a slot for a new handshake; `false` when the client has `max`.
    pub fn start(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut pending = self.lock();
        if pending.len() >= SWEEP_AT {
            pending.retain(|_, started| {
                started.retain(|at| now.duration_since(*at) < self.lapse);
                !started.is_empty()
            });
        }
        let started = pending.entry(RateLimitKey::of(Some(ip))).or_default();
        started.retain(|at| now.duration_since(*at) < self.lapse);
        if started.len() >= self.max {
            return false;
        }
        started.push_back(now);
        true
    }

    /// A CONNECT arrived from this client: its oldest pending slot is free.
    pub fn connected(&self, ip: IpAddr) {
        let key = RateLimitKey::of(Some(ip));
        let mut pending = self.lock();
        if let Some(started) = pending.get_mut(&key) {
            started.pop_front();
            if started.is_empty() {
                pending.remove(&key);
            }
        }
    }
}

/// The client address of a request: the TCP peer, or what trusted proxies
/// say in `X-Forwarded-For` (the same rule for the handshake limit and the
/// connect middleware).
pub fn client_ip(extensions: &Extensions, headers: &HeaderMap, proxies: &TrustedProxies) -> IpAddr {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok());
    proxies.client_ip(peer, forwarded)
}

/// What the handshake middleware needs (its axum state).
#[derive(Debug, Clone)]
pub struct HandshakeGate {
    pub pending: Arc<PendingHandshakes>,
    pub proxies: TrustedProxies,
}

/// Middleware in front of the Socket.IO layer.
pub async fn limit(State(gate): State<HandshakeGate>, request: Request, next: Next) -> Response {
    let is_handshake = request.uri().path().starts_with("/socket.io")
        && !request
            .uri()
            .query()
            .unwrap_or_default()
            .split('&')
            .any(|pair| pair.starts_with("sid="));
    if is_handshake {
        let ip = client_ip(request.extensions(), request.headers(), &gate.proxies);
        if !gate.pending.start(ip) {
            tracing::warn!(%ip, "refused: too many Engine.IO sessions without CONNECT");
            return (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(serde_json::json!({
                    "success": false,
                    "message": "too many connections from this address; retry later",
                    "error": "too_many_connections",
                })),
            )
                .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_taken_given_back_and_lapse() {
        let pending = PendingHandshakes::new(2, Duration::from_millis(50));
        let ip: IpAddr = [10, 1, 1, 1].into();
        assert!(pending.start(ip) && pending.start(ip));
        assert!(!pending.start(ip));
        assert!(pending.start([10, 1, 1, 2].into()));
        pending.connected(ip);
        assert!(pending.start(ip));
        std::thread::sleep(Duration::from_millis(60));
        assert!(pending.start(ip) && pending.start(ip));
    }
}
