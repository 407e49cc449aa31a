//! `POST /api/auth/session/refresh`: rotate the refresh token.
//!
//! The order matters: the outer tag is checked first (a forged token never
//! reaches session-store), then the per-session secret (cached), then
//! session-store rotates under a row lock and says which token to hand out.
//! Any failure that makes the presented token useless clears both cookies.

use actix_web::web::{self, Bytes, Data, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use nexus_common::events::SessionEventKind;
use nexus_tokens::access::ACCESS_COOKIE_NAMES;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::domain::SessionId;
use crate::http::auth::{self, refresh_secret};
use crate::http::caller::report_reuse;
use crate::http::envelope::{Failure, Success};
use crate::http::error::ApiError;
use crate::http::origin::Credential;
use crate::http::route_module::RouteModule;
use crate::http::routes::SessionBody;
use crate::http::{body, request_meta};
use crate::metrics;
use crate::state::AppState;
use crate::store::{Rotated, RotationRequest, StoreCallError};

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
) -> Result<HttpResponse, ApiError> {
    match rotate(&request, &raw_body, &state).await {
        Ok(response) => Ok(response),
        Err(error) if error.ends_session() => {
            let mut response = error.error_response();
            state.cookies.clear_on(&mut response);
            Ok(response)
        }
        Err(error) => Err(error),
    }
}

async fn rotate(
    request: &HttpRequest,
    raw_body: &Bytes,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    state
        .limiters
        .refresh
        .check(request_meta::rate_limit_key(request, &state.proxies))?;
    let payload: RefreshRequest = body::parse(request, raw_body)?;
    let Some((raw, credential)) = auth::presented_refresh_token(request, payload.refresh_token)
    else {
        state.origins.check(request, Credential::None)?;
        return Err(ApiError::NotAuthenticated("no refresh token was presented"));
    };
    state.origins.check(request, credential)?;

    let presented = state.refresh_keys.open(&raw).map_err(|error| {
        let error = ApiError::refresh_token(error);
        metrics::refresh_outcome(if matches!(error, ApiError::RefreshKeyUnknown) {
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
            if matches!(error, ApiError::Unavailable(_)) {
                metrics::refresh_outcome("unavailable");
            }
        })?;
    if !state
        .refresh_keys
        .matches_secret(&presented, &cached.secret)
    {
        metrics::refresh_outcome("mismatch");
        return Err(ApiError::RefreshTokenRejected);
    }
    let next_generation = presented
        .generation
        .next()
        .ok_or_else(|| anyhow::anyhow!("refresh generation overflow"))?;
    let next = state
        .refresh_keys
        .derive_current(&session_id, next_generation, &cached.secret);
    let rotation = RotationRequest {
        session: &session_id,
        generation: presented.generation,
        presented_hash: &presented.hash,
        next_hash: next.hash(),
        next_key_id: state.refresh_keys.current_key_id().as_str(),
        reuse_interval: state.reuse_interval,
    };
    let outcome = state
        .store
        .rotate(rotation)
        .await
        .map_err(|error| match error {
            StoreCallError::NotFound => ApiError::RefreshTokenRejected,
            StoreCallError::Unavailable(detail) => {
                metrics::refresh_outcome("unavailable");
                ApiError::Unavailable(detail)
            }
            other => other.into(),
        })?;
    let (session, generation, key_id, rotated) = match outcome {
        Rotated::Current {
            session,
            generation,
            key_id,
            rotated,
        } => (session, generation, key_id, rotated),
        Rotated::ReuseDetected(session) => {
            let user = session.map_or_else(|| cached.user.clone(), |session| session.user_id);
            report_reuse(state, &session_id, &user, presented.generation);
            return Err(ApiError::RefreshReuse);
        }
        Rotated::Revoked => {
            metrics::refresh_outcome("revoked");
            state.secrets.forget(&session_id);
            return Err(ApiError::SessionRevoked);
        }
        Rotated::Expired => {
            metrics::refresh_outcome("expired");
            state.secrets.forget(&session_id);
            return Err(ApiError::SessionExpired);
        }
        Rotated::Mismatch => {
            metrics::refresh_outcome("mismatch");
            return Err(ApiError::RefreshTokenRejected);
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
            .ok_or_else(|| ApiError::refresh_token(state.refresh_keys.missing_key(&key_id)))?
    };
    if rotated {
        metrics::refresh_outcome("rotated");
        state.events.publish(
            SessionEventKind::Refreshed,
            &session_id,
            &session.user_id,
            None,
        );
    } else {
        metrics::refresh_outcome("current_returned");
    }

    let name = previous_name(request, state, &session_id).await;
    let access = state.issue_access_token(&session.user_id, &session_id, name)?;
    tracing::info!(user_id = %session.user_id, session_id = %session_id, generation = %generation, "Refresh token issued");

    let mut response = HttpResponse::Ok();
    state.cookies.set(
        &mut response,
        &access.token,
        state.access_ttl,
        token.expose(),
    );
    let expires_in = (access.expires_at - chrono::Utc::now()).num_seconds();
    let body = RefreshBody {
        session: SessionBody::new(&session, None),
        access_token: access.token,
        expires_at: access.expires_at,
        expires_in,
    };
    Ok(response.json(Success::new("Token refreshed", body)))
}

/// The display name from the caller's previous access token of this session
/// (signature checked, expiry not: it usually has just expired).
async fn previous_name(
    request: &HttpRequest,
    state: &AppState,
    session: &SessionId,
) -> Option<String> {
    let token = request_meta::bearer(request)
        .map(str::to_owned)
        .or_else(|| request_meta::cookie(request, &ACCESS_COOKIE_NAMES))?;
    let claims = state.access_keys.decode_ignoring_expiry(&token)?;
    (claims.sid == session.as_str())
        .then_some(claims.name)
        .flatten()
}
