//! `room:join {room, grant?, since?}` -> `{ok, room, epoch, seq, members,
//! history, recovered?, hangout?}`.
//!
//! A group room needs its grant and a current membership (`groups::admit`);
//! a hangout must be one some instance created. The join itself, the
//! history snapshot and the presence change happen under the room's lock,
//! so announcements keep the order of the changes and the relay is bound
//! exactly while the room has local members.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, SocketRef, State, TryData};

use crate::broker::relay::{CATCH_UP_SLACK_MS, RelayBody};
use crate::domain::room::{RoomKind, RoomName};
use crate::events::reply::{EventError, Payload, Reply, answer, now_millis, parse_room, prepare};
use crate::membership::{PresenceChange, announce_presence, relay_publish};
use crate::rooms::hangouts::Hangout;
use crate::rooms::history::{MAX_EPOCH_LEN, Since};
use crate::state::AppState;

/// How long a join waits for other instances to tell about a hangout this
/// instance does not know (see `rooms::hangouts`).
const HANGOUT_LOOKUP_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Deserialize)]
struct JoinRequest {
    room: String,
    #[serde(default)]
    grant: Option<String>,
    /// `{epoch, seq}`: checked by hand ([`parse_since`]) for a clear error.
    #[serde(default)]
    since: Option<Value>,
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
    let (conn, request): (_, JoinRequest) = prepare(socket, data)?;
    let room = parse_room(&request.room)?;
    let since = parse_since(request.since.as_ref())?;
    let admitted = if room.kind() == RoomKind::Group {
        let grant = request.grant.as_deref();
        Some(
            crate::groups::admit::admit(state, &conn, &room, grant)
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
    drop(state.faults.join_locked.pass().await);
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
        let member = conn.member(&room, &state.alias_key);
        let joined = state.presence.join_local(room.as_str(), &member);
        if joined.room_is_new {
            state.metrics.rooms_changed(1);
            state.vacancies.filled(room.as_str());
            let since = now_millis() - CATCH_UP_SLACK_MS;
            state.relay.bind(room.as_str()).await;
            relay_publish(state, &room, RelayBody::Sync { since: Some(since) });
        }
        if joined.member_is_new {
            announce_presence(socket, state, &room, member.clone(), PresenceChange::Joined).await;
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
        crate::groups::expiry::joined(state, socket, &room, admitted).await;
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
