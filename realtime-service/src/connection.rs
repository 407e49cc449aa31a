//! A socket's life: admission and event handlers (connect middleware), private
//! rooms and bookkeeping (connect handler), cleanup (disconnect handler).
//!
//! The middleware runs before socketioxide sends CONNECT, so a refused
//! client gets `connect_error {message: <code>}` and never a half-open
//! socket. The event handlers are registered there too: socketioxide sends
//! CONNECT and only then spawns the connect handler, so a client that emits
//! `room:join` as soon as it sees `connect` (the demo page, the frontend) could
//! otherwise reach a socket with no handler yet, and the event would be dropped
//! without an ack (seen under load in the compose and scale tests).
//! The auth payload is never logged.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::ConnectInfo;
use serde_json::Value;
use socketioxide::extract::{SocketRef, State, TryData};
use socketioxide::socket::DisconnectReason;

use crate::auth::{Credentials, Identity, Refusal};
use crate::domain::room::RoomName;
use crate::events;
use crate::limits::{IpSlot, RateLimiter};
use crate::rooms::Member;
use crate::state::AppState;

/// Per-socket state, stored in the socket's extensions.
#[derive(Debug)]
pub struct Conn {
    pub identity: Identity,
    /// Rooms joined through `room:join` (not the private ones).
    pub rooms: Mutex<HashSet<RoomName>>,
    pub rate: RateLimiter,
    /// Released when the socket's state is dropped.
    _slot: IpSlot,
}

impl Conn {
    /// How this socket's user appears in `room`.
    pub fn member(&self, room: &RoomName, state: &AppState) -> Member {
        if room.is_anonymous() {
            Member {
                id: None,
                name: Some(state.alias_key.alias(room, &self.identity.user)),
            }
        } else {
            Member {
                id: Some(self.identity.user.as_str().to_owned()),
                name: self.identity.name.clone(),
            }
        }
    }

    pub fn rooms(&self) -> std::sync::MutexGuard<'_, HashSet<RoomName>> {
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Connect middleware: a live session or a `connect_error`.
pub async fn authenticate(
    socket: SocketRef,
    State(state): State<Arc<AppState>>,
    TryData(auth): TryData<Value>,
) -> Result<(), Refusal> {
    let outcome = admit(&socket, &state, auth.ok().as_ref()).await;
    match outcome {
        Ok(conn) => {
            socket.extensions.insert(Arc::new(conn));
            register_event_handlers(&socket);
            Ok(())
        }
        Err(refusal) => {
            state.metrics.refused(refusal);
            Err(refusal)
        }
    }
}

async fn admit(
    socket: &SocketRef,
    state: &AppState,
    auth: Option<&Value>,
) -> Result<Conn, Refusal> {
    let parts = socket.req_parts();
    let ip = client_ip(parts, state);
    let slot = state.ip_limiter.acquire(ip).ok_or_else(|| {
        tracing::warn!(%ip, "refused: too many connections from this address");
        Refusal::TooManyConnections
    })?;
    let credentials = Credentials::from_handshake(auth, &parts.headers, &state.cors_origins)?;
    let identity = state.authenticator.authenticate(&credentials).await?;
    Ok(Conn {
        identity,
        rooms: Mutex::new(HashSet::new()),
        rate: RateLimiter::new(state.limits.events_per_second, state.limits.event_burst),
        _slot: slot,
    })
}

fn client_ip(parts: &axum::http::request::Parts, state: &AppState) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok());
    state.trusted_proxies.client_ip(peer, forwarded)
}

/// Connect handler: private rooms, bookkeeping, the disconnect handler.
pub async fn on_connect(socket: SocketRef, State(state): State<Arc<AppState>>) {
    let Some(conn) = socket.extensions.get::<Arc<Conn>>() else {
        tracing::error!("socket admitted without state; disconnecting it");
        let _ = socket.disconnect();
        return;
    };
    socket.join([conn.identity.user.room(), conn.identity.session.room()]);
    state.sessions.register(&conn.identity.session);
    state.metrics.connected();
    tracing::debug!(socket = %socket.id, transport = ?socket.transport_type(), "socket connected");
    socket.on_disconnect(on_disconnect);
}

/// The client events, registered before CONNECT reaches the client.
fn register_event_handlers(socket: &SocketRef) {
    socket.on("room:join", events::join);
    socket.on("room:leave", events::leave);
    socket.on("room:message", events::message);
    socket.on("hangout:create", events::hangout_create);
    socket.on_fallback(events::unknown);
}

async fn on_disconnect(
    socket: SocketRef,
    State(state): State<Arc<AppState>>,
    reason: DisconnectReason,
) {
    let Some(conn) = socket.extensions.get::<Arc<Conn>>() else {
        return;
    };
    tracing::debug!(socket = %socket.id, %reason, "socket disconnected");
    let rooms: Vec<RoomName> = conn.rooms().drain().collect();
    for room in rooms {
        events::after_leave(&socket, &state, &conn, &room).await;
    }
    state.sessions.unregister(&conn.identity.session);
    state.metrics.disconnected();
}
