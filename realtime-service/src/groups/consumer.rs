//! `group.member_removed` on the session-events exchange: every instance
//! takes that user's sockets out of `group:<id>` at once. The broker link
//! (`broker::revocation`) binds, parses and deduplicates the events and
//! hands each removal here (through `dispatch::session_events`).

use std::sync::Arc;
use std::time::Instant;

use socketioxide::SocketIo;

use super::evict;
use crate::domain::ids::UserId;
use crate::domain::room::RoomName;
use crate::state::AppState;

/// Remembers the removal (for joins racing it), then evicts.
pub async fn member_removed(state: &Arc<AppState>, io: &SocketIo, room: &RoomName, user: &UserId) {
    state.groups.removed.insert(
        (room.as_str().to_owned(), user.as_str().to_owned()),
        Instant::now(),
    );
    evict::user_from_room(io, state, user, room, evict::REMOVED).await;
}
