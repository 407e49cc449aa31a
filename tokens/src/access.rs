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
use crate::verify::{self, Expectations, Expiry};
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
        self.check(token, Expiry::Enforced).await
    }

    /// The claims of a token whose signature, algorithm, issuer and audience
    /// check out, even if it has expired: to carry a display name across a
    /// refresh, when the previous access token has usually just expired.
    /// Never use this to authenticate.
    pub async fn read_ignoring_expiry(&self, token: &str) -> Result<AccessClaims, TokenError> {
        self.check(token, Expiry::Ignored).await
    }

    async fn check(&self, token: &str, expiry: Expiry) -> Result<AccessClaims, TokenError> {
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
        let claims: AccessClaims = verify::decode_with(token, &header, &key, &expect, expiry)?;
        if claims.sid.is_empty() || claims.sub.is_empty() {
            return Err(TokenError::BadClaims(
                "sub and sid must not be empty".to_owned(),
            ));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{EncodingKey, Header};

    use super::*;

    /// A deterministic Ed25519 key (PKCS#8 v1 DER) and its verifying key.
    fn key(seed: u8) -> (EncodingKey, VerificationKey) {
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&[seed; 32]);
        let encoding = EncodingKey::from_ed_der(&der);
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA).expect("public key");
        let verifying = VerificationKey::from_jwk(&jwk).expect("usable key");
        (encoding, verifying)
    }

    fn claims(exp_in: i64) -> AccessClaims {
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_secs(),
        )
        .expect("time");
        AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: "user-1".into(),
            sid: "session-1".into(),
            iat: now - 3600,
            exp: now + exp_in,
            jti: "j1".into(),
            name: Some("Ada".into()),
        }
    }

    fn sign(key: &EncodingKey, kid: &str, claims: &AccessClaims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, key).expect("signable")
    }

    #[tokio::test]
    async fn an_expired_token_is_read_but_never_verified() {
        let (signing, verifying) = key(1);
        let verifier = AccessTokenVerifier::from_keys([("k1".to_owned(), verifying)]);
        let expired = claims(-600);
        let token = sign(&signing, "k1", &expired);
        assert_eq!(verifier.verify(&token).await, Err(TokenError::Expired));
        assert_eq!(
            verifier.read_ignoring_expiry(&token).await,
            Ok(expired),
            "signature, issuer and audience hold: readable for its name"
        );
    }

    #[tokio::test]
    async fn reading_still_checks_key_signature_audience_and_issuer() {
        let (signing, verifying) = key(1);
        let (other, _) = key(2);
        let verifier = AccessTokenVerifier::from_keys([("k1".to_owned(), verifying)]);
        let expired = claims(-600);

        let unknown_kid = sign(&signing, "k2", &expired);
        assert_eq!(
            verifier.read_ignoring_expiry(&unknown_kid).await,
            Err(TokenError::UnknownKey)
        );
        let forged = sign(&other, "k1", &expired);
        assert_eq!(
            verifier.read_ignoring_expiry(&forged).await,
            Err(TokenError::BadSignature)
        );
        let mut foreign = expired.clone();
        foreign.aud = "someone-else".into();
        assert_eq!(
            verifier
                .read_ignoring_expiry(&sign(&signing, "k1", &foreign))
                .await,
            Err(TokenError::WrongAudience)
        );
        let mut foreign = expired;
        foreign.iss = "someone-else".into();
        assert_eq!(
            verifier
                .read_ignoring_expiry(&sign(&signing, "k1", &foreign))
                .await,
            Err(TokenError::WrongIssuer)
        );
        let hs256 = jsonwebtoken::encode(
            &Header {
                kid: Some("k1".into()),
                ..Header::new(Algorithm::HS256)
            },
            &claims(600),
            &EncodingKey::from_secret(b"a-secret-of-enough-length-for-hs256"),
        )
        .expect("signable");
        assert!(matches!(
            verifier.read_ignoring_expiry(&hs256).await,
            Err(TokenError::AlgorithmNotAllowed(_))
        ));
    }
}
