//! Client -> server events and their acks (DESIGN.md, "Socket.IO").
//!
//! Every event is answered through its ack: `{ok: true, ...}` or
//! `{ok: false, error: {code, message}}`. A bad payload never crashes the
//! socket nor is silently dropped. Order of checks: revoked, rate, payload
//! shape, typed values, membership/permission, then the effect.
//!
//! Joins, leaves and disconnects of a room run one at a time under the
//! room's lock (`rooms::locks`), with their presence changes, relay
//! bind/unbind and announcements, so announcements keep the order of the
//! changes and the relay is bound exactly while the room has local members.
//! Chat messages take no lock: the ack follows the local emit, and the relay
//! publish is queued, never awaited (`broker::relay`).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, Event, SocketRef, State, TryData};

use crate::broker::relay::RelayBody;
use crate::connection::Conn;
use crate::domain::grant::GrantError;
use crate::domain::room::{RoomKind, RoomName};
use crate::domain::text::{HangoutName, MessageText};
use crate::rooms::hangouts::Hangout;
use crate::rooms::history::{MAX_EPOCH_LEN, Since};
use crate::rooms::{ChatMessage, Member};
use crate::state::AppState;

/// How long a join waits for other instances to tell about a hangout this
/// instance does not know (see `rooms::hangouts`).
const HANGOUT_LOOKUP_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

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
    #[error("no such hangout: it was never created here, or it is gone")]
    UnknownHangout,
    #[error("unknown event {0:?}")]
    UnknownEvent(String),
    #[error("the socket has no session state")]
    NoSession,
    #[error("the session ended")]
    Revoked,
    #[error("the socket is disconnecting")]
    Disconnecting,
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
            Self::UnknownHangout => "unknown_hangout",
            Self::UnknownEvent(_) => "unknown_event",
            Self::NoSession => "unauthorized",
            Self::Revoked => "session_revoked",
            Self::Disconnecting => "disconnected",
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
    if conn.is_revoked() {
        return Err(EventError::Revoked);
    }
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
    /// `{epoch, seq}`: checked by hand ([`parse_since`]) for a clear error.
    #[serde(default)]
    since: Option<Value>,
}

/// The recovery point of `room:join`: absent or `null` for none, else
/// `{epoch: string, seq: non-negative integer}` (a `seq` beyond what the
/// room emitted is not an error: it is simply not recovered).
fn parse_since(raw: Option<&Value>) -> Result<Option<Since>, EventError> {
    let shape = || {
        EventError::BadRequest(
            "since must be {epoch: string, seq: non-negative integer}, as the last room:message \
             or room:join reply gave them"
                .into(),
        )
    };
    let Some(raw) = raw.filter(|raw| !raw.is_null()) else {
        return Ok(None);
    };
    let object = raw.as_object().ok_or_else(shape)?;
    let epoch = object
        .get("epoch")
        .and_then(Value::as_str)
        .filter(|epoch| !epoch.is_empty() && epoch.len() <= MAX_EPOCH_LEN)
        .ok_or_else(shape)?;
    let seq = object
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or_else(shape)?;
    Ok(Some(Since {
        epoch: epoch.to_owned(),
        seq,
    }))
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

/// `room:join {room, grant?, since?}` -> `{ok, room, epoch, seq, members,
/// history, recovered?, hangout?}`
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
    let since = parse_since(request.since.as_ref())?;
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
    let hangout = if room.kind() == RoomKind::Hangout {
        Some(find_hangout(state, &room).await?)
    } else {
        None
    };
    let guard = state.room_locks.lock(room.as_str()).await;
    let newly_joined = {
        let mut joined = conn.rooms();
        if joined.closed {
            return Err(EventError::Disconnecting);
        }
        if joined.rooms.contains(&room) {
            false
        } else if joined.rooms.len() >= state.limits.rooms_per_socket {
            return Err(EventError::TooManyRooms(state.limits.rooms_per_socket));
        } else {
            joined.rooms.insert(room.clone());
            true
        }
    };
    // Joining and the snapshot under the room's sequencer: a clean cut
    // between the history in the reply and the messages emitted live.
    let snapshot = {
        let sequencer = state.history.sequencer(room.as_str()).await;
        if newly_joined {
            socket.join(room.as_str().to_owned());
        }
        sequencer.snapshot(since.as_ref())
    };
    if newly_joined {
        let member = conn.member(&room, state);
        let joined = state.presence.join_local(room.as_str(), &member);
        if joined.room_is_new {
            state.metrics.rooms_changed(1);
            state.vacancies.filled(room.as_str());
            let since = now_millis() - crate::broker::relay::CATCH_UP_SLACK_MS;
            state.relay.bind(room.as_str()).await;
            relay_publish(state, &room, RelayBody::Sync { since: Some(since) });
        }
        if joined.member_is_new {
            announce_presence(socket, state, &room, member.clone(), Presence::Joined).await;
            relay_publish(
                state,
                &room,
                RelayBody::Presence {
                    member,
                    joined: true,
                },
            );
        }
    }
    let mut reply = json!({
        "room": room.as_str(),
        "epoch": snapshot.epoch,
        "seq": snapshot.seq,
        "members": state.presence.members(room.as_str()),
        "history": snapshot.history,
    });
    if let Some(recovered) = snapshot.recovered {
        reply["recovered"] = Value::Bool(recovered);
    }
    if let Some(hangout) = hangout {
        reply["hangout"] = json!({
            "name": hangout.name,
            "creator": hangout.creator,
            "created_at": hangout.created_at,
        });
    }
    // Outside the room's lock: a join that raced a removal is undone by an
    // eviction, which takes the lock itself.
    drop(guard);
    if let Some(admitted) = admitted {
        crate::groups::joined(state, socket, &room, admitted).await;
    }
    Ok(reply)
}

/// A hangout some instance created: the id must be authentic, then known
/// here or to another instance (asked over the relay).
async fn find_hangout(state: &Arc<AppState>, room: &RoomName) -> Result<Arc<Hangout>, EventError> {
    if !state.hangout_ids.is_authentic(room) {
        return Err(EventError::UnknownHangout);
    }
    state
        .hangouts
        .lookup(room.as_str(), HANGOUT_LOOKUP_WAIT, async {
            state.relay.ask_hangout(room.as_str())
        })
        .await
        .ok_or(EventError::UnknownHangout)
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
        let _guard = state.room_locks.lock(room.as_str()).await;
        if !conn.rooms().rooms.remove(&room) {
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
    let sent = socket
        .to(room.as_str().to_owned())
        .emit("room:presence", &payload)
        .await;
    state.metrics.broadcast(&sent);
}

/// Queues a relay message to the other instances (counted when dropped).
fn relay_publish(state: &AppState, room: &RoomName, body: RelayBody) {
    if !state.relay.publish(room.as_str(), body) {
        state.metrics.relay_dropped();
    }
}

/// Presence and relay bookkeeping once a socket is out of `room` (explicit
/// leave or disconnect); the caller holds the room's lock.
pub async fn after_leave(socket: &SocketRef, state: &Arc<AppState>, conn: &Conn, room: &RoomName) {
    let member = conn.member(room, state);
    let left = state.presence.leave_local(room.as_str(), &member);
    if left.member_left_here {
        if left.member_is_gone {
            announce_presence(socket, state, room, member.clone(), Presence::Left).await;
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
                crate::rooms::vacancy::forget_if_vacant(&state, &due).await;
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

/// `room:message {room, text}` -> `{ok, id, seq, epoch, ts}`; others in the
/// room get `room:message {room, id, seq, epoch, from, text, ts}`. The ack
/// goes out once the local sockets have the message; other instances get it
/// through the relay's queue afterwards.
pub async fn message(
    socket: SocketRef,
    State(state): State<Arc<AppState>>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    let reply: Result<(RoomName, ChatMessage), EventError> = async {
        let (conn, request): (_, MessageRequest) = prepare(&socket, data)?;
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
            from: conn.member(&room, &state),
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
    .await;
    match reply {
        Ok((room, message)) => {
            answer(
                ack,
                &state,
                Ok(json!({
                    "id": message.id,
                    "seq": message.seq,
                    "epoch": message.epoch,
                    "ts": message.ts,
                })),
            );
            if state.presence.has_peers(room.as_str()) {
                relay_publish(&state, &room, RelayBody::Message { message });
            }
        }
        Err(error) => answer(ack, &state, Err(error)),
    }
}

/// `hangout:create {name}` -> `{ok, room, name}`; the creator joins with
/// `room:join` like everyone else.
pub async fn hangout_create(
    socket: SocketRef,
    State(state): State<Arc<AppState>>,
    TryData(data): TryData<Value>,
    ack: AckSender,
) {
    let reply = async {
        let (conn, request): (_, HangoutRequest) = prepare(&socket, data)?;
        let name = HangoutName::parse(&request.name)
            .map_err(|error| EventError::InvalidText(error.to_string()))?;
        if !state.hangout_quota.try_take(conn.identity.user.as_str()) {
            return Err(EventError::HangoutLimit(state.limits.hangouts_per_user));
        }
        let room = state.hangout_ids.mint();
        let hangout = Hangout {
            room: room.as_str().to_owned(),
            name: name.as_str().to_owned(),
            creator: conn.member(&room, &state),
            created_at: now_millis(),
        };
        state.hangouts.remember(hangout.clone());
        if !state.relay.announce_hangout(hangout) {
            state.metrics.relay_dropped();
        }
        Ok(json!({ "room": room.as_str(), "name": name.as_str() }))
    }
    .await;
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
        if conn.is_revoked() {
            Err(EventError::Revoked)
        } else if conn.rate.allow() {
            Err(EventError::UnknownEvent(event.chars().take(64).collect()))
        } else {
            Err(EventError::RateLimited)
        }
    });
    answer(ack, &state, reply);
}

pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_absent_or_a_well_formed_recovery_point() {
        assert!(matches!(parse_since(None), Ok(None)));
        assert!(matches!(parse_since(Some(&Value::Null)), Ok(None)));
        let since = parse_since(Some(&json!({"epoch": "0123456789abcdef", "seq": 3})));
        assert_eq!(
            since.ok().flatten(),
            Some(Since {
                epoch: "0123456789abcdef".into(),
                seq: 3
            })
        );
        // Huge but whole: not an error (it is just not recovered).
        let huge = parse_since(Some(&json!({"epoch": "e", "seq": u64::MAX})));
        assert_eq!(huge.ok().flatten().map(|since| since.seq), Some(u64::MAX));
    }

    #[test]
    fn hostile_since_values_are_bad_requests() {
        for bad in [
            json!({"epoch": "e", "seq": -1}),
            json!({"epoch": "e", "seq": 1.5}),
            json!({"epoch": "e", "seq": 1e300}),
            json!({"epoch": "e", "seq": "3"}),
            json!({"epoch": "e", "seq": null}),
            json!({"epoch": "e"}),
            json!({"seq": 3}),
            json!({"epoch": 7, "seq": 3}),
            json!({"epoch": "", "seq": 3}),
            json!({"epoch": "e".repeat(MAX_EPOCH_LEN + 1), "seq": 3}),
            json!({"epoch": ["e"], "seq": 3}),
            json!("0123456789abcdef:3"),
            json!([1, 2]),
            json!(3),
            json!(true),
        ] {
            match parse_since(Some(&bad)) {
                Err(error) => assert_eq!(error.code(), "bad_request", "{bad}"),
                Ok(since) => panic!("{bad} was accepted as {since:?}"),
            }
        }
    }
}
