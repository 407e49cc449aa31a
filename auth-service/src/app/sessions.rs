//! A user's own sessions: list them, revoke one. Someone else's session id is
//! [`SessionsError::NotFound`], exactly like an unknown one, so ids cannot be
//! probed.

use crate::app::caller::Caller;
use crate::app::revocation;
use crate::domain::SessionId;
use crate::ports::{SessionView, StoreCallError};
use crate::state::AppState;
use nexus_domain::RevokeReason;

/// Why a session call failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionsError {
    /// No such session of the caller (another user's too).
    #[error("session not found")]
    NotFound,
    #[error(transparent)]
    Store(StoreCallError),
}

impl From<StoreCallError> for SessionsError {
    fn from(error: StoreCallError) -> Self {
        match error {
            StoreCallError::NotFound => Self::NotFound,
            other => Self::Store(other),
        }
    }
}

/// The caller's live sessions.
pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<SessionView>, SessionsError> {
    Ok(state.store.list(&caller.user).await?)
}

/// What revoking one session did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedSession {
    pub session: SessionId,
    /// False when it already was revoked.
    pub revoked: bool,
    /// Whether it was the caller's own current session.
    pub current: bool,
}

/// Revokes one of the caller's own sessions.
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    target: &SessionId,
) -> Result<RevokedSession, SessionsError> {
    let (revoked, _) =
        revocation::revoke(state, target, &caller.user, RevokeReason::RevokedByUser).await?;
    tracing::info!(user_id = %caller.user, session_id = %target, revoked, "Session revoked by its user");
    Ok(RevokedSession {
        session: target.clone(),
        revoked,
        current: *target == caller.session,
    })
}
