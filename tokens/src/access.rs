//! Backend access tokens: what auth-service signs and every service checks.
//!
//! Signed with an asymmetric key (EdDSA or ES256) named by `kid`; the public
//! keys are served at `/api/auth/.well-known/jwks.json`, so verifying needs no
//! shared secret. `sid` is the backend session, which realtime-service checks
//! with session-store before admitting a socket.

use std::collections::HashMap;

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};

use crate::jwks::JwksCache;
use crate::verify::{self, Expectations};
use crate::{TokenError, VerificationKey};

/// `iss` of backend access tokens.
pub const ISSUER: &str = "nexus-auth";
/// `aud` of backend access tokens.
pub const AUDIENCE: &str = "nexus";
/// Cookie holding the access token (`Path=/`, `SameSite=Lax`, httpOnly) over
/// plain-HTTP development (`COOKIE_SECURE=false`).
pub const ACCESS_COOKIE: &str = "nexus_access_token";
/// Cookie holding the refresh token (`Path=/api/auth`, `SameSite=Strict`,
/// httpOnly) over plain-HTTP development.
pub const REFRESH_COOKIE: &str = "nexus_refresh_token";
/// The access cookie's name with `COOKIE_SECURE=true`: browsers accept a
/// `__Host-` cookie only from this very host, Secure, `Path=/` and without
/// `Domain`, so a sibling subdomain cannot plant or overwrite it.
pub const ACCESS_COOKIE_SECURE: &str = "__Host-nexus_access_token";
/// The refresh cookie's name with `COOKIE_SECURE=true` (`__Secure-`: only set
/// over HTTPS; it needs `Path=/api/auth`, which `__Host-` would forbid).
pub const REFRESH_COOKIE_SECURE: &str = "__Secure-nexus_refresh_token";
/// Names the access token is read from, preferred first: both are accepted on
/// input so a deploy that switches `COOKIE_SECURE` logs nobody out.
pub const ACCESS_COOKIE_NAMES: [&str; 2] = [ACCESS_COOKIE_SECURE, ACCESS_COOKIE];
/// Names the refresh token is read from, preferred first.
pub const REFRESH_COOKIE_NAMES: [&str; 2] = [REFRESH_COOKIE_SECURE, REFRESH_COOKIE];
/// Default JWKS location of a local auth-service.
pub const DEFAULT_JWKS_URL: &str = "http://127.0.0.1:8001/api/auth/.well-known/jwks.json";
/// Clock skew tolerated between services.
const LEEWAY_SECS: u64 = 5;

/// Claims of a backend access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id (Supabase `sub`).
    pub sub: String,
    /// The backend session id.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// Display name for hangouts and groups; never shown in dark rooms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Only these algorithms may sign backend tokens.
fn is_backend_algorithm(algorithm: Algorithm) -> bool {
    matches!(algorithm, Algorithm::EdDSA | Algorithm::ES256)
}

enum Keys {
    Jwks(JwksCache),
    Fixed(HashMap<String, VerificationKey>),
}

/// Verifies backend access tokens, with keys from auth-service's JWKS or a
/// fixed set (auth-service verifying its own tokens).
pub struct AccessTokenVerifier {
    keys: Keys,
}

impl std::fmt::Debug for AccessTokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.keys {
            Keys::Jwks(cache) => write!(f, "AccessTokenVerifier(jwks: {})", cache.url()),
            Keys::Fixed(keys) => write!(f, "AccessTokenVerifier({} fixed keys)", keys.len()),
        }
    }
}

impl AccessTokenVerifier {
    /// Keys fetched from a JWKS URL (refetched on an unknown `kid`).
    pub fn from_jwks(cache: JwksCache) -> Self {
        Self {
            keys: Keys::Jwks(cache),
        }
    }

    /// A fixed set of keys by `kid`.
    pub fn from_keys(keys: impl IntoIterator<Item = (String, VerificationKey)>) -> Self {
        Self {
            keys: Keys::Fixed(keys.into_iter().collect()),
        }
    }

    /// The JWKS cache, when keys come from one.
    pub fn jwks(&self) -> Option<&JwksCache> {
        match &self.keys {
            Keys::Jwks(cache) => Some(cache),
            Keys::Fixed(_) => None,
        }
    }

    pub async fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header = verify::header(token)?;
        if !is_backend_algorithm(header.alg) {
            return Err(TokenError::AlgorithmNotAllowed(verify::algorithm_name(
                header.alg,
            )));
        }
        let kid = header.kid.as_deref().ok_or(TokenError::MissingKeyId)?;
        let key = match &self.keys {
            Keys::Jwks(cache) => cache.key(kid).await?,
            Keys::Fixed(keys) => keys.get(kid).cloned().ok_or(TokenError::UnknownKey)?,
        };
        let expect = Expectations {
            audience: AUDIENCE,
            issuer: Some(ISSUER),
            leeway_secs: LEEWAY_SECS,
        };
        let claims: AccessClaims = verify::decode(token, &header, &key, &expect)?;
        if claims.sid.is_empty() || claims.sub.is_empty() {
            return Err(TokenError::BadClaims(
                "sub and sid must not be empty".to_owned(),
            ));
        }
        Ok(claims)
    }
}
