//! Logout: end this session, every other session of the user, or all of
//! them; one `session.revoked` per revoked session
//! (`app::revocation`).
//!
//! Logout acts for a user, so it takes a live [`Caller`]: by access token, or,
//! when that has expired (logging out must not need a refresh first), by a
//! refresh token of the current generation (`refresh::live_caller`).

use nexus_domain::RevokeReason;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::caller::Caller;
use crate::app::revocation;
use crate::ports::StoreCallError;
use crate::state::AppState;

/// Which sessions to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Local,
    Others,
    Global,
}

/// A scope that is none of `local`, `others`, `global`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("scope must be local, others or global")]
pub struct InvalidScope;

impl Scope {
    /// `local` when absent.
    pub fn parse(raw: Option<&str>) -> Result<Self, InvalidScope> {
        match raw.unwrap_or("local") {
            "local" => Ok(Self::Local),
            "others" => Ok(Self::Others),
            "global" => Ok(Self::Global),
            _ => Err(InvalidScope),
        }
    }

    /// The revoke reason recorded and announced.
    pub fn reason(self) -> RevokeReason {
        match self {
            Self::Local => RevokeReason::Logout,
            Self::Others => RevokeReason::LogoutOthers,
            Self::Global => RevokeReason::LogoutGlobal,
        }
    }
}

/// Why a logout failed (the caller was live; session-store was not).
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    #[error(transparent)]
    Store(#[from] StoreCallError),
}

/// What a logout did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedOut {
    pub scope: Scope,
    pub revoked_sessions: usize,
}

/// Ends the sessions `scope` names, announcing each.
pub async fn logout(
    state: &AppState,
    caller: &Caller,
    scope: Scope,
) -> Result<LoggedOut, LogoutError> {
    let revoked = match scope {
        Scope::Local => {
            match revocation::revoke(state, &caller.session, &caller.user, scope.reason()).await {
                Ok((true, _)) => 1,
                Ok((false, _)) | Err(StoreCallError::NotFound) => 0,
                Err(error) => return Err(error.into()),
            }
        }
        Scope::Others => {
            revocation::revoke_all(state, &caller.user, Some(&caller.session), scope.reason())
                .await?
                .len()
        }
        Scope::Global => revocation::revoke_all(state, &caller.user, None, scope.reason())
            .await?
            .len(),
    };
    tracing::info!(user_id = %caller.user, session_id = %caller.session, ?scope, revoked, "Logged out");
    Ok(LoggedOut {
        scope,
        revoked_sessions: revoked,
    })
}
