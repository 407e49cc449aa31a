//! `POST /api/auth/session/logout?scope=local|others|global`.
//!
//! `local` ends this session, `others` every other session of the user,
//! `global` all of them; one `session.revoked` event per revoked session.
//!
//! Here: the rate limit, the scope, the body, and which credential names the
//! caller (`identify`: the access token, else a refresh token of the current
//! generation, each with the Origin rule); then `app::logout`, which revokes
//! and announces. Rate limited per client like bridge and refresh.

use actix_web::web::{self, Bytes, Data, Query, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::app::logout::Scope;
use crate::app::{caller, logout as usecase, refresh};
use crate::http::context::HttpContext;
use crate::http::envelope::{Failure, Success};
use crate::http::error::ApiError;
use crate::http::origin::Credential;
use crate::http::route_module::RouteModule;
use crate::http::{auth, body, request_meta};
use crate::state::AppState;

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
    http: Data<HttpContext>,
) -> Result<HttpResponse, ApiError> {
    http.limiters
        .logout
        .check(request_meta::rate_limit_key(&request, &http.proxies))?;
    let scope = Scope::parse(query.scope.as_deref())?;
    let payload: LogoutRequest = body::parse(&request, &raw_body)?;
    let caller = match identify(&request, &state, &http, payload.refresh_token).await {
        Ok(caller) => caller,
        Err(error) if error.ends_session() || matches!(error, ApiError::AccessToken(_)) => {
            // Nothing live to log out: say so, and drop whatever cookies are left.
            let mut response = error.error_response();
            http.cookies.clear_on(&mut response);
            return Ok(response);
        }
        Err(error) => return Err(error),
    };

    let logged_out = usecase::logout(&state, &caller, scope).await?;

    let body = LogoutBody {
        scope,
        revoked_sessions: logged_out.revoked_sessions,
    };
    let mut response = HttpResponse::Ok().json(Success::new("Logged out", body));
    if scope != Scope::Others {
        http.cookies.clear_on(&mut response);
    }
    Ok(response)
}

/// The live caller: by access token; by refresh token when there is no access
/// token or it no longer verifies (typically expired). An access token that
/// verifies but whose session is gone is final: no fallback.
async fn identify(
    request: &HttpRequest,
    state: &AppState,
    http: &HttpContext,
    body_refresh_token: Option<String>,
) -> Result<caller::Caller, ApiError> {
    let refresh = auth::presented_refresh_token(request, body_refresh_token);
    let access = auth::presented_access_token(request);
    let credential = match (&access, &refresh) {
        (Some((_, credential)), _) | (None, Some((_, credential))) => *credential,
        (None, None) => Credential::None,
    };
    http.origins.check(request, credential)?;
    let access_error = match access {
        Some((token, _)) => match caller::verify_access_token(state, &token).await {
            Ok(verified) => return Ok(caller::ensure_live(state, verified).await?),
            Err(error) => ApiError::from(error),
        },
        None => ApiError::NotAuthenticated("no access or refresh token was presented"),
    };
    let Some((raw, credential)) = refresh else {
        return Err(access_error);
    };
    http.origins.check(request, credential)?;
    Ok(refresh::live_caller(state, &raw).await?)
}
