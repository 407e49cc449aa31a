//! `hangout:create {name}` -> `{ok, room, name}`: mints an authentic
//! hangout id, remembers the hangout and announces it to the other
//! instances; the creator joins with `room:join` like everyone else.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, SocketRef, State, TryData};

use crate::domain::text::HangoutName;
use crate::events::reply::{EventError, Payload, Reply, answer, now_millis, prepare};
use crate::rooms::hangouts::Hangout;
use crate::state::AppState;

#[derive(Deserialize)]
struct HangoutRequest {
    name: String,
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
    let (conn, request): (_, HangoutRequest) = prepare(socket, data)?;
    let name = HangoutName::parse(&request.name)
        .map_err(|error| EventError::InvalidText(error.to_string()))?;
    if !state.hangout_quota.try_take(conn.identity.user.as_str()) {
        return Err(EventError::HangoutLimit(state.limits.hangouts_per_user));
    }
    let room = state.hangout_ids.mint();
    let hangout = Hangout {
        room: room.as_str().to_owned(),
        name: name.as_str().to_owned(),
        creator: conn.member(&room, &state.alias_key),
        created_at: now_millis(),
    };
    state.hangouts.remember(hangout.clone());
    if !state.relay.announce_hangout(hangout) {
        state.metrics.relay_dropped();
    }
    Ok(json!({ "room": room.as_str(), "name": name.as_str() }))
}
