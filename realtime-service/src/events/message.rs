//! `room:message {room, text}` -> `{ok, id, seq, epoch, ts}`; others in the
//! room get `room:message {room, id, seq, epoch, from, text, ts}`.
//!
//! Chat messages take no room lock: the message is sequenced and emitted
//! in one step of the room's sequencer, the ack goes out once the local
//! sockets have it, and other instances get it through the relay's queue
//! afterwards (queued, never awaited: `broker::relay`).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, SocketRef, State, TryData};

use crate::broker::relay::RelayBody;
use crate::domain::room::RoomName;
use crate::domain::text::MessageText;
use crate::events::reply::{EventError, Payload, answer, now_millis, parse_room, prepare};
use crate::membership::relay_publish;
use crate::rooms::ChatMessage;
use crate::state::AppState;

#[derive(Deserialize)]
struct MessageRequest {
    room: String,
    text: String,
}

pub async fn handle(
    socket: SocketRef,
    State(state): State<Arc<AppState>>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    match run(&socket, &state, data).await {
        Ok((room, message)) => {
            let body = json!({
                "id": message.id,
                "seq": message.seq,
                "epoch": message.epoch,
                "ts": message.ts,
            });
            answer(ack, &state, Ok(body));
            if state.presence.has_peers(room.as_str()) {
                relay_publish(&state, &room, RelayBody::Message { message });
            }
        }
        Err(error) => answer(ack, &state, Err(error)),
    }
}

/// Checks, sequences and emits the message locally; the caller acks and
/// relays it.
async fn run(
    socket: &SocketRef,
    state: &Arc<AppState>,
    data: Payload,
) -> Result<(RoomName, ChatMessage), EventError> {
    let (conn, request): (_, MessageRequest) = prepare(socket, data)?;
    let room = parse_room(&request.room)?;
    let text = MessageText::parse(
        request.text,
        state.limits.max_text_chars,
        state.limits.max_text_bytes,
    )
    .map_err(|error| EventError::InvalidText(error.to_string()))?;
    if !conn.rooms().rooms.contains(&room) {
        return Err(EventError::NotInRoom);
    }
    let draft = ChatMessage {
        room: room.as_str().to_owned(),
        id: uuid::Uuid::now_v7().to_string(),
        seq: 0,
        epoch: String::new(),
        from: conn.member(&room, &state.alias_key),
        text: text.into_inner(),
        ts: now_millis(),
    };
    state.relay.first_sight(&draft.id);
    state.metrics.message_in();
    // Sequenced and emitted in one step of the room's order.
    let mut sequencer = state.history.sequencer(room.as_str()).await;
    let message = sequencer
        .append(draft)
        .ok_or_else(|| EventError::BadRequest("message id clash; send it again".into()))?;
    let sent = socket
        .to(room.as_str().to_owned())
        .emit("room:message", &message)
        .await;
    drop(sequencer);
    state.metrics.broadcast(&sent);
    Ok((room, message))
}
