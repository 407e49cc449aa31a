//! What every event handler shares: the refusal codes ([`EventError`]),
//! the ack ([`answer`]), and the checks that come first for every event
//! ([`prepare`]: revoked, rate, payload shape).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, SocketRef};

use crate::conn::Conn;
use crate::domain::grant::GrantError;
use crate::domain::room::RoomName;
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

/// What a handler answers: the ack's body (`ok: true` is added) or why not.
pub type Reply = Result<Value, EventError>;

/// An event's payload as socketioxide hands it over.
pub type Payload = Result<Value, socketioxide::ParserError>;

/// Sends the ack: `{ok: true, ...}` or `{ok: false, error: {code, message}}`.
pub fn answer(ack: AckSender, state: &AppState, reply: Reply) {
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

/// The socket's state, put there by admission.
pub fn conn_of(socket: &SocketRef) -> Result<Arc<Conn>, EventError> {
    socket
        .extensions
        .get::<Arc<Conn>>()
        .ok_or(EventError::NoSession)
}

/// Revoked and rate checks and payload decoding shared by all events.
pub fn prepare<T: for<'de> Deserialize<'de>>(
    socket: &SocketRef,
    data: Payload,
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

pub fn parse_room(raw: &str) -> Result<RoomName, EventError> {
    RoomName::parse(raw).map_err(|error| EventError::InvalidRoom(error.to_string()))
}

/// Milliseconds since the Unix epoch (message and hangout timestamps).
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}
