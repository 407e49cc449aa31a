//! `GET /api/auth/sessions` and `DELETE /api/auth/sessions/{id}`: a user's
//! own sessions. Someone else's session id answers 404, exactly like an
//! unknown one, so ids cannot be probed.

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use nexus_common::events::SessionEventKind;
use serde::Serialize;

use crate::domain::SessionId;
use crate::http::auth::{self, Caller};
use crate::http::envelope::Success;
use crate::http::error::ApiError;
use crate::http::routes::SessionBody;
use crate::state::AppState;
use crate::store::{SessionStatus, StoreError};

#[derive(Serialize)]
struct SessionsBody {
    sessions: Vec<SessionBody>,
    current_session_id: String,
}

#[derive(Serialize)]
struct RevokedBody {
    session_id: String,
    revoked: bool,
}

/// The caller, with its session confirmed live by session-store (an access
/// token outlives a revocation by up to its TTL).
async fn live_caller(request: &HttpRequest, state: &AppState) -> Result<Caller, ApiError> {
    let caller = auth::by_access_token(request, state).await?;
    let session = state
        .store
        .validate(&caller.session)
        .await
        .map_err(|error| match error {
            StoreError::NotFound => ApiError::SessionRevoked,
            other => other.into(),
        })?;
    if session.user_id != caller.user {
        return Err(ApiError::SessionRevoked);
    }
    match session.status {
        SessionStatus::Active => Ok(caller),
        // session-store marks a session it found expired as revoked ("expired").
        SessionStatus::Revoked if session.revoked_reason.as_deref() == Some("expired") => {
            Err(ApiError::SessionExpired)
        }
        SessionStatus::Revoked => Err(ApiError::SessionRevoked),
        SessionStatus::Expired => Err(ApiError::SessionExpired),
    }
}

pub async fn list(request: HttpRequest, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = live_caller(&request, &state).await?;
    let sessions = state.store.list(&caller.user).await?;
    let body = SessionsBody {
        sessions: sessions
            .iter()
            .map(|session| SessionBody::new(session, Some(session.id == caller.session)))
            .collect(),
        current_session_id: caller.session.to_string(),
    };
    Ok(HttpResponse::Ok().json(Success::new("Sessions", body)))
}

pub async fn revoke(
    request: HttpRequest,
    id: Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = live_caller(&request, &state).await?;
    state.origins.check(&request, caller.credential)?;
    let target = SessionId::parse(&id).map_err(|_| ApiError::SessionNotFound)?;
    let (revoked, session) = state
        .store
        .revoke(&target, &caller.user, "revoked_by_user")
        .await?;
    if revoked {
        state.secrets.forget(&session.id);
        state.events.publish(
            SessionEventKind::Revoked,
            &session.id,
            &session.user_id,
            Some("revoked_by_user"),
        );
    }
    tracing::info!(user_id = %caller.user, session_id = %target, revoked, "Session revoked by its user");
    let body = RevokedBody {
        session_id: target.to_string(),
        revoked,
    };
    let mut response = HttpResponse::Ok().json(Success::new("Session revoked", body));
    if target == caller.session {
        state.cookies.clear_on(&mut response);
    }
    Ok(response)
}
