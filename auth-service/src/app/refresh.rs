//! Refresh-token rotation, and the live caller by refresh token.
//!
//! The order matters: the outer tag is checked first (a forged token never
//! reaches session-store), then the per-session secret (cached), then
//! session-store rotates under a row lock and says which token to hand out
//! ([`RotationOutcome`]). A superseded generation within the reuse interval
//! gets the current token (a second tab); after it, session-store revokes
//! the session and this reports the reuse ([`revocation::reuse_detected`]).

use crate::app::caller::{self, Caller, SessionEnded};
use crate::app::revocation;
use crate::domain::SessionId;
use crate::keys::refresh::{PresentedRefreshToken, RefreshToken, RefreshTokenError};
use crate::metrics;
use crate::ports::{RotationOutcome, RotationRequest, SessionView, StoreCallError};
use crate::secret_cache::CachedSecret;
use crate::state::{AppState, IssuedAccessToken};

/// Why a refresh token was refused, or the refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Refused before any session-store call (malformed, bad tag, retired key).
    #[error("invalid refresh token: {0}")]
    Token(RefreshTokenError),
    /// Derived with a key this replica does not hold (yet): not a dead token.
    #[error("the refresh token's key is not held by this replica yet")]
    KeyUnknown,
    /// Well-formed, but not a token of this session (unknown session, wrong
    /// secret, a generation that never existed).
    #[error("the refresh token was rejected")]
    Rejected,
    /// A superseded token after the reuse interval: the session is revoked.
    #[error("refresh token reuse detected")]
    Reuse,
    #[error(transparent)]
    Ended(#[from] SessionEnded),
    #[error(transparent)]
    Store(StoreCallError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl RefreshError {
    fn token(error: RefreshTokenError) -> Self {
        match error {
            RefreshTokenError::UnknownKey => Self::KeyUnknown,
            other => Self::Token(other),
        }
    }

    /// A session-store failure where "not found" means the token is no good.
    fn store(error: StoreCallError) -> Self {
        match error {
            StoreCallError::NotFound => Self::Rejected,
            other => Self::Store(other),
        }
    }
}

/// What a refresh presents. `Debug` prints neither token.
pub struct RefreshInput {
    pub refresh_token: String,
    /// The caller's previous access token of this session, if it sent one:
    /// its display name (signature checked, expiry not) carries over.
    pub previous_access_token: Option<String>,
}

impl std::fmt::Debug for RefreshInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshInput")
            .field(
                "previous_access_token",
                &self.previous_access_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// A successful refresh: the token to hand out (rotated, or the current one
/// again for a concurrent tab) and a new access token.
#[derive(Debug)]
pub struct Refreshed {
    pub session: SessionView,
    pub refresh_token: RefreshToken,
    pub access: IssuedAccessToken,
}

/// Rotates the refresh token and issues a new access token.
pub async fn refresh(state: &AppState, input: &RefreshInput) -> Result<Refreshed, RefreshError> {
    let presented = state
        .refresh_keys
        .open(&input.refresh_token)
        .map_err(|error| {
            let error = RefreshError::token(error);
            metrics::refresh_outcome(if matches!(error, RefreshError::KeyUnknown) {
                "key_unknown"
            } else {
                "forged"
            });
            error
        })?;
    let session_id = presented.session.clone();
    let cached = refresh_secret(state, &session_id)
        .await
        .inspect_err(|error| {
            if matches!(error, RefreshError::Store(StoreCallError::Unavailable(_))) {
                metrics::refresh_outcome("unavailable");
            }
        })?;
    if !state
        .refresh_keys
        .matches_secret(&presented, &cached.secret)
    {
        metrics::refresh_outcome("mismatch");
        return Err(RefreshError::Rejected);
    }
    let next_generation = presented
        .generation
        .next()
        .ok_or_else(|| anyhow::anyhow!("refresh generation overflow"))?;
    let next = state
        .refresh_keys
        .derive_current(&session_id, next_generation, &cached.secret);
    let outcome = state
        .store
        .rotate(rotation(state, &presented, next.hash()))
        .await
        .map_err(|error| {
            let error = RefreshError::store(error);
            if matches!(error, RefreshError::Store(StoreCallError::Unavailable(_))) {
                metrics::refresh_outcome("unavailable");
            }
            error
        })?;
    let (session, generation, key_id, rotated) = match outcome {
        RotationOutcome::Current {
            session,
            generation,
            key_id,
            rotated,
        } => (session, generation, key_id, rotated),
        refused => {
            let error = refusal(state, &presented, refused, &cached.user);
            let outcome = match &error {
                RefreshError::Ended(SessionEnded::Revoked) => Some("revoked"),
                RefreshError::Ended(SessionEnded::Expired) => Some("expired"),
                // Counted by `revocation::reuse_detected`.
                RefreshError::Reuse => None,
                _ => Some("mismatch"),
            };
            if let Some(outcome) = outcome {
                metrics::refresh_outcome(outcome);
            }
            return Err(error);
        }
    };
    let token = if rotated
        && generation == next_generation
        && key_id == state.refresh_keys.current_key_id().as_str()
    {
        next
    } else {
        // Another replica rotated under a key this one may not hold yet.
        state
            .refresh_keys
            .derive(&key_id, &session_id, generation, &cached.secret)
            .ok_or_else(|| RefreshError::token(state.refresh_keys.missing_key(&key_id)))?
    };
    if rotated {
        metrics::refresh_outcome("rotated");
        state.events.publish(
            nexus_common::events::SessionEventKind::Refreshed,
            &session_id,
            &session.user_id,
            None,
        );
    } else {
        metrics::refresh_outcome("current_returned");
    }

    let name = previous_name(state, input.previous_access_token.as_deref(), &session_id).await;
    let access = state.issue_access_token(&session.user_id, &session_id, name)?;
    tracing::info!(user_id = %session.user_id, session_id = %session_id, generation = %generation, "Refresh token issued");
    Ok(Refreshed {
        session,
        refresh_token: token,
        access,
    })
}

/// The caller by a refresh token of the current generation (logout after the
/// access token expired). An older generation is decided exactly as a
/// refresh decides it: within the reuse interval it is a second tab and
/// passes; after it, it is reuse and the session is revoked.
pub async fn live_caller(state: &AppState, raw: &str) -> Result<Caller, RefreshError> {
    let presented = state.refresh_keys.open(raw).map_err(RefreshError::token)?;
    let session_id = presented.session.clone();
    let current = state
        .store
        .refresh_state(&session_id)
        .await
        .map_err(RefreshError::store)?;
    if !state
        .refresh_keys
        .matches_secret(&presented, &current.secret)
    {
        return Err(RefreshError::Rejected);
    }
    let user = current.session.user_id.clone();
    if let Some(ended) = caller::ended(&current.session) {
        state.secrets.forget(&session_id);
        return Err(ended.into());
    }
    let live = Caller {
        user: user.clone(),
        session: session_id.clone(),
    };
    if presented.generation == current.generation {
        return if presented.key_id.as_str() == current.key_id {
            Ok(live)
        } else {
            Err(RefreshError::Rejected)
        };
    }
    if presented.generation > current.generation {
        return Err(RefreshError::Rejected);
    }
    // An older generation: let session-store decide exactly as for a refresh
    // (it never rotates a non-current generation; the next hash is required
    // by the call but unused).
    let next_generation = current
        .generation
        .next()
        .ok_or_else(|| anyhow::anyhow!("refresh generation overflow"))?;
    let unused_next =
        state
            .refresh_keys
            .derive_current(&session_id, next_generation, &current.secret);
    let outcome = state
        .store
        .rotate(rotation(state, &presented, unused_next.hash()))
        .await
        .map_err(RefreshError::store)?;
    match outcome {
        // Superseded a moment ago: a second tab, as a refresh would treat it.
        RotationOutcome::Current { .. } => Ok(live),
        refused => Err(refusal(state, &presented, refused, &user)),
    }
}

/// The rotation of a presented token, replaced by `next_hash` if current.
fn rotation<'a>(
    state: &'a AppState,
    presented: &'a PresentedRefreshToken,
    next_hash: crate::domain::TokenHash,
) -> RotationRequest<'a> {
    RotationRequest {
        session: &presented.session,
        generation: presented.generation,
        presented_hash: &presented.hash,
        next_hash,
        next_key_id: state.refresh_keys.current_key_id().as_str(),
        reuse_interval: state.reuse_interval,
    }
}

/// What a refused rotation means, with what follows from it: a reuse is
/// reported, an ended session's secret forgotten. `user` names the session's
/// user when session-store does not send the session back.
fn refusal(
    state: &AppState,
    presented: &PresentedRefreshToken,
    outcome: RotationOutcome,
    user: &crate::domain::UserId,
) -> RefreshError {
    let session = &presented.session;
    match outcome {
        RotationOutcome::ReuseDetected(revoked) => {
            let user = revoked.map_or_else(|| user.clone(), |revoked| revoked.user_id);
            revocation::reuse_detected(state, session, &user, presented.generation);
            RefreshError::Reuse
        }
        RotationOutcome::Revoked => {
            state.secrets.forget(session);
            SessionEnded::Revoked.into()
        }
        RotationOutcome::Expired => {
            state.secrets.forget(session);
            SessionEnded::Expired.into()
        }
        RotationOutcome::Mismatch | RotationOutcome::Current { .. } => RefreshError::Rejected,
    }
}

/// A session's refresh secret, from the cache or session-store.
async fn refresh_secret(
    state: &AppState,
    session: &SessionId,
) -> Result<CachedSecret, RefreshError> {
    if let Some(cached) = state.secrets.get(session) {
        return Ok(cached);
    }
    let refresh_state = state
        .store
        .refresh_state(session)
        .await
        .map_err(RefreshError::store)?;
    let cached = CachedSecret {
        secret: refresh_state.secret,
        user: refresh_state.session.user_id,
    };
    state.secrets.insert(session.clone(), cached.clone());
    Ok(cached)
}

/// The display name from the caller's previous access token of this session
/// (read through the `tokens` crate: signature, issuer and audience checked,
/// expiry not, as it usually has just expired). Never used to authenticate.
async fn previous_name(
    state: &AppState,
    token: Option<&str>,
    session: &SessionId,
) -> Option<String> {
    let claims = state
        .access_verifier
        .read_ignoring_expiry(token?)
        .await
        .ok()?;
    (claims.sid == session.as_str())
        .then_some(claims.name)
        .flatten()
}
