//! Who is acting: a verified caller whose session is live *now*.
//!
//! A signature only proves a credential was issued, not that it still counts:
//! an access token outlives a logout by up to its TTL, and a refresh token of
//! an earlier generation is exactly what a thief replays. So every use case
//! that acts for a user (list or revoke sessions, log out, groups) takes a
//! [`Caller`], which only comes from here or from
//! `app::refresh::live_caller`:
//!
//! - [`by_access_token`]: the access token's signature and claims checked
//!   (the `tokens` crate's one decoding path), then the session confirmed
//!   active by session-store;
//! - `refresh::live_caller`: for logout after the access token expired, a
//!   refresh token of the current generation (an older one is decided exactly
//!   as rotation decides it).
//!
//! Which credential a request presents, and the Origin rule that goes with
//! it, is the HTTP layer's part (`http::caller`).

use nexus_domain::RevokeReason;
use nexus_tokens::TokenError;
use nexus_tokens::access::AccessClaims;

use crate::domain::{SessionId, UserId};
use crate::ports::{SessionStatus, SessionView, StoreCallError};
use crate::state::AppState;

/// A caller whose credential verified and whose session was active when
/// checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    pub session: SessionId,
}

/// A caller whose access token verified; its session is not checked yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub user: UserId,
    pub session: SessionId,
}

/// Why a session can no longer act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionEnded {
    #[error("the session has been revoked")]
    Revoked,
    #[error("the session has expired")]
    Expired,
}

/// Why an access token does not make a live caller.
#[derive(Debug, thiserror::Error)]
pub enum CallerError {
    #[error("invalid access token: {0}")]
    AccessToken(TokenError),
    #[error(transparent)]
    Ended(#[from] SessionEnded),
    #[error(transparent)]
    Store(StoreCallError),
}

/// Verifies an access token's signature and claims.
pub async fn verify_access_token(state: &AppState, token: &str) -> Result<Verified, CallerError> {
    let claims = state
        .access_verifier
        .verify(token)
        .await
        .map_err(CallerError::AccessToken)?;
    verified(&claims)
}

fn verified(claims: &AccessClaims) -> Result<Verified, CallerError> {
    let bad = |_| CallerError::AccessToken(TokenError::BadClaims("sub or sid".to_owned()));
    Ok(Verified {
        user: UserId::parse(&claims.sub).map_err(bad)?,
        session: SessionId::parse(&claims.sid).map_err(bad)?,
    })
}

/// Confirms with session-store that a verified caller's session is active.
pub async fn ensure_live(state: &AppState, verified: Verified) -> Result<Caller, CallerError> {
    let session = state
        .store
        .validate(&verified.session)
        .await
        .map_err(|error| match error {
            StoreCallError::NotFound => CallerError::Ended(SessionEnded::Revoked),
            other => CallerError::Store(other),
        })?;
    if session.user_id != verified.user {
        return Err(SessionEnded::Revoked.into());
    }
    if let Some(ended) = ended(&session) {
        return Err(ended.into());
    }
    Ok(Caller {
        user: verified.user,
        session: verified.session,
    })
}

/// The caller by access token, with its session confirmed live.
pub async fn by_access_token(state: &AppState, token: &str) -> Result<Caller, CallerError> {
    let verified = verify_access_token(state, token).await?;
    ensure_live(state, verified).await
}

/// Why a session can no longer act, or `None` while it is active.
pub fn ended(session: &SessionView) -> Option<SessionEnded> {
    match session.status {
        SessionStatus::Active => None,
        // session-store marks a session it found expired as revoked ("expired").
        SessionStatus::Revoked
            if session.revoked_reason.as_deref() == Some(RevokeReason::Expired.as_str()) =>
        {
            Some(SessionEnded::Expired)
        }
        SessionStatus::Revoked => Some(SessionEnded::Revoked),
        SessionStatus::Expired => Some(SessionEnded::Expired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(status: SessionStatus, revoked_reason: Option<&str>) -> SessionView {
        SessionView {
            id: SessionId::parse("session-1").expect("id"),
            user_id: UserId::parse("user-1").expect("id"),
            user_agent: None,
            ip_address: None,
            created_at: None,
            last_seen_at: None,
            revoked_at: None,
            revoked_reason: revoked_reason.map(str::to_owned),
            status,
            expires_at: None,
        }
    }

    #[test]
    fn only_an_active_session_can_act() {
        let cases = [
            (SessionStatus::Active, None, None),
            (
                SessionStatus::Revoked,
                Some("logout"),
                Some(SessionEnded::Revoked),
            ),
            (SessionStatus::Revoked, None, Some(SessionEnded::Revoked)),
            // session-store records an expiry it noticed as a revocation.
            (
                SessionStatus::Revoked,
                Some("expired"),
                Some(SessionEnded::Expired),
            ),
            (SessionStatus::Expired, None, Some(SessionEnded::Expired)),
        ];
        for (status, reason, expected) in cases {
            assert_eq!(
                ended(&session(status, reason)),
                expected,
                "{status:?} {reason:?}"
            );
        }
    }
}
