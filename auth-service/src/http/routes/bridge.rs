//! `POST /api/auth/session/bridge`: Supabase token in, backend session out.
//!
//! Here: the rate limit, the body, which credential carries the Supabase
//! token and the Origin rule for it; then `app::bridge` (idempotent per
//! Supabase session), and the cookies and body of the answer.

use actix_web::web::{self, Bytes, Data, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::app::bridge::{self as usecase, BridgeInput};
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
    routes.route("/api/auth/session/bridge", web::post().to(bridge));
}

#[derive(OpenApi)]
#[openapi(paths(bridge))]
struct Api;

/// The Supabase token may come in the body instead of `Authorization`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BridgeRequest {
    /// A Supabase Auth access token.
    #[serde(default)]
    access_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct UserBody {
    id: String,
    email: Option<String>,
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct BridgeBody {
    session: SessionBody,
    user: UserBody,
    access_token: String,
    expires_at: chrono::DateTime<chrono::Utc>,
    expires_in: i64,
    created: bool,
}

/// Supabase token in, backend session out (idempotent per Supabase session).
#[utoipa::path(
    post,
    path = "/api/auth/session/bridge",
    tag = "session",
    request_body(content = Option<BridgeRequest>, content_type = "application/json",
        description = "Optional: the Supabase token when it is not sent as a bearer token"),
    security((), ("supabase_token" = [])),
    responses(
        (status = 200, description = "The backend session (created, or the live one bridged from \
            this Supabase session); sets both cookies", body = Success<BridgeBody>),
        (status = 400, description = "Malformed body", body = Failure),
        (status = 401, description = "Missing or invalid Supabase token", body = Failure),
        (status = 403, description = "Origin not allowed", body = Failure),
        (status = 413, description = "Body too large", body = Failure),
        (status = 415, description = "Body is not JSON", body = Failure),
        (status = 429, description = "Rate limited", body = Failure),
        (status = 503, description = "A dependency is unavailable, or the session's refresh key \
            is not known to this replica yet; retry", body = Failure)
    )
)]
pub async fn bridge(
    request: HttpRequest,
    raw_body: Bytes,
    state: Data<AppState>,
    http: Data<HttpContext>,
) -> Result<HttpResponse, ApiError> {
    let ip = request_meta::client_ip(&request, &http.proxies);
    http.limiters
        .bridge
        .check(nexus_common::client_ip::RateLimitKey::of(ip))?;
    let payload: BridgeRequest = body::parse(&request, &raw_body)?;
    let (token, credential) = match (
        request_meta::bearer(&request),
        payload.access_token.as_deref(),
    ) {
        (Some(token), _) => (token.to_owned(), Credential::Bearer),
        (None, Some(token)) => (token.to_owned(), Credential::Body),
        (None, None) => {
            http.origins.check(&request, Credential::None)?;
            return Err(ApiError::NotAuthenticated(
                "send the Supabase access token as Authorization: Bearer <token>",
            ));
        }
    };
    http.origins.check(&request, credential)?;

    let bridged = usecase::bridge(
        &state,
        &BridgeInput {
            supabase_token: token,
            user_agent: request_meta::user_agent(&request),
            ip_address: ip.map(|ip| ip.to_string()),
        },
    )
    .await?;

    let mut response = HttpResponse::Ok();
    http.cookies.set(
        &mut response,
        &bridged.access.token,
        state.access_ttl,
        bridged.refresh_token.expose(),
    );
    let expires_in = (bridged.access.expires_at - chrono::Utc::now()).num_seconds();
    let message = if bridged.created {
        "Session created"
    } else {
        "Session restored"
    };
    let body = BridgeBody {
        session: SessionBody::new(&bridged.session, None),
        user: UserBody {
            id: bridged.user.to_string(),
            email: bridged.email,
            name: bridged.name,
        },
        access_token: bridged.access.token,
        expires_at: bridged.access.expires_at,
        expires_in,
        created: bridged.created,
    };
    Ok(response.json(Success::new(message, body)))
}
