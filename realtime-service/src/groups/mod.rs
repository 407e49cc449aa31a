//! Group chat rooms (`group:<id>`) as members experience them: membership
//! is owned by session-store (GroupStore gRPC), grants are minted by
//! auth-service, and this module keeps the room in step with both:
//!
//! - [`admit`]: `room:join` of a group needs a valid grant AND a current
//!   membership (one CheckMemberships call), so a removed member cannot
//!   rejoin with a grant that has not expired yet;
//! - [`expiry`]: a member leaves the room at their grant's `exp`
//!   (`room:left {room, reason: "grant_expired"}`) unless a `room:join` with
//!   a fresh grant extended it;
//! - [`consumer`]: `group.member_removed` events (on the session-events
//!   exchange, consumed next to the revocations) evict that user's sockets
//!   from the room at once (`reason: "removed"`);
//! - [`recheck`]: every re-check interval, the memberships behind every
//!   local socket in a group room are asked in batches (not per socket), so
//!   a lost event keeps nobody in the room longer than one interval;
//! - [`evict`]: taking one socket out of a room and saying why.

pub mod admit;
pub mod consumer;
pub mod evict;
pub mod expiry;
pub mod recheck;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use moka::sync::Cache;
use nexus_common::store_client::GroupClient;
use socketioxide::SocketIo;
use socketioxide::socket::Sid;

use crate::domain::room::RoomName;

pub use admit::admit;
pub use expiry::joined;
pub use recheck::round as recheck_round;

/// Most memberships asked in one CheckMemberships call (session-store's cap).
pub use nexus_domain::limits::MAX_MEMBERSHIP_CHECKS as MEMBERSHIP_BATCH;
/// How long a processed removal is remembered for joins racing it.
const REMOVAL_MEMORY: Duration = Duration::from_secs(120);

/// Group state of one instance (part of `AppState`).
pub struct Groups {
    client: GroupClient,
    /// Set once at build: timers need it to find a socket again by id.
    io: OnceLock<SocketIo>,
    /// The grant expiry in force for each (socket, group room).
    expiries: Mutex<HashMap<(Sid, RoomName), i64>>,
    /// Removals this instance processed, by (room, user), with when: a join
    /// that was admitted before it and finished after it is undone.
    removed: Cache<(String, String), Instant>,
}

impl std::fmt::Debug for Groups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Groups")
    }
}

impl Groups {
    pub fn new(client: GroupClient) -> Self {
        Self {
            client,
            io: OnceLock::new(),
            expiries: Mutex::new(HashMap::new()),
            removed: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(REMOVAL_MEMORY)
                .build(),
        }
    }

    /// Gives the timers the Socket.IO handle (called once by startup).
    pub fn attach(&self, io: SocketIo) {
        let _ = self.io.set(io);
    }

    fn expiries(&self) -> std::sync::MutexGuard<'_, HashMap<(Sid, RoomName), i64>> {
        self.expiries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Which of the (group id, user id) pairs are memberships now; `None`
    /// when session-store cannot say (callers then change nothing).
    pub async fn memberships(&self, pairs: &[(String, String)]) -> Option<Vec<bool>> {
        use nexus_proto::session_v1 as pb;
        let mut answers = Vec::with_capacity(pairs.len());
        for chunk in pairs.chunks(MEMBERSHIP_BATCH) {
            let request = pb::CheckMembershipsRequest {
                memberships: chunk
                    .iter()
                    .map(|(group_id, user_id)| pb::Membership {
                        group_id: group_id.clone(),
                        user_id: user_id.clone(),
                    })
                    .collect(),
            };
            match self.client.clone().check_memberships(request).await {
                Ok(response) => {
                    let found = response.into_inner().is_member;
                    if found.len() != chunk.len() {
                        tracing::warn!(
                            "session-store answered a membership batch of the wrong size"
                        );
                        return None;
                    }
                    answers.extend(found);
                }
                Err(status) => {
                    tracing::warn!(code = ?status.code(), message = status.message(), "group memberships cannot be checked");
                    return None;
                }
            }
        }
        Some(answers)
    }
}

/// The group id of a `group:<id>` room.
pub fn group_id(room: &RoomName) -> &str {
    room.as_str()
        .strip_prefix("group:")
        .unwrap_or(room.as_str())
}
