//! The sessions that have sockets on this instance, and dropping them.
//!
//! The registry feeds the periodic re-check; `kick` is what the revocation
//! consumer and the re-check both do to a session that ended: tell each of
//! its sockets why (`session:revoked {reason}`), then disconnect it. Emit and
//! disconnect go through the same per-socket queue, so the reason arrives
//! before the disconnect.

use std::collections::HashMap;
use std::sync::Mutex;

use socketioxide::SocketIo;

use crate::domain::ids::SessionId;

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

/// Sends `session:revoked {reason}` to every local socket of the session and
/// disconnects them; returns how many were kicked.
pub fn kick(io: &SocketIo, session: &SessionId, reason: &str) -> usize {
    let sockets = io.to(session.room()).sockets();
    let count = sockets.len();
    let payload = serde_json::json!({ "reason": reason });
    for socket in sockets {
        if let Err(error) = socket.emit("session:revoked", &payload) {
            tracing::debug!(%error, "could not tell a socket its session ended");
        }
        if let Err(error) = socket.disconnect() {
            tracing::debug!(%error, "could not disconnect a socket of an ended session");
        }
    }
    if count > 0 {
        tracing::info!(
            sockets = count,
            reason,
            "disconnected the sockets of an ended session"
        );
    }
    count
}
