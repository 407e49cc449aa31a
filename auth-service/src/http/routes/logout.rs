//! `POST /api/auth/session/logout?scope=local|others|global`.
//!
//! `local` ends this session, `others` every other session of the user,
//! `global` all of them; one `session.revoked` event per revoked session.
//!
//! Logout acts for a user, so it needs a live session (`http::caller`): the
//! access token's session confirmed active, or, when the access token has
//! expired (logging out must not need a refresh first), a refresh token of the
//! current generation; an older one is reuse, handled as rotation handles it.
//! Rate limited per client like bridge and refresh.

use actix_web::web::{self, Bytes, Data, Query, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use nexus_common::events::SessionEventKind;
use nexus_domain::RevokeReason;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::http::caller::{self, LiveCaller};
use crate::http::envelope::{Failure, Success};
use crate::http::error::ApiError;
use crate::http::origin::Credential;
use crate::http::route_module::RouteModule;
use crate::http::{auth, body, request_meta};
use crate::state::AppState;
use crate::store::StoreCallError;

pub const ROUTES: RouteModule = RouteModule {
    register,
    openapi: Api::openapi,
};

fn register(routes: &mut ServiceConfig) {
    routes.route("/api/auth/session/logout", web::post().to(logout));
}

#[derive(OpenApi)]
#[openapi(paths(logout))]
struct Api;

/// Which sessions to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Local,
    Others,
    Global,
}

impl Scope {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        match raw.unwrap_or("local") {
            "local" => Ok(Self::Local),
            "others" => Ok(Self::Others),
            "global" => Ok(Self::Global),
            _ => Err(ApiError::BadRequest(
                "scope must be local, others or global".to_owned(),
            )),
        }
    }

    fn reason(self) -> RevokeReason {
        match self {
            Self::Local => RevokeReason::Logout,
            Self::Others => RevokeReason::LogoutOthers,
            Self::Global => RevokeReason::LogoutGlobal,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogoutQuery {
    /// `local` (default): this session; `others`: every other session of
    /// the user; `global`: all of them.
    #[param(value_type = Option<Scope>)]
    scope: Option<String>,
}

/// The refresh token may come in the body (logging out after the access
/// token expired); it must be the session's current one.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LogoutRequest {
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct LogoutBody {
    scope: Scope,
    revoked_sessions: usize,
}

/// Ends this, every other, or every session of the caller.
#[utoipa::path(
    post,
    path = "/api/auth/session/logout",
    tag = "session",
    params(LogoutQuery),
    request_body(content = Option<LogoutRequest>, content_type = "application/json",
        description = "Optional: the current refresh token when no access token is at hand"),
    security((), ("access_token" = []), ("access_cookie" = []), ("refresh_cookie" = [])),
    responses(
        (status = 200, description = "Logged out; clears both cookies unless scope=others",
            body = Success<LogoutBody>),
        (status = 400, description = "Bad scope or body", body = Failure),
        (status = 401, description = "No live session: none presented, revoked or expired, or a \
            superseded refresh token (reuse: that session is revoked); clears both cookies",
            body = Failure),
        (status = 403, description = "Origin not allowed, or a cookie without Origin", body = Failure),
        (status = 413, description = "Body too large", body = Failure),
        (status = 415, description = "Body is not JSON", body = Failure),
        (status = 429, description = "Rate limited", body = Failure),
        (status = 503, description = "A dependency is unavailable; retry", body = Failure)
    )
)]
pub async fn logout(
    request: HttpRequest,
    query: Query<LogoutQuery>,
    raw_body: Bytes,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state
        .limiters
        .logout
        .check(request_meta::rate_limit_key(&request, &state.proxies))?;
    let scope = Scope::parse(query.scope.as_deref())?;
    let payload: LogoutRequest = body::parse(&request, &raw_body)?;
    let caller = match identify(&request, &state, payload.refresh_token).await {
        Ok(caller) => caller,
        Err(error) if error.ends_session() || matches!(error, ApiError::AccessToken(_)) => {
            // Nothing live to log out: say so, and drop whatever cookies are left.
            let mut response = error.error_response();
            state.cookies.clear_on(&mut response);
            return Ok(response);
        }
        Err(error) => return Err(error),
    };

    let revoked = match scope {
        Scope::Local => match state
            .store
            .revoke(&caller.session, &caller.user, scope.reason())
            .await
        {
            Ok((true, session)) => vec![session],
            Ok((false, _)) | Err(StoreCallError::NotFound) => Vec::new(),
            Err(error) => return Err(error.into()),
        },
        Scope::Others => {
            state
                .store
                .revoke_all(&caller.user, Some(&caller.session), scope.reason())
                .await?
        }
        Scope::Global => {
            state
                .store
                .revoke_all(&caller.user, None, scope.reason())
                .await?
        }
    };
    for session in &revoked {
        state.secrets.forget(&session.id);
        state.events.publish(
            SessionEventKind::Revoked,
            &session.id,
            &session.user_id,
            Some(scope.reason().as_str()),
        );
    }
    tracing::info!(user_id = %caller.user, session_id = %caller.session, ?scope, revoked = revoked.len(), "Logged out");

    let body = LogoutBody {
        scope,
        revoked_sessions: revoked.len(),
    };
    let mut response = HttpResponse::Ok().json(Success::new("Logged out", body));
    if scope != Scope::Others {
        state.cookies.clear_on(&mut response);
    }
    Ok(response)
}

/// The live caller: by access token; by refresh token when there is no access
/// token or it no longer verifies (typically expired). An access token that
/// verifies but whose session is gone is final: no fallback.
async fn identify(
    request: &HttpRequest,
    state: &AppState,
    body_refresh_token: Option<String>,
) -> Result<LiveCaller, ApiError> {
    let refresh = auth::presented_refresh_token(request, body_refresh_token);
    let access = auth::presented_access_token(request);
    let credential = match (&access, &refresh) {
        (Some((_, credential)), _) | (None, Some((_, credential))) => *credential,
        (None, None) => Credential::None,
    };
    state.origins.check(request, credential)?;
    let access_error = match access {
        Some((token, credential)) => {
            match auth::verify_access_token(state, &token, credential).await {
                Ok(verified) => return caller::ensure_live(state, verified).await,
                Err(error) => error,
            }
        }
        None => ApiError::NotAuthenticated("no access or refresh token was presented"),
    };
    let Some((raw, credential)) = refresh else {
        return Err(access_error);
    };
    state.origins.check(request, credential)?;
    caller::live_by_refresh_token(state, &raw, credential).await
}
