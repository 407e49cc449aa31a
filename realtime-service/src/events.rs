//! Client -> server events and their acks (DESIGN.md, "Socket.IO").
//!
//! Every event is answered through its ack: `{ok: true, ...}` or
//! `{ok: false, error: {code, message}}`. A bad payload never crashes the
//! socket nor is silently dropped. Order of checks: rate, payload shape,
//! typed values, membership/permission, then the effect.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, Event, SocketRef, State, TryData};

use crate::broker::relay::RelayBody;
use crate::connection::Conn;
use crate::domain::grant::GrantError;
use crate::domain::room::{RoomKind, RoomName};
use crate::domain::text::{HangoutName, MessageText};
use crate::rooms::{ChatMessage, Member};
use crate::state::AppState;

/// Why an event was refused: a stable `code` and a human `message`.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    InvalidRoom(String),
    #[error("{0}")]
    InvalidText(String),
    #[error("too many events; slow down")]
    RateLimited,
    #[error("a socket may be in at most {0} rooms")]
    TooManyRooms(usize),
    #[error("join the room first")]
    NotInRoom,
    #[error("{0}")]
    Grant(GrantError),
    #[error("at most {0} hangouts per hour")]
    HangoutLimit(u32),
    #[error("unknown event {0:?}")]
    UnknownEvent(String),
    #[error("the socket has no session state")]
    NoSession,
}

impl EventError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::InvalidRoom(_) => "invalid_room",
            Self::InvalidText(_) => "invalid_text",
            Self::RateLimited => "rate_limited",
            Self::TooManyRooms(_) => "too_many_rooms",
            Self::NotInRoom => "not_in_room",
            Self::Grant(GrantError::Closed) => "group_rooms_closed",
            Self::Grant(GrantError::Missing) => "grant_required",
            Self::Grant(GrantError::Invalid) => "grant_invalid",
            Self::Grant(GrantError::Mismatch) => "forbidden",
            Self::Grant(GrantError::NotMember) => "not_a_member",
            Self::Grant(GrantError::Unavailable) => "unavailable",
            Self::HangoutLimit(_) => "hangout_limit",
            Self::UnknownEvent(_) => "unknown_event",
            Self::NoSession => "unauthorized",
        }
    }
}

type Reply = Result<Value, EventError>;

fn answer(ack: AckSender, state: &AppState, reply: Reply) {
    let body = match reply {
        Ok(mut body) => {
            body["ok"] = Value::Bool(true);
            body
        }
        Err(error) => {
            state.metrics.error_ack();
            json!({ "ok": false, "error": { "code": error.code(), "message": error.to_string() } })
        }
    };
    // The client may not have asked for an ack; nothing to do then.
    let _ = ack.send(&body);
}

fn conn_of(socket: &SocketRef) -> Result<Arc<Conn>, EventError> {
    socket
        .extensions
        .get::<Arc<Conn>>()
        .ok_or(EventError::NoSession)
}

/// Rate check and payload decoding shared by all events.
fn prepare<T: for<'de> Deserialize<'de>>(
    socket: &SocketRef,
    data: Result<Value, socketioxide::ParserError>,
) -> Result<(Arc<Conn>, T), EventError> {
    let conn = conn_of(socket)?;
    if !conn.rate.allow() {
        return Err(EventError::RateLimited);
    }
    let value = data.map_err(|_| EventError::BadRequest("the payload is not valid JSON".into()))?;
    if !value.is_object() {
        return Err(EventError::BadRequest(
            "the payload must be an object".into(),
        ));
    }
    let request = serde_json::from_value(value)
        .map_err(|error| EventError::BadRequest(format!("bad payload: {error}")))?;
    Ok((conn, request))
}

fn parse_room(raw: &str) -> Result<RoomName, EventError> {
    RoomName::parse(raw).map_err(|error| EventError::InvalidRoom(error.to_string()))
}

#[derive(Deserialize)]
struct JoinRequest {
    room: String,
    #[serde(default)]
    grant: Option<String>,
}

#[derive(Deserialize)]
struct RoomRequest {
    room: String,
}

#[derive(Deserialize)]
struct MessageRequest {
    room: String,
    text: String,
}

#[derive(Deserialize)]
struct HangoutRequest {
    name: String,
}

/// `room:join {room, grant?}` -> `{ok, room, members, history}`
pub async fn join(
    socket: SocketRef,
    State(state): State<Arc<AppState>>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    let reply = do_join(&socket, &state, data).await;
    answer(ack, &state, reply);
}

async fn do_join(
    socket: &SocketRef,
    state: &Arc<AppState>,
    data: Result<Value, socketioxide::ParserError>,
) -> Reply {
    let (conn, request): (_, JoinRequest) = prepare(socket, data)?;
    let room = parse_room(&request.room)?;
    let admitted = if room.kind() == RoomKind::Group {
        let grant = request.grant.as_deref();
        Some(
            crate::groups::admit(state, &conn, &room, grant)
                .await
                .map_err(EventError::Grant)?,
        )
    } else {
        None
    };
    let newly_joined = {
        let mut rooms = conn.rooms();
        if rooms.contains(&room) {
            false
        } else if rooms.len() >= state.limits.rooms_per_socket {
            return Err(EventError::TooManyRooms(state.limits.rooms_per_socket));
        } else {
            rooms.insert(room.clone());
            true
        }
    };
    if newly_joined {
        socket.join(room.as_str().to_owned());
        let member = conn.member(&room, state);
        let joined = state.presence.join_local(room.as_str(), &member);
        if joined.room_is_new {
            state.metrics.rooms_changed(1);
            state.relay.bind(room.as_str()).await;
            state.relay.publish(room.as_str(), RelayBody::Sync).await;
        }
        if joined.member_is_new {
            announce_presence(socket, state, &room, member.clone(), Presence::Joined).await;
            relay_presence(state, &room, member, true).await;
        }
    }
    if let Some(admitted) = admitted {
        crate::groups::joined(state, socket, &room, admitted).await;
    }
    Ok(json!({
        "room": room.as_str(),
        "members": state.presence.members(room.as_str()),
        "history": state.history.recent(room.as_str()),
    }))
}

/// `room:leave {room}` -> `{ok, room}`
pub async fn leave(
    socket: SocketRef,
    State(state): State<Arc<AppState>>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    let reply = async {
        let (conn, request): (_, RoomRequest) = prepare(&socket, data)?;
        let room = parse_room(&request.room)?;
        if !conn.rooms().remove(&room) {
            return Err(EventError::NotInRoom);
        }
        socket.leave(room.as_str().to_owned());
        after_leave(&socket, &state, &conn, &room).await;
        Ok(json!({ "room": room.as_str() }))
    }
    .await;
    answer(ack, &state, reply);
}

/// Which way a member moved, as `room:presence` names it.
#[derive(Debug, Clone, Copy)]
enum Presence {
    Joined,
    Left,
}

/// Tells the room's other local sockets that `member` joined or left, with the
/// merged member list.
async fn announce_presence(
    socket: &SocketRef,
    state: &Arc<AppState>,
    room: &RoomName,
    member: Member,
    change: Presence,
) {
    let members = state.presence.members(room.as_str());
    let payload = match change {
        Presence::Joined => json!({ "room": room.as_str(), "joined": member, "members": members }),
        Presence::Left => json!({ "room": room.as_str(), "left": member, "members": members }),
    };
    let _ = socket
        .to(room.as_str().to_owned())
        .emit("room:presence", &payload)
        .await;
    state.metrics.message_out();
}

/// Sends a presence delta to the other instances (counted when dropped).
async fn relay_presence(state: &Arc<AppState>, room: &RoomName, member: Member, joined: bool) {
    if !state
        .relay
        .publish(room.as_str(), RelayBody::Presence { member, joined })
        .await
    {
        state.metrics.relay_dropped();
    }
}

/// Presence and relay bookkeeping once a socket is out of `room` (explicit
/// leave or disconnect).
pub async fn after_leave(socket: &SocketRef, state: &Arc<AppState>, conn: &Conn, room: &RoomName) {
    let member = conn.member(room, state);
    let left = state.presence.leave_local(room.as_str(), &member);
    if left.member_left_here {
        if left.member_is_gone {
            announce_presence(socket, state, room, member.clone(), Presence::Left).await;
        }
        relay_presence(state, room, member, false).await;
    }
    if left.room_is_empty {
        state.metrics.rooms_changed(-1);
        state.relay.unbind(room.as_str()).await;
    }
}

/// `room:message {room, text}` -> `{ok, id, ts}`; others in the room get
/// `room:message {room, id, from, text, ts}`.
pub async fn message(
    socket: SocketRef,
    State(state): State<Arc<AppState>>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    let reply = async {
        let (conn, request): (_, MessageRequest) = prepare(&socket, data)?;
        let room = parse_room(&request.room)?;
        let text = MessageText::parse(request.text, state.limits.max_text_chars)
            .map_err(|error| EventError::InvalidText(error.to_string()))?;
        if !conn.rooms().contains(&room) {
            return Err(EventError::NotInRoom);
        }
        let message = ChatMessage {
            room: room.as_str().to_owned(),
            id: uuid::Uuid::now_v7().to_string(),
            from: conn.member(&room, &state),
            text: text.into_inner(),
            ts: now_millis(),
        };
        state.metrics.message_in();
        let _ = socket
            .to(room.as_str().to_owned())
            .emit("room:message", &message)
            .await;
        state.metrics.message_out();
        state.history.push(message.clone());
        let reply = json!({ "id": message.id, "ts": message.ts });
        if state.presence.has_peers(room.as_str())
            && !state
                .relay
                .publish(room.as_str(), RelayBody::Message { message })
                .await
        {
            state.metrics.relay_dropped();
        }
        Ok(reply)
    }
    .await;
    answer(ack, &state, reply);
}

/// `hangout:create {name}` -> `{ok, room, name}`; the creator joins with
/// `room:join` like everyone else.
pub async fn hangout_create(
    socket: SocketRef,
    State(state): State<Arc<AppState>>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    let reply = (|| {
        let (conn, request): (_, HangoutRequest) = prepare(&socket, data)?;
        let name = HangoutName::parse(&request.name)
            .map_err(|error| EventError::InvalidText(error.to_string()))?;
        if !state.hangout_quota.try_take(conn.identity.user.as_str()) {
            return Err(EventError::HangoutLimit(state.limits.hangouts_per_user));
        }
        let room = RoomName::new_hangout();
        Ok(json!({ "room": room.as_str(), "name": name.as_str() }))
    })();
    answer(ack, &state, reply);
}

/// Any other event: an error ack, the socket stays.
pub async fn unknown(
    socket: SocketRef,
    State(state): State<Arc<AppState>>,
    Event(event): Event,
    ack: AckSender,
) {
    let reply = conn_of(&socket).and_then(|conn| {
        if conn.rate.allow() {
            Err(EventError::UnknownEvent(event.chars().take(64).collect()))
        } else {
            Err(EventError::RateLimited)
        }
    });
    answer(ack, &state, reply);
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}
