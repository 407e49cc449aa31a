//! Prometheus metrics of one instance, rendered in the text format.
//!
//! Plain atomics owned by the instance instead of the process-global
//! `metrics` recorder: tests run several instances in one process and each
//! must report its own numbers, and the handful of series here needs no
//! library.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use socketioxide::BroadcastError;

use crate::auth::Refusal;

/// Counters and gauges of one realtime instance.
#[derive(Debug, Default)]
pub struct Metrics {
    connections: AtomicI64,
    connections_total: AtomicU64,
    rooms: AtomicI64,
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    relay_in: AtomicU64,
    relay_dropped: AtomicU64,
    refusals: [AtomicU64; Refusal::ALL.len()],
    error_acks: AtomicU64,
    kicked: AtomicU64,
    kick_retries: AtomicU64,
    deliveries_dropped: AtomicU64,
    broadcast_failures: AtomicU64,
}

impl Metrics {
    pub fn connected(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.connections_total.fetch_add(1, Ordering::Relaxed);
    }
    pub fn disconnected(&self) {
        self.connections.fetch_sub(1, Ordering::Relaxed);
    }
    /// Rooms with local members went up (+1) or down (-1).
    pub fn rooms_changed(&self, delta: i64) {
        self.rooms.fetch_add(delta, Ordering::Relaxed);
    }
    pub fn message_in(&self) {
        self.messages_in.fetch_add(1, Ordering::Relaxed);
    }
    pub fn relay_in(&self) {
        self.relay_in.fetch_add(1, Ordering::Relaxed);
    }
    pub fn relay_dropped(&self) {
        self.relay_dropped.fetch_add(1, Ordering::Relaxed);
    }
    pub fn refused(&self, refusal: Refusal) {
        self.refusals[refusal.index()].fetch_add(1, Ordering::Relaxed);
    }
    pub fn error_ack(&self) {
        self.error_acks.fetch_add(1, Ordering::Relaxed);
    }
    pub fn kicked(&self, sockets: u64) {
        self.kicked.fetch_add(sockets, Ordering::Relaxed);
    }
    pub fn kick_retried(&self) {
        self.kick_retries.fetch_add(1, Ordering::Relaxed);
    }
    /// One room broadcast to local sockets, and the sockets it missed (a
    /// full queue loses the packet for that socket: see the README).
    pub fn broadcast(&self, outcome: &Result<(), BroadcastError>) {
        self.messages_out.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Ok(()) => {}
            Err(BroadcastError::Socket(errors)) => {
                self.deliveries_dropped
                    .fetch_add(errors.len() as u64, Ordering::Relaxed);
            }
            Err(error) => {
                tracing::warn!(%error, "a room broadcast failed");
                self.broadcast_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn connections(&self) -> i64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed).to_string();
        metric(
            "realtime_connections",
            "gauge",
            "Connected sockets.",
            self.connections().to_string(),
        );
        metric(
            "realtime_connections_total",
            "counter",
            "Sockets admitted since start.",
            load(&self.connections_total),
        );
        metric(
            "realtime_rooms",
            "gauge",
            "Rooms with local members.",
            self.rooms.load(Ordering::Relaxed).to_string(),
        );
        metric(
            "realtime_messages_in_total",
            "counter",
            "Chat messages accepted from local sockets.",
            load(&self.messages_in),
        );
        metric(
            "realtime_messages_out_total",
            "counter",
            "Room broadcasts emitted to local sockets (messages and presence).",
            load(&self.messages_out),
        );
        metric(
            "realtime_relay_in_total",
            "counter",
            "Relay messages received from other instances.",
            load(&self.relay_in),
        );
        metric(
            "realtime_relay_dropped_total",
            "counter",
            "Relay messages not published (broker down).",
            load(&self.relay_dropped),
        );
        metric(
            "realtime_error_acks_total",
            "counter",
            "Events answered with an error ack.",
            load(&self.error_acks),
        );
        metric(
            "realtime_sessions_kicked_total",
            "counter",
            "Sockets disconnected because their session ended.",
            load(&self.kicked),
        );
        metric(
            "realtime_kick_retries_total",
            "counter",
            "Revoked sockets whose disconnect failed at first (full queue) and is retried.",
            load(&self.kick_retries),
        );
        metric(
            "realtime_deliveries_dropped_total",
            "counter",
            "Packets of room broadcasts not queued for a socket (its queue was full or it was closing).",
            load(&self.deliveries_dropped),
        );
        metric(
            "realtime_broadcast_failures_total",
            "counter",
            "Room broadcasts that failed as a whole (serialisation).",
            load(&self.broadcast_failures),
        );
        let _ = writeln!(
            out,
            "# HELP realtime_auth_refusals_total Handshakes refused, by code.\n# TYPE realtime_auth_refusals_total counter"
        );
        for refusal in Refusal::ALL {
            let _ = writeln!(
                out,
                "realtime_auth_refusals_total{{code=\"{}\"}} {}",
                refusal.code(),
                self.refusals[refusal.index()].load(Ordering::Relaxed)
            );
        }
        out
    }
}
