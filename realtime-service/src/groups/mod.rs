//! Group chat rooms (`group:<id>`) as members experience them: membership
//! is owned by session-store (GroupStore gRPC), grants are minted by
//! auth-service, and this module keeps the room in step with both:
//!
//! - [`admit`]: `room:join` of a group needs a valid grant AND a current
//!   membership (one CheckMemberships call through `store`), so a removed
//!   member cannot rejoin with a grant that has not expired yet;
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
//!
//! The state these work on (expiries, recent removals) is
//! `rooms::group_state`, part of `AppState`.

pub mod admit;
pub mod consumer;
pub mod evict;
pub mod expiry;
pub mod recheck;

use crate::domain::room::RoomName;

/// The group id of a `group:<id>` room.
pub fn group_id(room: &RoomName) -> &str {
    room.as_str()
        .strip_prefix("group:")
        .unwrap_or(room.as_str())
}
