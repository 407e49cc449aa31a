//! Dropping the sockets of a session that ended: what the revocation
//! consumer, the re-check and a late admission all do.
//!
//! `kick` remembers the session (so a socket still being admitted for it is
//! refused, see `connection::authenticate`), marks each of its sockets
//! revoked (every event is refused from then on), tells each why
//! (`session:revoked {reason}`), then disconnects it. Emit and disconnect go
//! through the same per-socket queue, so the reason arrives before the
//! disconnect. When that queue is full (a client that does not read), the
//! disconnect fails: the socket is taken out of its rooms at once and the
//! disconnect retried until the transport is gone (at the latest the
//! Engine.IO heartbeat closes it, since its ping cannot be queued either). A
//! socket counts as kicked only once its disconnect went through.

use std::sync::Arc;
use std::time::Duration;

use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;

use crate::conn::Conn;
use crate::domain::ids::{PrivateRoom, SessionId};
use crate::state::AppState;

/// How often a failed disconnect is retried.
const RETRY_EVERY: Duration = Duration::from_millis(100);

/// Remembers that the session ended, then revokes every local socket of it;
/// returns how many were disconnected at once (the others are counted when
/// their retried disconnect goes through).
pub fn kick(state: &Arc<AppState>, io: &SocketIo, session: &SessionId, reason: &str) -> usize {
    state.ended_sessions.remember(session, reason);
    let sockets = io.to(session.room()).sockets();
    let found = sockets.len();
    let mut kicked = 0;
    for socket in sockets {
        if revoke(state, socket, reason) {
            kicked += 1;
        }
    }
    if found > 0 {
        tracing::info!(
            sockets = found,
            disconnected = kicked,
            reason,
            "disconnected the sockets of an ended session"
        );
    }
    state.metrics.kicked(kicked as u64);
    kicked
}

/// Revokes one socket: `true` when it was disconnected at once.
pub fn revoke(state: &Arc<AppState>, socket: SocketRef, reason: &str) -> bool {
    if let Some(conn) = socket.extensions.get::<Arc<Conn>>()
        && conn.revoke()
    {
        // Already revoked by someone else (event and re-check both).
        return false;
    }
    let payload = serde_json::json!({ "reason": reason });
    if let Err(error) = socket.emit("session:revoked", &payload) {
        tracing::debug!(%error, "could not tell a socket its session ended");
    }
    match socket.clone().disconnect() {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, socket = %socket.id, "a revoked socket could not be disconnected; retrying");
            state.metrics.kick_retried();
            tokio::spawn(ensure_closed(state.clone(), socket));
            false
        }
    }
}

/// Takes a revoked socket out of its rooms, then retries its disconnect
/// until it goes through.
async fn ensure_closed(state: Arc<AppState>, socket: SocketRef) {
    if let Some(conn) = socket.extensions.get::<Arc<Conn>>() {
        crate::membership::leave_all(&socket, &state, &conn).await;
    }
    socket.leave_all();
    loop {
        tokio::time::sleep(RETRY_EVERY).await;
        // Closed meanwhile (the heartbeat), or the disconnect goes through.
        if !socket.connected() || socket.clone().disconnect().is_ok() {
            state.metrics.kicked(1);
            return;
        }
    }
}
