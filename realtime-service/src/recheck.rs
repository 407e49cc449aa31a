//! The periodic re-check: every `REALTIME_RECHECK_INTERVAL`, ask
//! session-store about every session with a socket here and drop those that
//! are no longer active. This is what makes revocation independent of the
//! events (a lost event, a consumer that was reconnecting, a session that
//! simply expired). Sessions go in batches of up to 1,000 per
//! `ValidateSessions` call (one query each on session-store's side), a few
//! batches at a time, so 19,000 sessions cost 19 calls instead of 19,000;
//! if session-store is down, sockets stay (we cannot tell, and logging
//! everyone out during an outage is worse). Each tick also re-checks group
//! memberships (`groups::recheck`).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use socketioxide::SocketIo;
use tokio_util::sync::CancellationToken;

use crate::domain::ids::SessionId;
use crate::state::AppState;
use crate::store::{SessionLookup, VALIDATE_BATCH_MAX};

/// Batches in flight at once per re-check round.
const CONCURRENCY: usize = 2;

/// Re-checks until cancelled.
pub async fn run(state: Arc<AppState>, io: SocketIo, interval: Duration, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => return,
        }
        round(&state, &io).await;
        crate::groups::recheck::round(&state, &io).await;
    }
}

/// What one pass found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Sessions that are no longer active, with their state.
    pub ended: Vec<(SessionId, SessionLookup)>,
    /// Sessions session-store did not answer for (their sockets stay).
    pub unavailable: usize,
}

/// Asks session-store about `sessions`, in batches.
pub async fn check(state: &AppState, sessions: Vec<SessionId>) -> Checked {
    let batches: Vec<Vec<SessionId>> = sessions
        .chunks(VALIDATE_BATCH_MAX)
        .map(<[SessionId]>::to_vec)
        .collect();
    let answers: Vec<_> = futures::stream::iter(batches)
        .map(|batch| async move {
            let states = state.store.sessions(&batch).await;
            (batch, states)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut checked = Checked::default();
    for (batch, states) in answers {
        match states {
            Ok(states) => checked.ended.extend(
                batch
                    .into_iter()
                    .zip(states)
                    .filter(|(_, state_now)| *state_now != SessionLookup::ACTIVE),
            ),
            Err(_) => checked.unavailable += batch.len(),
        }
    }
    checked
}

/// One pass over the connected sessions; returns how many sockets it kicked
/// (`kick` counts them in the metrics).
pub async fn round(state: &Arc<AppState>, io: &SocketIo) -> usize {
    let sessions = state.sessions.list();
    let count = sessions.len();
    let checked = check(state, sessions).await;
    let mut kicked = 0;
    for (session, state_now) in &checked.ended {
        kicked += crate::kick::kick(state, io, session, state_now.reason());
    }
    if checked.unavailable > 0 {
        tracing::warn!(
            checked = count,
            unavailable = checked.unavailable,
            "re-check: session-store did not answer for some sessions"
        );
    }
    kicked
}
