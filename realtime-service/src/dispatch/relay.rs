//! Other instances' room traffic, applied here (the relay link itself is
//! `broker::relay`): messages re-sequenced and emitted to the local
//! sockets, presence merged and announced (`room:presence`), hangouts
//! remembered or looked up, `sync` requests answered with a snapshot and
//! the messages since. Also this instance's side of presence: snapshots of
//! its local members every few seconds, and expiry of remote members whose
//! instance went silent.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use socketioxide::SocketIo;
use tokio_util::sync::CancellationToken;

use crate::broker::relay::{Envelope, RelayBody, RelayInbound};
use crate::domain::room::RoomName;
use crate::domain::text::HangoutName;
use crate::rooms::hangouts::Hangout;
use crate::rooms::presence::Change;
use crate::state::AppState;

/// The instance as the relay link sees it.
pub struct RelayDispatch {
    pub state: Arc<AppState>,
    pub io: SocketIo,
}

impl RelayInbound for RelayDispatch {
    fn attached(&self) -> impl Future<Output = ()> + Send {
        rebind(&self.state)
    }

    async fn deliver(&self, envelope: Envelope) {
        self.state.metrics.relay_in();
        handle(&self.state, &self.io, envelope).await;
    }
}

/// After a (re)connect: binds the rooms with local members again and asks
/// the other instances for their snapshots.
async fn rebind(state: &AppState) {
    for room in state.presence.local_rooms() {
        // Under the room's lock, so a room emptied meanwhile stays unbound.
        let _guard = state.room_locks.lock(&room).await;
        if state.presence.has_local(&room) {
            state.relay.bind(&room).await;
            state.relay.publish(&room, RelayBody::Sync { since: None });
        }
    }
}

/// Re-emits another instance's traffic to the local sockets.
async fn handle(state: &Arc<AppState>, io: &SocketIo, envelope: Envelope) {
    let Envelope { origin, room, body } = envelope;
    state.presence.touch_peer(&room, &origin);
    match body {
        RelayBody::Message { message } => {
            if message.room != room || !state.relay.first_sight(&message.id) {
                return;
            }
            // Sequenced here, in this instance's order of the room.
            let mut sequencer = state.history.sequencer(&room).await;
            let Some(message) = sequencer.append(message) else {
                return;
            };
            let sent = io.to(room).emit("room:message", &message).await;
            drop(sequencer);
            state.metrics.broadcast(&sent);
        }
        RelayBody::Hangout { hangout } => {
            if hangout.room == room && is_genuine(state, &hangout) {
                state.hangouts.remember(hangout);
            }
        }
        RelayBody::HangoutLookup { reply_to } => {
            if let Some(hangout) = state.hangouts.get(&room) {
                state.relay.answer_hangout(&reply_to, (*hangout).clone());
            }
        }
        RelayBody::Presence { member, joined } => {
            if state.presence.remote_delta(&origin, &room, &member, joined) {
                let change = if joined {
                    Change::Joined(member)
                } else {
                    Change::Left(member)
                };
                announce(state, io, &room, vec![change]).await;
            }
        }
        RelayBody::Snapshot { members } => {
            let changes = state.presence.remote_snapshot(&origin, &room, members);
            announce(state, io, &room, changes).await;
        }
        RelayBody::Sync { since } => {
            // Answered under the room's lock (so the snapshot cannot
            // overtake a join or leave delta), off the consumer task.
            tokio::spawn(answer_sync(state.clone(), room, since));
        }
    }
}

/// A snapshot of the local members and, with `since`, the messages from
/// then on.
async fn answer_sync(state: Arc<AppState>, room: String, since: Option<i64>) {
    let _guard = state.room_locks.lock(&room).await;
    let members = state.presence.local_members(&room);
    if members.is_empty() {
        return;
    }
    state.relay.publish(&room, RelayBody::Snapshot { members });
    if let Some(since) = since {
        for message in state.history.recent(&room).await {
            if message.ts >= since {
                state.relay.publish(&room, RelayBody::Message { message });
            }
        }
    }
}

/// A hangout announcement is kept only if its id is one an instance minted
/// and its name is one `hangout:create` accepts.
fn is_genuine(state: &AppState, hangout: &Hangout) -> bool {
    RoomName::parse(&hangout.room).is_ok_and(|room| state.hangout_ids.is_authentic(&room))
        && HangoutName::parse(&hangout.name).is_ok_and(|name| name.as_str() == hangout.name)
}

/// Tells a room's local sockets about changes of the merged member list.
async fn announce(state: &AppState, io: &SocketIo, room: &str, changes: Vec<Change>) {
    if changes.is_empty() {
        return;
    }
    let members = state.presence.members(room);
    for change in changes {
        let payload = match change {
            Change::Joined(member) => {
                serde_json::json!({ "room": room, "joined": member, "members": members })
            }
            Change::Left(member) => {
                serde_json::json!({ "room": room, "left": member, "members": members })
            }
        };
        let sent = io.to(room.to_owned()).emit("room:presence", &payload).await;
        state.metrics.broadcast(&sent);
    }
}

/// Publishes this instance's presence snapshots and expires stale remote
/// presence (announcing who vanished), every `interval`, until cancelled.
pub async fn run_snapshots(
    state: Arc<AppState>,
    io: SocketIo,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => return,
        }
        for (room, changes) in state.presence.expire() {
            announce(&state, &io, &room, changes).await;
        }
        if !state.relay.is_connected() {
            continue;
        }
        for room in state.presence.local_rooms() {
            // Under the room's lock: a snapshot queued after a leave delta
            // must not show the member who left.
            let _guard = state.room_locks.lock(&room).await;
            let members = state.presence.local_members(&room);
            if !members.is_empty() {
                state.relay.publish(&room, RelayBody::Snapshot { members });
            }
        }
    }
}
