//! Group rooms' state on this instance: the grant expiry in force for each
//! (socket, group room), the removals processed lately, and the Socket.IO
//! handle the expiry timers find sockets with. Membership itself is
//! session-store's (asked through `store`); what is done with this state
//! is in `groups`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use moka::sync::Cache;
use socketioxide::SocketIo;
use socketioxide::socket::Sid;

use crate::domain::room::RoomName;

/// How long a processed removal is remembered for joins racing it.
const REMOVAL_MEMORY: Duration = Duration::from_secs(120);

/// Group state of one instance (part of `AppState`).
pub struct GroupState {
    /// Set once at build: timers need it to find a socket again by id.
    io: OnceLock<SocketIo>,
    /// The grant expiry in force for each (socket, group room).
    expiries: Mutex<HashMap<(Sid, RoomName), i64>>,
    /// Removals this instance processed, by (room, user), with when: a join
    /// that was admitted before it and finished after it is undone.
    pub removed: Cache<(String, String), Instant>,
}

impl std::fmt::Debug for GroupState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupState")
    }
}

impl Default for GroupState {
    fn default() -> Self {
        Self {
            io: OnceLock::new(),
            expiries: Mutex::new(HashMap::new()),
            removed: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(REMOVAL_MEMORY)
                .build(),
        }
    }
}

impl GroupState {
    /// Gives the timers the Socket.IO handle (called once by startup).
    pub fn attach(&self, io: SocketIo) {
        let _ = self.io.set(io);
    }

    /// The Socket.IO handle, once startup attached it.
    pub fn io(&self) -> Option<&SocketIo> {
        self.io.get()
    }

    pub fn expiries(&self) -> MutexGuard<'_, HashMap<(Sid, RoomName), i64>> {
        self.expiries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
