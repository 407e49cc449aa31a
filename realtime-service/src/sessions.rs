//! The sessions that have sockets on this instance, the ones that recently
//! ended, and dropping their sockets.
//!
//! The registry feeds the periodic re-check; `kick` is what the revocation
//! consumer and the re-check both do to a session that ended: remember it
//! (so a socket still being admitted for it is refused, see
//! `connection::authenticate`), mark each of its sockets revoked (every
//! event is refused from then on), tell each why (`session:revoked
//! {reason}`), then disconnect it. Emit and disconnect go through the same
//! per-socket queue, so the reason arrives before the disconnect. When that
//! queue is full (a client that does not read), the disconnect fails: the
//! socket is taken out of its rooms at once and the disconnect retried until
//! the transport is gone (at the latest the Engine.IO heartbeat closes it,
//! since its ping cannot be queued either). A socket counts as kicked only
//! once its disconnect went through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::sync::Cache;
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;

use crate::connection::Conn;
use crate::domain::ids::{PrivateRoom, SessionId};
use crate::state::AppState;

/// Local socket counts by session.
#[derive(Debug, Default)]
pub struct SessionRegistry(Mutex<HashMap<SessionId, usize>>);

impl SessionRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, usize>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn register(&self, session: &SessionId) {
        *self.lock().entry(session.clone()).or_insert(0) += 1;
    }

    pub fn unregister(&self, session: &SessionId) {
        let mut sessions = self.lock();
        if let Some(count) = sessions.get_mut(session) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                sessions.remove(session);
            }
        }
    }

    /// Sessions with at least one local socket.
    pub fn list(&self) -> Vec<SessionId> {
        self.lock().keys().cloned().collect()
    }
}

/// Most sessions remembered as ended at once.
const ENDED_CAPACITY: u64 = 100_000;

/// Sessions that ended recently, with the reason, for admissions that
/// started before the end was known. Bounded in entries; an entry lives at
/// least one re-check interval (after that the re-check catches any socket
/// that slipped through, and a new handshake is refused by session-store).
#[derive(Clone)]
pub struct EndedSessions(Cache<SessionId, Arc<str>>);

impl EndedSessions {
    pub fn new(recheck_interval: Duration) -> Self {
        let ttl = recheck_interval.max(Duration::from_secs(60));
        Self(
            Cache::builder()
                .max_capacity(ENDED_CAPACITY)
                .time_to_live(ttl)
                .build(),
        )
    }

    pub fn remember(&self, session: &SessionId, reason: &str) {
        self.0.insert(session.clone(), Arc::from(reason));
    }

    /// Why `session` ended, if it did recently.
    pub fn reason(&self, session: &SessionId) -> Option<Arc<str>> {
        self.0.get(session)
    }
}

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
        crate::events::leave_all(&socket, &state, &conn).await;
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
