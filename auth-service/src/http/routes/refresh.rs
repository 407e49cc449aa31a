//! `POST /api/auth/session/refresh`: rotate the refresh token.
//!
//! Here: the rate limit, the body, where the refresh token comes from and the
//! Origin rule for it; then `app::refresh` (tag, secret, rotation under
//! session-store's row lock). Any failure that makes the presented token
//! useless clears both cookies.

use actix_web::web::{self, Bytes, Data, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::app::refresh::{self as usecase, RefreshInput};
use crate::http::auth;
use crate::http::context::HttpContext;
use crate::http::envelope::{Failure, Success};
use crate::http::error::ApiError;
use crate::http::origin::Credential;
use crate::http::route_module::RouteModule;
use crate::http::routes::SessionBody;
use crate::http::{body, request_meta};
use crate::state::AppState;

pub const ROUTES: RouteModule = RouteModule {
    register,
    openapi: Api::openapi,
};

fn register(routes: &mut ServiceConfig) {
    routes.route("/api/auth/session/refresh", web::post().to(refresh));
}

#[derive(OpenApi)]
#[openapi(paths(refresh))]
struct Api;

/// The refresh token may come in the body instead of its cookie.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RefreshRequest {
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct RefreshBody {
    session: SessionBody,
    access_token: String,
    expires_at: chrono::DateTime<chrono::Utc>,
    expires_in: i64,
}

/// Rotates the refresh token and issues a new access token.
#[utoipa::path(
    post,
    path = "/api/auth/session/refresh",
    tag = "session",
    request_body(content = Option<RefreshRequest>, content_type = "application/json",
        description = "Optional: the refresh token when it is not sent as its cookie"),
    security((), ("refresh_cookie" = [])),
    responses(
        (status = 200, description = "Rotated (or, for a concurrent tab, the current token \
            handed out again); sets both cookies", body = Success<RefreshBody>),
        (status = 400, description = "Malformed body", body = Failure),
        (status = 401, description = "No, an invalid, a reused (session revoked) or an expired \
            refresh token; clears both cookies", body = Failure),
        (status = 403, description = "Origin not allowed, or a cookie without Origin", body = Failure),
        (status = 413, description = "Body too large", body = Failure),
        (status = 415, description = "Body is not JSON", body = Failure),
        (status = 429, description = "Rate limited", body = Failure),
        (status = 503, description = "A dependency is unavailable, or the token's key is not known \
            to this replica yet; retry (cookies kept)", body = Failure)
    )
)]
pub async fn refresh(
    request: HttpRequest,
    raw_body: Bytes,
    state: Data<AppState>,
    http: Data<HttpContext>,
) -> Result<HttpResponse, ApiError> {
    match rotate(&request, &raw_body, &state, &http).await {
        Ok(response) => Ok(response),
        Err(error) if error.ends_session() => {
            let mut response = error.error_response();
            http.cookies.clear_on(&mut response);
            Ok(response)
        }
        Err(error) => Err(error),
    }
}

async fn rotate(
    request: &HttpRequest,
    raw_body: &Bytes,
    state: &AppState,
    http: &HttpContext,
) -> Result<HttpResponse, ApiError> {
    http.limiters
        .refresh
        .check(request_meta::rate_limit_key(request, &http.proxies))?;
    let payload: RefreshRequest = body::parse(request, raw_body)?;
    let Some((raw, credential)) = auth::presented_refresh_token(request, payload.refresh_token)
    else {
        http.origins.check(request, Credential::None)?;
        return Err(ApiError::NotAuthenticated("no refresh token was presented"));
    };
    http.origins.check(request, credential)?;

    let refreshed = usecase::refresh(
        state,
        &RefreshInput {
            refresh_token: raw,
            previous_access_token: auth::presented_access_token(request).map(|(token, _)| token),
        },
    )
    .await?;

    let mut response = HttpResponse::Ok();
    http.cookies.set(
        &mut response,
        &refreshed.access.token,
        state.access_ttl,
        refreshed.refresh_token.expose(),
    );
    let expires_in = (refreshed.access.expires_at - chrono::Utc::now()).num_seconds();
    let body = RefreshBody {
        session: SessionBody::new(&refreshed.session, None),
        access_token: refreshed.access.token,
        expires_at: refreshed.access.expires_at,
        expires_in,
    };
    Ok(response.json(Success::new("Token refreshed", body)))
}
