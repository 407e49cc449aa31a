//! The group half of the periodic re-check: every local socket in a group
//! room is checked against session-store's memberships, in batches of up to
//! `store::MEMBERSHIP_BATCH` distinct (group, user) pairs per call, never
//! one call per socket. Non-members are evicted (`reason: "removed"`); if
//! session-store does not answer, nobody is evicted (as for sessions).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use socketioxide::SocketIo;

use super::evict;
use crate::conn::Conn;
use crate::domain::room::{RoomKind, RoomName};
use crate::state::AppState;

/// One pass; returns how many sockets it evicted.
pub async fn round(state: &Arc<AppState>, io: &SocketIo) -> usize {
    // (group id, user id) -> the sockets and rooms it keeps open here.
    let mut held: HashMap<(String, String), Vec<(socketioxide::extract::SocketRef, RoomName)>> =
        HashMap::new();
    for socket in io.sockets() {
        let Some(conn) = socket.extensions.get::<Arc<Conn>>() else {
            continue;
        };
        let rooms: Vec<RoomName> = conn
            .rooms()
            .rooms
            .iter()
            .filter(|room| room.kind() == RoomKind::Group)
            .cloned()
            .collect();
        for room in rooms {
            let key = (
                super::group_id(&room).to_owned(),
                conn.identity.user.as_str().to_owned(),
            );
            held.entry(key).or_default().push((socket.clone(), room));
        }
    }
    if held.is_empty() {
        return 0;
    }
    let pairs: Vec<(String, String)> = held.keys().cloned().collect();
    let Some(answers) = state.store.memberships(&pairs).await else {
        tracing::warn!(
            pairs = pairs.len(),
            "re-check: group memberships unknown, nobody evicted"
        );
        return 0;
    };
    let gone: HashSet<&(String, String)> = pairs
        .iter()
        .zip(answers)
        .filter_map(|(pair, member)| (!member).then_some(pair))
        .collect();
    let mut evicted = 0;
    for pair in gone {
        for (socket, room) in held.get(pair).into_iter().flatten() {
            if evict::socket_from_room(socket, state, room, evict::REMOVED).await {
                evicted += 1;
            }
        }
    }
    if evicted > 0 {
        tracing::info!(evicted, "re-check: evicted sockets of former group members");
    }
    evicted
}
