//! A socket's membership of a room changing, and what follows: presence
//! announced to the room's local sockets and relayed to other instances,
//! the relay bound exactly while the room has local members, the history
//! of a room that stayed empty dropped after a grace period.
//!
//! Joins, leaves, evictions and disconnects of a room run one at a time
//! under the room's lock (`rooms::locks`); the functions here that say so
//! expect the caller to hold it. Shared by the client events (`events`),
//! group evictions (`groups`), kicks (`kick`) and the disconnect
//! (`connection`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use socketioxide::extract::SocketRef;
use tokio_util::sync::CancellationToken;

use crate::broker::relay::RelayBody;
use crate::conn::Conn;
use crate::domain::room::RoomName;
use crate::rooms::Member;
use crate::state::AppState;

/// Which way a member moved, as `room:presence` names it.
#[derive(Debug, Clone, Copy)]
pub enum PresenceChange {
    Joined,
    Left,
}

/// Tells the room's other local sockets that `member` joined or left, with
/// the merged member list.
pub async fn announce_presence(
    socket: &SocketRef,
    state: &AppState,
    room: &RoomName,
    member: Member,
    change: PresenceChange,
) {
    let members = state.presence.members(room.as_str());
    let payload = match change {
        PresenceChange::Joined => {
            json!({ "room": room.as_str(), "joined": member, "members": members })
        }
        PresenceChange::Left => {
            json!({ "room": room.as_str(), "left": member, "members": members })
        }
    };
    let sent = socket
        .to(room.as_str().to_owned())
        .emit("room:presence", &payload)
        .await;
    state.metrics.broadcast(&sent);
}

/// Queues a relay message to the other instances (counted when dropped).
pub fn relay_publish(state: &AppState, room: &RoomName, body: RelayBody) {
    if !state.relay.publish(room.as_str(), body) {
        state.metrics.relay_dropped();
    }
}

/// Presence and relay bookkeeping once a socket is out of `room` (explicit
/// leave, eviction or disconnect); the caller holds the room's lock.
pub async fn after_leave(socket: &SocketRef, state: &Arc<AppState>, conn: &Conn, room: &RoomName) {
    let member = conn.member(room, &state.alias_key);
    let left = state.presence.leave_local(room.as_str(), &member);
    if left.member_left_here {
        if left.member_is_gone {
            announce_presence(socket, state, room, member.clone(), PresenceChange::Left).await;
        }
        relay_publish(
            state,
            room,
            RelayBody::Presence {
                member,
                joined: false,
            },
        );
    }
    if left.room_is_empty {
        state.metrics.rooms_changed(-1);
        state.relay.unbind(room.as_str()).await;
        if let Some(due) = state.vacancies.emptied(room.as_str()) {
            // Too many vacant rooms: the oldest goes now (its lock is
            // another room's, taken off this task).
            let state = state.clone();
            tokio::spawn(async move {
                forget_if_vacant(&state, &due).await;
            });
        }
    }
}

/// Takes the socket out of every room it joined and refuses later joins
/// (disconnect, revocation).
pub async fn leave_all(socket: &SocketRef, state: &Arc<AppState>, conn: &Conn) {
    let rooms: Vec<RoomName> = {
        let mut joined = conn.rooms();
        joined.closed = true;
        joined.rooms.iter().cloned().collect()
    };
    for room in rooms {
        let _guard = state.room_locks.lock(room.as_str()).await;
        if conn.rooms().rooms.remove(&room) {
            socket.leave(room.as_str().to_owned());
            after_leave(socket, state, conn, &room).await;
        }
    }
}

/// Drops the history of rooms that stayed empty for `grace`, checking
/// every `grace / 10` (at least every second), until cancelled.
pub async fn run_sweeper(state: Arc<AppState>, grace: Duration, stop: CancellationToken) {
    let mut ticker = tokio::time::interval((grace / 10).max(Duration::from_secs(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => return,
        }
        for room in state.vacancies.due(grace) {
            forget_if_vacant(&state, &room).await;
        }
    }
}

/// Drops the room's history unless someone joined meanwhile.
pub async fn forget_if_vacant(state: &AppState, room: &str) {
    let _guard = state.room_locks.lock(room).await;
    if !state.presence.has_local(room) {
        state.history.forget(room);
    }
}
