//! `GET /api/auth/sessions` and `DELETE /api/auth/sessions/{id}`: a user's
//! own sessions. Someone else's session id answers 404, exactly like an
//! unknown one, so ids cannot be probed.

use actix_web::HttpResponse;
use actix_web::web::{Data, Path};
use nexus_common::events::SessionEventKind;
use serde::Serialize;

use crate::domain::SessionId;
use crate::http::caller::LiveCaller;
use crate::http::envelope::Success;
use crate::http::error::ApiError;
use crate::http::routes::SessionBody;
use crate::state::AppState;

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

pub async fn list(caller: LiveCaller, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
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
    caller: LiveCaller,
    id: Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
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
