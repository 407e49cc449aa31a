//! A member stays in a group room until their grant's `exp`: each admitted
//! join (re)arms a timer for its (socket, room); a join with a fresh grant
//! moves the expiry, and a timer that finds another expiry in force does
//! nothing. At `exp` the socket gets `room:left {room, reason:
//! "grant_expired"}`; the client fetches a new grant and joins again.
//!
//! It also closes the race between admission and a removal event: a join
//! admitted before a removal this instance processed, but finished after
//! it (so the consumer could not see the socket in the room), is undone here.

use std::sync::Arc;
use std::time::Duration;

use socketioxide::extract::SocketRef;

use super::admit::Admitted;
use super::evict;
use crate::domain::room::RoomName;
use crate::state::AppState;

/// Called once the socket is in `room` after an admitted `room:join`.
pub async fn joined(
    state: &Arc<AppState>,
    socket: &SocketRef,
    room: &RoomName,
    admitted: Admitted,
) {
    let Some(conn) = socket.extensions.get::<Arc<crate::conn::Conn>>() else {
        return;
    };
    let key = (
        room.as_str().to_owned(),
        conn.identity.user.as_str().to_owned(),
    );
    if state
        .groups
        .removed
        .get(&key)
        .is_some_and(|removed_at| removed_at >= admitted.at)
    {
        evict::socket_from_room(socket, state, room, evict::REMOVED).await;
        return;
    }
    arm(state, socket, room, admitted.exp);
}

fn arm(state: &Arc<AppState>, socket: &SocketRef, room: &RoomName, exp: i64) {
    let key = (socket.id, room.clone());
    state.groups.expiries().insert(key.clone(), exp);
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(until(exp)).await;
        let current = {
            let mut expiries = state.groups.expiries();
            match expiries.get(&key) {
                Some(&in_force) if in_force == exp => expiries.remove(&key),
                _ => None,
            }
        };
        if current.is_none() {
            return; // extended by a fresh grant (or already handled)
        }
        let Some(io) = state.groups.io() else {
            return;
        };
        if let Some(socket) = io.get_socket(key.0) {
            evict::socket_from_room(&socket, &state, &key.1, evict::GRANT_EXPIRED).await;
        }
    });
}

/// Time from now until the Unix second `exp` (zero when past).
fn until(exp: i64) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let exp = Duration::from_secs(u64::try_from(exp).unwrap_or(0));
    exp.saturating_sub(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_delays_count_from_now_and_never_go_negative() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert_eq!(until(now - 10), Duration::ZERO);
        assert_eq!(until(-1), Duration::ZERO);
        let ahead = until(now + 60);
        assert!(ahead > Duration::from_secs(58) && ahead <= Duration::from_secs(60));
    }
}
