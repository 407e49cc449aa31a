//! A bounded in-memory cache of per-session refresh secrets.
//!
//! A session's secret never changes, so once fetched it can be kept: a warm
//! refresh then costs one session-store call (the rotation) instead of two.
//! Bounded (LRU-ish, moka) so memory stays flat with millions of sessions;
//! a miss only costs the extra `GetRefreshState` call. Entries expire after a
//! day so revoked sessions do not linger.

use std::time::Duration;

use moka::sync::Cache;

use crate::domain::{RefreshSecret, SessionId, UserId};

/// What is cached per session.
#[derive(Debug, Clone)]
pub struct CachedSecret {
    pub secret: RefreshSecret,
    pub user: UserId,
}

#[derive(Clone)]
pub struct SecretCache(Cache<SessionId, CachedSecret>);

impl std::fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretCache({} entries)", self.0.entry_count())
    }
}

impl SecretCache {
    pub fn new(capacity: u64) -> Self {
        Self(
            Cache::builder()
                .max_capacity(capacity)
                .time_to_live(Duration::from_secs(86_400))
                .build(),
        )
    }

    pub fn get(&self, session: &SessionId) -> Option<CachedSecret> {
        let hit = self.0.get(session);
        crate::metrics::secret_cache(hit.is_some());
        hit
    }

    pub fn insert(&self, session: SessionId, value: CachedSecret) {
        self.0.insert(session, value);
    }

    pub fn forget(&self, session: &SessionId) {
        self.0.invalidate(session);
    }
}
