//! Who is calling: the backend access token from `Authorization: Bearer` or
//! the access cookie, verified with our own keys (same checks as every other
//! service), or, for logout after the access token expired, the refresh
//! token (tag, then per-session secret).

use actix_web::HttpRequest;
use nexus_tokens::access::{ACCESS_COOKIE, AccessClaims, REFRESH_COOKIE};

use crate::domain::{SessionId, UserId};
use crate::http::error::ApiError;
use crate::http::origin::Credential;
use crate::http::request_meta;
use crate::secret_cache::CachedSecret;
use crate::state::AppState;

/// An authenticated caller.
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
    request_meta::cookie(request, ACCESS_COOKIE).map(|token| (token, Credential::Cookie))
}

/// The caller by access token; 401 when there is none or it is invalid.
pub async fn by_access_token(request: &HttpRequest, state: &AppState) -> Result<Caller, ApiError> {
    let (token, credential) = presented_access_token(request)
        .ok_or(ApiError::NotAuthenticated("no access token was presented"))?;
    let claims = state
        .access_verifier
        .verify(&token)
        .await
        .map_err(ApiError::AccessToken)?;
    Caller::from_claims(&claims, credential)
}

/// The caller by access token, else by a fully checked refresh token (cookie
/// or `body_token`). Used by logout, which must work after the access token
/// expired.
pub async fn by_any_token(
    request: &HttpRequest,
    state: &AppState,
    body_token: Option<&str>,
) -> Result<Caller, ApiError> {
    let access_error = match by_access_token(request, state).await {
        Ok(caller) => return Ok(caller),
        Err(error) => error,
    };
    let (raw, credential) = match (body_token, request_meta::cookie(request, REFRESH_COOKIE)) {
        (Some(token), _) => (token.to_owned(), Credential::Body),
        (None, Some(token)) => (token, Credential::Cookie),
        (None, None) => return Err(access_error),
    };
    let presented = state
        .refresh_keys
        .open(&raw)
        .map_err(ApiError::RefreshToken)?;
    let cached = refresh_secret(state, &presented.session).await?;
    if !state
        .refresh_keys
        .matches_secret(&presented, &cached.secret)
    {
        return Err(ApiError::RefreshTokenRejected);
    }
    Ok(Caller {
        user: cached.user,
        session: presented.session,
        credential,
    })
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
