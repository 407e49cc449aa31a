//! `GET /api/auth/sessions` and `DELETE /api/auth/sessions/{id}`: a user's
//! own sessions. Someone else's session id answers 404, exactly like an
//! unknown one, so ids cannot be probed.

use actix_web::HttpResponse;
use actix_web::web::{self, Data, Path, ServiceConfig};
use nexus_common::events::SessionEventKind;
use nexus_domain::RevokeReason;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::domain::SessionId;
use crate::http::caller::LiveCaller;
use crate::http::envelope::{Failure, Success};
use crate::http::error::ApiError;
use crate::http::route_module::RouteModule;
use crate::http::routes::SessionBody;
use crate::state::AppState;

pub const ROUTES: RouteModule = RouteModule {
    register,
    openapi: Api::openapi,
};

fn register(routes: &mut ServiceConfig) {
    routes
        .route("/api/auth/sessions", web::get().to(list))
        .route("/api/auth/sessions/{id}", web::delete().to(revoke));
}

#[derive(OpenApi)]
#[openapi(paths(list, revoke))]
struct Api;

#[derive(Serialize, ToSchema)]
struct SessionsBody {
    sessions: Vec<SessionBody>,
    current_session_id: String,
}

#[derive(Serialize, ToSchema)]
struct RevokedBody {
    session_id: String,
    revoked: bool,
}

/// The caller's live sessions, the current one marked.
#[utoipa::path(
    get,
    path = "/api/auth/sessions",
    tag = "sessions",
    security(("access_token" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The caller's live sessions", body = Success<SessionsBody>),
        (status = 401, description = "No live session", body = Failure),
        (status = 503, description = "A dependency is unavailable; retry", body = Failure)
    )
)]
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

/// Revokes one of the caller's own sessions.
#[utoipa::path(
    delete,
    path = "/api/auth/sessions/{id}",
    tag = "sessions",
    params(("id" = String, Path, description = "A session id from the listing")),
    security(("access_token" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "Revoked (or already was); clears the cookies when it was \
            the caller's own session", body = Success<RevokedBody>),
        (status = 401, description = "No live session", body = Failure),
        (status = 403, description = "Origin not allowed, or a cookie without Origin", body = Failure),
        (status = 404, description = "No such session of the caller (another user's id too)",
            body = Failure),
        (status = 503, description = "A dependency is unavailable; retry", body = Failure)
    )
)]
pub async fn revoke(
    caller: LiveCaller,
    id: Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let target = SessionId::parse(&id).map_err(|_| ApiError::SessionNotFound)?;
    let (revoked, session) = state
        .store
        .revoke(&target, &caller.user, RevokeReason::RevokedByUser)
        .await?;
    if revoked {
        state.secrets.forget(&session.id);
        state.events.publish(
            SessionEventKind::Revoked,
            &session.id,
            &session.user_id,
            Some(RevokeReason::RevokedByUser.as_str()),
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
