//! Session and group events, applied: an ended session's sockets are
//! kicked (`kick`), a removed member is evicted from the group room
//! (`groups::consumer`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use socketioxide::SocketIo;

use crate::broker::revocation::SessionEvents;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::room::RoomName;
use crate::state::AppState;

/// The instance as the session-event consumer sees it.
pub struct SessionEventDispatch {
    pub state: Arc<AppState>,
    pub io: SocketIo,
}

impl SessionEvents for SessionEventDispatch {
    fn linked(&self, up: bool) {
        self.state.session_events_up.store(up, Ordering::Relaxed);
    }

    fn session_ended(&self, session: SessionId, reason: String) {
        crate::kick::kick(&self.state, &self.io, &session, &reason);
    }

    async fn member_removed(&self, room: RoomName, user: UserId) {
        crate::groups::consumer::member_removed(&self.state, &self.io, &room, &user).await;
    }
}
