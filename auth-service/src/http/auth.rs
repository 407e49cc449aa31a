//! Reading and checking the credentials a request presents: the backend
//! access token from `Authorization: Bearer` or the access cookie (verified
//! with our own keys, same checks as every other service), and the per-session
//! refresh secret a refresh token is checked against. Whether the session
//! behind them is still live is `http::caller`'s job.

use actix_web::HttpRequest;
use nexus_tokens::access::{ACCESS_COOKIE_NAMES, AccessClaims, REFRESH_COOKIE_NAMES};

use crate::domain::{SessionId, UserId};
use crate::http::error::ApiError;
use crate::http::origin::Credential;
use crate::http::request_meta;
use crate::secret_cache::CachedSecret;
use crate::state::AppState;

/// A caller whose access token verified (its session not yet checked).
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserId,
    pub session: SessionId,
    pub credential: Credential,
}

impl Caller {
    fn from_claims(claims: &AccessClaims, credential: Credential) -> Result<Self, ApiError> {
        let bad =
            |_| ApiError::AccessToken(nexus_tokens::TokenError::BadClaims("sub or sid".to_owned()));
        Ok(Self {
            user: UserId::parse(&claims.sub).map_err(bad)?,
            session: SessionId::parse(&claims.sid).map_err(bad)?,
            credential,
        })
    }
}

/// The access token presented, and how.
pub fn presented_access_token(request: &HttpRequest) -> Option<(String, Credential)> {
    if let Some(token) = request_meta::bearer(request) {
        return Some((token.to_owned(), Credential::Bearer));
    }
    request_meta::cookie(request, &ACCESS_COOKIE_NAMES).map(|token| (token, Credential::Cookie))
}

/// The refresh token presented in the JSON body, else in its cookie.
pub fn presented_refresh_token(
    request: &HttpRequest,
    body_token: Option<String>,
) -> Option<(String, Credential)> {
    match body_token {
        Some(token) => Some((token, Credential::Body)),
        None => request_meta::cookie(request, &REFRESH_COOKIE_NAMES)
            .map(|token| (token, Credential::Cookie)),
    }
}

/// Verifies an access token's signature and claims.
pub async fn verify_access_token(
    state: &AppState,
    token: &str,
    credential: Credential,
) -> Result<Caller, ApiError> {
    let claims = state
        .access_verifier
        .verify(token)
        .await
        .map_err(ApiError::AccessToken)?;
    Caller::from_claims(&claims, credential)
}

/// A session's refresh secret, from the cache or session-store.
pub async fn refresh_secret(
    state: &AppState,
    session: &SessionId,
) -> Result<CachedSecret, ApiError> {
    if let Some(cached) = state.secrets.get(session) {
        return Ok(cached);
    }
    let refresh_state = state
        .store
        .refresh_state(session)
        .await
        .map_err(ApiError::from_store_auth)?;
    let cached = CachedSecret {
        secret: refresh_state.secret,
        user: refresh_state.session.user_id,
    };
    state.secrets.insert(session.clone(), cached.clone());
    Ok(cached)
}
