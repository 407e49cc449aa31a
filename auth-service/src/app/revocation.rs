//! The one place where a session's end is made known.
//!
//! Whenever a session ends on our request (logout, a user revoking a
//! session, a bridge replacing a session with a retired key) or session-store
//! ends it on its own (evicted for the per-user cap, revoked for refresh-token
//! reuse), the same two things follow: its cached refresh secret is
//! forgotten, so no later refresh can use it, and one event announces it, so
//! every realtime instance drops its sockets. Doing both here, and only here,
//! keeps them from drifting apart.

use nexus_common::events::SessionEventKind;

use crate::domain::{Generation, SessionId, UserId};
use crate::metrics;
use nexus_domain::RevokeReason;

use crate::ports::{SessionView, StoreCallError};
use crate::state::AppState;

/// A session has ended: forget its refresh secret, announce it.
pub fn announce(
    state: &AppState,
    kind: SessionEventKind,
    session: &SessionId,
    user: &UserId,
    reason: RevokeReason,
) {
    state.secrets.forget(session);
    state
        .events
        .publish(kind, session, user, Some(reason.as_str()));
}

/// Sessions session-store has revoked: one `session.revoked` each.
pub fn announce_revoked(state: &AppState, sessions: &[SessionView], reason: RevokeReason) {
    for session in sessions {
        announce(
            state,
            SessionEventKind::Revoked,
            &session.id,
            &session.user_id,
            reason,
        );
    }
}

/// Revokes one session of `user` and, when this call revoked it, announces
/// it. `NotFound` for an unknown session or another user's.
pub async fn revoke(
    state: &AppState,
    session: &SessionId,
    user: &UserId,
    reason: RevokeReason,
) -> Result<(bool, SessionView), StoreCallError> {
    let (revoked, session) = state.store.revoke(session, user, reason).await?;
    if revoked {
        announce_revoked(state, std::slice::from_ref(&session), reason);
    }
    Ok((revoked, session))
}

/// Revokes every live session of `user` but `keep` and announces each.
pub async fn revoke_all(
    state: &AppState,
    user: &UserId,
    keep: Option<&SessionId>,
    reason: RevokeReason,
) -> Result<Vec<SessionView>, StoreCallError> {
    let revoked = state.store.revoke_all(user, keep, reason).await?;
    announce_revoked(state, &revoked, reason);
    Ok(revoked)
}

/// A superseded refresh token came back after the reuse interval, and
/// session-store has revoked its session: log, count, announce
/// `session.reuse_detected`.
pub fn reuse_detected(
    state: &AppState,
    session: &SessionId,
    user: &UserId,
    generation: Generation,
) {
    metrics::refresh_outcome("reuse_detected");
    tracing::warn!(user_id = %user, session_id = %session, %generation, "refresh token reuse detected: session revoked");
    announce(
        state,
        SessionEventKind::ReuseDetected,
        session,
        user,
        RevokeReason::RefreshTokenReuse,
    );
}
