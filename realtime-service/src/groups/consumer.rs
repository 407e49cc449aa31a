//! `group.member_removed` on the session-events exchange: every instance
//! takes that user's sockets out of `group:<id>` at once. The binding and
//! the dispatch sit in the revocation consumer (`broker::revocation`), so
//! one queue and one reconnect loop serve both; events are deduplicated by
//! their CloudEvents `id` like the session events.

use std::sync::Arc;
use std::time::Instant;

use lapin::Channel;
use lapin::options::QueueBindOptions;
use lapin::types::{FieldTable, ShortString};
use moka::sync::Cache;
use nexus_common::events::{GROUP_MEMBER_REMOVED_KEY, GroupCloudEvent};
use socketioxide::SocketIo;

use super::evict;
use crate::domain::ids::UserId;
use crate::domain::room::{RoomKind, RoomName};
use crate::state::AppState;

/// Binds the instance's session-event queue to `group.member_removed`.
pub async fn bind(channel: &Channel, queue: &ShortString, exchange: &str) -> lapin::Result<()> {
    channel
        .queue_bind(
            queue.clone(),
            exchange.into(),
            GROUP_MEMBER_REMOVED_KEY.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}

/// Whether a delivery is a group event (routed here, not to revocation).
pub fn is_group_event(routing_key: &str) -> bool {
    routing_key == GROUP_MEMBER_REMOVED_KEY
}

/// Handles one `group.member_removed` body: remember the removal (for joins
/// racing it), then evict. Malformed events are logged and dropped.
pub async fn handle(state: &Arc<AppState>, io: &SocketIo, seen: &Cache<String, ()>, body: &[u8]) {
    let event: GroupCloudEvent = match serde_json::from_slice(body) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(%error, "group events: unreadable event dropped");
            return;
        }
    };
    if !event.is_member_removed() {
        return;
    }
    if seen.contains_key(&event.id) {
        tracing::debug!(id = %event.id, "group events: duplicate ignored");
        return;
    }
    seen.insert(event.id.clone(), ());
    let room = RoomName::parse(&format!("group:{}", event.data.group_id))
        .ok()
        .filter(|room| room.kind() == RoomKind::Group);
    let (Some(room), Ok(user)) = (room, UserId::parse(&event.data.user_id)) else {
        tracing::warn!("group events: event with an invalid group or user id dropped");
        return;
    };
    state.groups.removed.insert(
        (room.as_str().to_owned(), user.as_str().to_owned()),
        Instant::now(),
    );
    evict::user_from_room(io, state, &user, &room, evict::REMOVED).await;
}
