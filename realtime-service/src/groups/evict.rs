//! Taking one socket out of one room on the server's initiative: the same
//! bookkeeping as a `room:leave` (presence, relay), then `room:left {room,
//! reason}` so the client knows why it no longer receives the room.

use std::sync::Arc;

use serde_json::json;
use socketioxide::extract::SocketRef;

use crate::conn::Conn;
use crate::domain::ids::{PrivateRoom, UserId};
use crate::domain::room::RoomName;
use crate::state::AppState;

/// Why a member was taken out of a group room.
pub const REMOVED: &str = "removed";
pub const GRANT_EXPIRED: &str = "grant_expired";

/// Evicts `socket` from `room`; false when it was not in it.
pub async fn socket_from_room(
    socket: &SocketRef,
    state: &Arc<AppState>,
    room: &RoomName,
    reason: &str,
) -> bool {
    let Some(conn) = socket.extensions.get::<Arc<Conn>>() else {
        return false;
    };
    // Under the room's lock, like `room:leave`: membership, presence and the
    // relay binding change together.
    let _guard = state.room_locks.lock(room.as_str()).await;
    if !conn.rooms().rooms.remove(room) {
        return false;
    }
    socket.leave(room.as_str().to_owned());
    let payload = json!({ "room": room.as_str(), "reason": reason });
    if let Err(error) = socket.emit("room:left", &payload) {
        tracing::debug!(%error, "could not tell a socket it left a room");
    }
    crate::membership::after_leave(socket, state, &conn, room).await;
    true
}

/// Evicts every local socket of `user` from `room`; returns how many.
pub async fn user_from_room(
    io: &socketioxide::SocketIo,
    state: &Arc<AppState>,
    user: &UserId,
    room: &RoomName,
    reason: &str,
) -> usize {
    let mut evicted = 0;
    for socket in io.to(user.room()).sockets() {
        if socket_from_room(&socket, state, room, reason).await {
            evicted += 1;
        }
    }
    if evicted > 0 {
        tracing::info!(room = %room, sockets = evicted, reason, "evicted a member's sockets from a group room");
    }
    evicted
}
