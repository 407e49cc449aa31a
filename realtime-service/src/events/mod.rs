//! Client -> server events and their acks (DESIGN.md, "Socket.IO"), one
//! file per event, each the same shape: `handle` (the socketioxide handler:
//! extract, `run`, ack) over `run` (checks, then the effect).
//!
//! Every event is answered through its ack: `{ok: true, ...}` or
//! `{ok: false, error: {code, message}}` ([`reply`]). A bad payload never
//! crashes the socket nor is silently dropped. Order of checks: revoked,
//! rate, payload shape, typed values, membership/permission, then the
//! effect.

pub mod hangout;
pub mod join;
pub mod leave;
pub mod message;
pub mod reply;
pub mod unknown;

use socketioxide::extract::SocketRef;

/// Registers the client events on an admitted socket (before CONNECT
/// reaches the client; see `connection`).
pub fn register(socket: &SocketRef) {
    socket.on("room:join", join::handle);
    socket.on("room:leave", leave::handle);
    socket.on("room:message", message::handle);
    socket.on("hangout:create", hangout::handle);
    socket.on_fallback(unknown::handle);
}
