//! A socket's life: admission and handlers (connect middleware),
//! registration (connect handler), cleanup (disconnect handler).
//!
//! The middleware runs before socketioxide sends CONNECT, so a refused
//! client gets `connect_error {message: <code>}` and never a half-open
//! socket. The event handlers and the disconnect handler are registered
//! there too: socketioxide sends CONNECT and only then spawns the connect
//! handler, so a client that emits `room:join` as soon as it sees `connect`
//! (the demo page, the frontend) could otherwise reach a socket with no
//! handler yet, and a disconnect arriving that early would find no cleanup.
//!
//! The connect handler only counts the socket (session registry, gauge);
//! the socket's `Lifecycle` (`conn`) makes that and the disconnect's uncounting happen at most
//! once each and in that order, whichever of the two runs first.
//!
//! A session that ends while its socket is being admitted: the kick
//! remembers the session before it looks for sockets (`kick`),
//! and admission looks at that memory after joining `session:<sid>` (the
//! middleware refuses with the code) and again in the connect handler, which
//! runs after the socket became findable, so one of the two sees the other.
//! The auth payload is never logged.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::Value;
use socketioxide::extract::{SocketRef, State, TryData};
use socketioxide::socket::DisconnectReason;

use crate::auth::{Credentials, Refusal};
use crate::conn::{Conn, Lifecycle};
use crate::domain::ids::PrivateRoom;
use crate::limits::RateLimiter;
use crate::state::AppState;

/// Connect middleware: a live session or a `connect_error`.
pub async fn authenticate(
    socket: SocketRef,
    State(state): State<Arc<AppState>>,
    TryData(auth): TryData<Value>,
) -> Result<(), Refusal> {
    let conn = match admit(&socket, &state, auth.ok().as_ref()).await {
        Ok(conn) => Arc::new(conn),
        Err(refusal) => {
            state.metrics.refused(refusal);
            return Err(refusal);
        }
    };
    drop(state.faults.admit.pass().await);
    let session = conn.identity.session.clone();
    socket.join([conn.identity.user.room(), session.room()]);
    if let Some(reason) = state.ended_sessions.reason(&session) {
        // Revoked while we were authenticating: the kick could not see us.
        socket.leave_all();
        let refusal = Refusal::for_ended_session(&reason);
        state.metrics.refused(refusal);
        return Err(refusal);
    }
    socket.extensions.insert(conn);
    register_handlers(&socket);
    Ok(())
}

async fn admit(
    socket: &SocketRef,
    state: &AppState,
    auth: Option<&Value>,
) -> Result<Conn, Refusal> {
    let parts = socket.req_parts();
    let ip = client_ip(parts, state);
    state.pending_handshakes.connected(ip);
    if !state.connect_rate.allow(ip) {
        tracing::warn!(%ip, "refused: too many connects per second from this address");
        return Err(Refusal::TooManyConnections);
    }
    let client = nexus_common::client_ip::RateLimitKey::of(Some(ip));
    let ip_slot = state.ip_limiter.acquire(client).ok_or_else(|| {
        tracing::warn!(%ip, "refused: too many connections from this address");
        Refusal::TooManyConnections
    })?;
    let credentials = Credentials::from_handshake(auth, &parts.headers, &state.cors_origins)?;
    let identity = state.authenticator.authenticate(&credentials).await?;
    let user_slot = state
        .user_limiter
        .acquire(identity.user.as_str().into())
        .ok_or_else(|| {
            tracing::warn!("refused: too many sockets for this user");
            Refusal::TooManyConnections
        })?;
    let rate = RateLimiter::new(state.limits.events_per_second, state.limits.event_burst);
    Ok(Conn::new(identity, rate, (ip_slot, user_slot)))
}

fn client_ip(parts: &axum::http::request::Parts, state: &AppState) -> IpAddr {
    crate::handshakes::client_ip(&parts.extensions, &parts.headers, &state.trusted_proxies)
}

/// Connect handler: counts the socket (unless it is already gone) and
/// re-checks the ended sessions now that a kick can find the socket.
pub async fn on_connect(socket: SocketRef, State(state): State<Arc<AppState>>) {
    let _passed = state.faults.connect_handler.pass().await;
    let Some(conn) = socket.extensions.get::<Arc<Conn>>() else {
        tracing::error!("socket admitted without state; disconnecting it");
        let _ = socket.disconnect();
        return;
    };
    {
        let mut lifecycle = conn.lifecycle();
        if *lifecycle != Lifecycle::Admitted {
            return;
        }
        *lifecycle = Lifecycle::Counted;
        state.sessions.register(&conn.identity.session);
        state.metrics.connected();
    }
    tracing::debug!(socket = %socket.id, transport = ?socket.transport_type(), "socket connected");
    if let Some(reason) = state.ended_sessions.reason(&conn.identity.session) {
        crate::kick::revoke(&state, socket, &reason);
    }
}

/// The client events and the cleanup, registered before CONNECT reaches
/// the client.
fn register_handlers(socket: &SocketRef) {
    crate::events::register(socket);
    socket.on_disconnect(on_disconnect);
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
    let was = std::mem::replace(&mut *conn.lifecycle(), Lifecycle::Closed);
    crate::membership::leave_all(&socket, &state, &conn).await;
    conn.release_slots();
    if was == Lifecycle::Counted {
        state.sessions.unregister(&conn.identity.session);
        state.metrics.disconnected();
    }
}
