//! `POST /api/auth/session/bridge`: Supabase token in, backend session out.
//!
//! Idempotent per Supabase session: session-store returns the live backend
//! session already bridged from (`sub`, `session_id`), and its current refresh
//! token is re-derived from the returned state, so a frontend calling the
//! bridge on every auth state change keeps one session.

use actix_web::web::{self, Bytes, Data, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use nexus_common::events::SessionEventKind;
use nexus_domain::RevokeReason;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::domain::{Generation, RefreshSecret, UserId};
use crate::http::envelope::{Failure, Success};
use crate::http::error::ApiError;
use crate::http::origin::Credential;
use crate::http::route_module::RouteModule;
use crate::http::routes::SessionBody;
use crate::http::{body, request_meta};
use crate::metrics;
use crate::state::AppState;
use crate::store::{
    CreatedSession, NewSession, RefreshState, SessionStore, SessionView, StoreCallError,
};

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
) -> Result<HttpResponse, ApiError> {
    let ip = request_meta::client_ip(&request, &state.proxies);
    state
        .limiters
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
            state.origins.check(&request, Credential::None)?;
            return Err(ApiError::NotAuthenticated(
                "send the Supabase access token as Authorization: Bearer <token>",
            ));
        }
    };
    state.origins.check(&request, credential)?;

    let claims = state
        .supabase
        .verify(&token)
        .await
        .map_err(ApiError::SupabaseToken)?;
    let user = UserId::parse(&claims.sub).map_err(|error| {
        ApiError::SupabaseToken(nexus_tokens::TokenError::BadClaims(error.to_string()))
    })?;
    tracing::info!(user_id = %user, "Supabase user validated");

    let user_agent = request_meta::user_agent(&request);
    let ip_address = ip.map(|ip| ip.to_string());
    let create = |secret: RefreshSecret| {
        let token_hash = state.refresh_keys.current_hash(Generation::FIRST, &secret);
        let store = state.store.clone();
        let new = OwnedNewSession {
            user: user.clone(),
            user_agent: user_agent.clone(),
            ip_address: ip_address.clone(),
            supabase_session_id: claims.session_id.clone(),
            token_hash,
            key_id: state.refresh_keys.current_key_id().as_str().to_owned(),
        };
        async move { new.create(&store, &secret).await }
    };
    let mut outcome = create(RefreshSecret::random()).await?;
    announce_evicted(&state, &outcome.evicted);
    let refresh_token = match derive_current(&state, &outcome.state) {
        Some(token) => token,
        None if !state.refresh_keys.is_retired(&outcome.state.key_id) => {
            // Derived by a replica that already holds a key this one does not
            // (a rolling change of REFRESH_TOKEN_KEYS): the session is fine,
            // this replica is behind. Never end it for that.
            tracing::warn!(session_id = %outcome.state.session.id, key_id = %outcome.state.key_id, "bridged session uses a refresh key this replica does not hold");
            return Err(ApiError::RefreshKeyUnknown);
        }
        None => {
            // The live session's current token was derived with a key listed
            // as retired: it can never be refreshed. Replace the session.
            let refresh_state = &outcome.state;
            tracing::warn!(session_id = %refresh_state.session.id, key_id = %refresh_state.key_id, "bridged session uses a retired refresh key; replacing it");
            match state
                .store
                .revoke(
                    &refresh_state.session.id,
                    &user,
                    RevokeReason::RefreshKeyRetired,
                )
                .await
            {
                Ok((true, session)) => {
                    state.events.publish(
                        SessionEventKind::Revoked,
                        &session.id,
                        &user,
                        Some(RevokeReason::RefreshKeyRetired.as_str()),
                    );
                }
                Ok((false, _)) | Err(StoreCallError::NotFound) => {}
                Err(error) => return Err(error.into()),
            }
            outcome = create(RefreshSecret::random()).await?;
            announce_evicted(&state, &outcome.evicted);
            derive_current(&state, &outcome.state).ok_or_else(|| {
                anyhow::anyhow!("a new session was not derived with the current refresh key")
            })?
        }
    };
    let (refresh_state, created) = (&outcome.state, outcome.created);
    let session = &refresh_state.session;
    state.secrets.insert(
        session.id.clone(),
        crate::secret_cache::CachedSecret {
            secret: refresh_state.secret.clone(),
            user: user.clone(),
        },
    );
    if created {
        metrics::bridge_outcome("created");
        tracing::info!(user_id = %user, session_id = %session.id, "Backend session created");
        state
            .events
            .publish(SessionEventKind::Created, &session.id, &user, None);
    } else {
        metrics::bridge_outcome("existing");
        tracing::info!(user_id = %user, session_id = %session.id, "Existing backend session returned");
    }

    let name = claims.display_name();
    let access = state.issue_access_token(&user, &session.id, name.clone())?;
    tracing::info!(user_id = %user, session_id = %session.id, generation = %refresh_state.generation, "Refresh token issued");

    let mut response = HttpResponse::Ok();
    state.cookies.set(
        &mut response,
        &access.token,
        state.access_ttl,
        refresh_token.expose(),
    );
    let expires_in = (access.expires_at - chrono::Utc::now()).num_seconds();
    let body = BridgeBody {
        session: SessionBody::new(session, None),
        user: UserBody {
            id: user.to_string(),
            email: claims.email.clone(),
            name,
        },
        access_token: access.token,
        expires_at: access.expires_at,
        expires_in,
        created,
    };
    let message = if created {
        "Session created"
    } else {
        "Session restored"
    };
    Ok(response.json(Success::new(message, body)))
}

/// One `session.revoked` (reason `session_limit`) per session session-store
/// evicted to keep the user within the per-user cap.
fn announce_evicted(state: &AppState, evicted: &[SessionView]) {
    for session in evicted {
        state.secrets.forget(&session.id);
        state.events.publish(
            SessionEventKind::Revoked,
            &session.id,
            &session.user_id,
            Some(RevokeReason::SessionLimit.as_str()),
        );
    }
}

fn derive_current(
    state: &AppState,
    refresh_state: &RefreshState,
) -> Option<crate::keys::refresh::RefreshToken> {
    state.refresh_keys.derive(
        &refresh_state.key_id,
        &refresh_state.session.id,
        refresh_state.generation,
        &refresh_state.secret,
    )
}

/// A CreateSession request before the secret is attached.
struct OwnedNewSession {
    user: UserId,
    user_agent: Option<String>,
    ip_address: Option<String>,
    supabase_session_id: Option<String>,
    token_hash: crate::domain::TokenHash,
    key_id: String,
}

impl OwnedNewSession {
    async fn create(
        self,
        store: &SessionStore,
        secret: &RefreshSecret,
    ) -> Result<CreatedSession, StoreCallError> {
        store
            .create_session(NewSession {
                user: &self.user,
                user_agent: self.user_agent,
                ip_address: self.ip_address,
                supabase_session_id: self.supabase_session_id,
                secret,
                token_hash: self.token_hash,
                key_id: &self.key_id,
            })
            .await
    }
}
