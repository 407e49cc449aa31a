//! Who is acting: a verified caller whose session is live *now*.
//!
//! A signature only proves a credential was issued, not that it still counts:
//! an access token outlives a logout by up to its TTL, and a refresh token of
//! an earlier generation is exactly what a thief replays. So every call that
//! acts for a user (list or revoke sessions, log out, and whatever joins them)
//! gets its caller from here:
//!
//! - [`LiveCaller`] (an actix extractor): the access token from
//!   `Authorization: Bearer` or the access cookie, signature checked, then the
//!   session confirmed active by session-store. On a write it also applies the
//!   Origin rule for cookie credentials *before* authenticating. A new route
//!   only needs a `caller: LiveCaller` argument.
//! - [`live_by_refresh_token`]: for logout after the access token expired. The
//!   token must be of the current generation; an older one is treated exactly
//!   as rotation treats it (within the reuse interval: a second tab; after it:
//!   reuse, the session is revoked and `session.reuse_detected` emitted).

use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
use nexus_common::events::SessionEventKind;
use nexus_domain::RevokeReason;

use crate::domain::{SessionId, UserId};
use crate::http::auth::{self, Caller};
use crate::http::error::ApiError;
use crate::http::origin::{Credential, is_write};
use crate::metrics;
use crate::state::AppState;
use crate::store::{Rotated, RotationRequest, SessionStatus, SessionView, StoreCallError};

/// A caller whose credential verified and whose session is active.
#[derive(Debug, Clone)]
pub struct LiveCaller {
    pub user: UserId,
    pub session: SessionId,
    pub credential: Credential,
}

impl FromRequest for LiveCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let state = request
                .app_data::<Data<AppState>>()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("AppState is not registered"))?;
            live_by_access_token(&request, &state).await
        })
    }
}

/// The caller by access token, with its session confirmed live.
pub async fn live_by_access_token(
    request: &HttpRequest,
    state: &AppState,
) -> Result<LiveCaller, ApiError> {
    let (token, credential) = auth::presented_access_token(request)
        .ok_or(ApiError::NotAuthenticated("no access token was presented"))?;
    if is_write(request.method()) {
        state.origins.check(request, credential)?;
    }
    let caller = auth::verify_access_token(state, &token, credential).await?;
    ensure_live(state, caller).await
}

/// Confirms with session-store that a verified caller's session is active.
pub async fn ensure_live(state: &AppState, caller: Caller) -> Result<LiveCaller, ApiError> {
    let session = state
        .store
        .validate(&caller.session)
        .await
        .map_err(|error| match error {
            StoreCallError::NotFound => ApiError::SessionRevoked,
            other => other.into(),
        })?;
    if session.user_id != caller.user {
        return Err(ApiError::SessionRevoked);
    }
    if let Some(ended) = ended(&session) {
        return Err(ended);
    }
    Ok(LiveCaller {
        user: caller.user,
        session: caller.session,
        credential: caller.credential,
    })
}

/// Why a session can no longer act, or `None` while it is active.
pub fn ended(session: &SessionView) -> Option<ApiError> {
    match session.status {
        SessionStatus::Active => None,
        // session-store marks a session it found expired as revoked ("expired").
        SessionStatus::Revoked
            if session.revoked_reason.as_deref() == Some(RevokeReason::Expired.as_str()) =>
        {
            Some(ApiError::SessionExpired)
        }
        SessionStatus::Revoked => Some(ApiError::SessionRevoked),
        SessionStatus::Expired => Some(ApiError::SessionExpired),
    }
}

/// The caller by a refresh token of the current generation (see the module
/// docs for older generations).
pub async fn live_by_refresh_token(
    state: &AppState,
    raw: &str,
    credential: Credential,
) -> Result<LiveCaller, ApiError> {
    let presented = state
        .refresh_keys
        .open(raw)
        .map_err(ApiError::refresh_token)?;
    let session_id = presented.session.clone();
    let current = state
        .store
        .refresh_state(&session_id)
        .await
        .map_err(ApiError::from_store_auth)?;
    if !state
        .refresh_keys
        .matches_secret(&presented, &current.secret)
    {
        return Err(ApiError::RefreshTokenRejected);
    }
    let user = current.session.user_id.clone();
    if let Some(ended) = ended(&current.session) {
        state.secrets.forget(&session_id);
        return Err(ended);
    }
    let live = LiveCaller {
        user: user.clone(),
        session: session_id.clone(),
        credential,
    };
    if presented.generation == current.generation {
        return if presented.key_id.as_str() == current.key_id {
            Ok(live)
        } else {
            Err(ApiError::RefreshTokenRejected)
        };
    }
    if presented.generation > current.generation {
        return Err(ApiError::RefreshTokenRejected);
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
        .rotate(RotationRequest {
            session: &session_id,
            generation: presented.generation,
            presented_hash: &presented.hash,
            next_hash: unused_next.hash(),
            next_key_id: state.refresh_keys.current_key_id().as_str(),
            reuse_interval: state.reuse_interval,
        })
        .await
        .map_err(ApiError::from_store_auth)?;
    match outcome {
        // Superseded a moment ago: a second tab, as a refresh would treat it.
        Rotated::Current { .. } => Ok(live),
        Rotated::ReuseDetected(session) => {
            let user = session.map_or(user, |session| session.user_id);
            report_reuse(state, &session_id, &user, presented.generation);
            Err(ApiError::RefreshReuse)
        }
        Rotated::Revoked => {
            state.secrets.forget(&session_id);
            Err(ApiError::SessionRevoked)
        }
        Rotated::Expired => {
            state.secrets.forget(&session_id);
            Err(ApiError::SessionExpired)
        }
        Rotated::Mismatch => Err(ApiError::RefreshTokenRejected),
    }
}

/// What follows a detected reuse (session-store already revoked the session):
/// log, count, announce, forget the secret.
pub fn report_reuse(
    state: &AppState,
    session: &SessionId,
    user: &UserId,
    generation: crate::domain::Generation,
) {
    metrics::refresh_outcome("reuse_detected");
    tracing::warn!(user_id = %user, session_id = %session, %generation, "refresh token reuse detected: session revoked");
    state.events.publish(
        SessionEventKind::ReuseDetected,
        session,
        user,
        Some(RevokeReason::RefreshTokenReuse.as_str()),
    );
    state.secrets.forget(session);
}
