//! Any other event: an error ack (`unknown_event`), the socket stays. Still
//! refused as revoked or rate limited first, like every event.

use std::sync::Arc;

use socketioxide::extract::{AckSender, Event, SocketRef, State};

use crate::events::reply::{EventError, Reply, answer, conn_of};
use crate::state::AppState;

pub async fn handle(
    socket: SocketRef,
    State(state): State<Arc<AppState>>,
    Event(event): Event,
    ack: AckSender,
) {
    let reply = run(&socket, &event);
    answer(ack, &state, reply);
}

fn run(socket: &SocketRef, event: &str) -> Reply {
    let conn = conn_of(socket)?;
    if conn.is_revoked() {
        Err(EventError::Revoked)
    } else if conn.rate.allow() {
        Err(EventError::UnknownEvent(event.chars().take(64).collect()))
    } else {
        Err(EventError::RateLimited)
    }
}
