//! `room:leave {room}` -> `{ok, room}`: out of the room under its lock, then
//! the same bookkeeping as any leave (`membership::after_leave`).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, SocketRef, State, TryData};

use crate::events::reply::{EventError, Payload, Reply, answer, parse_room, prepare};
use crate::membership::after_leave;
use crate::state::AppState;

#[derive(Deserialize)]
struct LeaveRequest {
    room: String,
}

pub async fn handle(
    socket: SocketRef,
    State(state): State<Arc<AppState>>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    let reply = run(&socket, &state, data).await;
    answer(ack, &state, reply);
}

async fn run(socket: &SocketRef, state: &Arc<AppState>, data: Payload) -> Reply {
    let (conn, request): (_, LeaveRequest) = prepare(socket, data)?;
    let room = parse_room(&request.room)?;
    let _guard = state.room_locks.lock(room.as_str()).await;
    if !conn.rooms().rooms.remove(&room) {
        return Err(EventError::NotInRoom);
    }
    socket.leave(room.as_str().to_owned());
    after_leave(socket, state, &conn, &room).await;
    Ok(json!({ "room": room.as_str() }))
}
