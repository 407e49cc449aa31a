//! The sessions that have sockets on this instance and the ones that
//! recently ended.
//!
//! The registry feeds the periodic re-check; the ended sessions are what
//! `kick` remembers, so a socket still being admitted for a session that
//! just ended is refused (see `connection::authenticate`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::sync::Cache;

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
