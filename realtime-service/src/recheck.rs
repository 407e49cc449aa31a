//! The periodic re-check: every `REALTIME_RECHECK_INTERVAL`, ask
//! session-store about every session with a socket here and drop those that
//! are no longer active. This is what makes revocation independent of the
//! events (a lost event, a consumer that was reconnecting, a session that
//! simply expired). Calls run with bounded concurrency so a big instance
//! does not flood session-store; if session-store is down, sockets stay
//! (we cannot tell, and logging everyone out during an outage is worse).
//! Each tick also re-checks group memberships (`groups::recheck`).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use socketioxide::SocketIo;
use tokio_util::sync::CancellationToken;

use crate::auth::authenticator::SessionState;
use crate::state::AppState;

/// Parallel session-store calls per re-check round.
const CONCURRENCY: usize = 8;

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
        crate::groups::recheck_round(&state, &io).await;
    }
}

/// One pass over the connected sessions; returns how many sockets it kicked.
pub async fn round(state: &Arc<AppState>, io: &SocketIo) -> usize {
    let sessions = state.sessions.list();
    let checked = sessions.len();
    let results: Vec<_> = futures::stream::iter(sessions)
        .map(|session| async move {
            let result = state.authenticator.session_state(&session).await;
            (session, result)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut kicked = 0;
    let mut unavailable = 0;
    for (session, result) in results {
        match result {
            Ok((SessionState::Active, _)) => {}
            Ok((state_now, _)) => kicked += crate::sessions::kick(io, &session, state_now.reason()),
            Err(_) => unavailable += 1,
        }
    }
    state.metrics.kicked(kicked as u64);
    if unavailable > 0 {
        tracing::warn!(
            checked,
            unavailable,
            "re-check: session-store did not answer for some sessions"
        );
    }
    kicked
}
