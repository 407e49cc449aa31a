//! Verifying Supabase Auth access tokens.
//!
//! New Supabase projects sign with asymmetric keys published at
//! `<SUPABASE_URL>/auth/v1/.well-known/jwks.json` (ES256, sometimes RS256 or
//! EdDSA); older ones with the HS256 project secret. Either or both may be
//! configured. The legacy secret can mint a token for any role, so services
//! that only need to *read* Supabase tokens (realtime) should prefer JWKS.
//!
//! Accepted: a valid signature, `exp` within 30 s of leeway, `nbf` if present,
//! `aud = authenticated`, the project's issuer when known, and
//! `role = authenticated`.

use std::time::Duration;

use anyhow::bail;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use crate::jwks::{DEFAULT_MAX_AGE, DEFAULT_MIN_REFETCH_INTERVAL, JwksCache};
use crate::verify::{self, Expectations};
use crate::{TokenError, VerificationKey};

/// The audience and role Supabase gives signed-in users.
pub const AUTHENTICATED: &str = "authenticated";
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;

/// Where Supabase keys come from.
#[derive(Clone, Default)]
pub struct SupabaseConfig {
    /// JWKS URL (from `SUPABASE_JWKS_URL`, else derived from `SUPABASE_URL`).
    pub jwks_url: Option<String>,
    /// Legacy HS256 project secret (`SUPABASE_JWT_SECRET`).
    pub jwt_secret: Option<String>,
    /// Expected `iss` (`<SUPABASE_URL>/auth/v1`), when `SUPABASE_URL` is known.
    pub issuer: Option<String>,
    /// How often an unknown `kid` may trigger a refetch.
    pub min_refetch_interval: Option<Duration>,
}

impl std::fmt::Debug for SupabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupabaseConfig")
            .field(
                "jwks_url",
                &self.jwks_url.as_deref().map(nexus_common::redact::url),
            )
            .field(
                "jwt_secret",
                &nexus_common::redact::presence(self.jwt_secret.as_ref()),
            )
            .field("issuer", &self.issuer)
            .finish()
    }
}

impl SupabaseConfig {
    /// From `SUPABASE_URL`, `SUPABASE_JWKS_URL` and `SUPABASE_JWT_SECRET`;
    /// an error naming them when none is set.
    pub fn from_env() -> anyhow::Result<Self> {
        use nexus_common::config::optional;
        Self::from_values(
            optional("SUPABASE_URL").as_deref(),
            optional("SUPABASE_JWKS_URL"),
            optional("SUPABASE_JWT_SECRET"),
        )
    }

    pub fn from_values(
        supabase_url: Option<&str>,
        jwks_url: Option<String>,
        jwt_secret: Option<String>,
    ) -> anyhow::Result<Self> {
        let issuer = supabase_url.map(|url| format!("{}/auth/v1", url.trim_end_matches('/')));
        let jwks_url = jwks_url.or_else(|| {
            issuer
                .as_ref()
                .map(|issuer| format!("{issuer}/.well-known/jwks.json"))
        });
        if jwks_url.is_none() && jwt_secret.is_none() {
            bail!(
                "no way to verify Supabase tokens: set SUPABASE_URL (or SUPABASE_JWKS_URL) for \
                 the project's signing keys, or SUPABASE_JWT_SECRET for a legacy HS256 project"
            );
        }
        Ok(Self {
            jwks_url,
            jwt_secret,
            issuer,
            min_refetch_interval: None,
        })
    }
}

/// The claims of a Supabase access token that the backend uses.
#[derive(Debug, Clone, Deserialize)]
pub struct SupabaseClaims {
    /// The Supabase user id (UUID).
    pub sub: String,
    /// The Supabase session this token belongs to (present on real tokens).
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    pub exp: i64,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub iss: Option<String>,
    #[serde(default)]
    pub user_metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub is_anonymous: bool,
}

impl SupabaseClaims {
    /// A display name from `user_metadata`, if the user set one.
    pub fn display_name(&self) -> Option<String> {
        ["full_name", "name", "user_name", "preferred_username"]
            .iter()
            .filter_map(|field| self.user_metadata.get(*field)?.as_str())
            .map(str::trim)
            .find(|name| !name.is_empty())
            .map(|name| name.chars().take(64).collect())
    }
}

/// Verifies Supabase access tokens with the configured keys.
pub struct SupabaseVerifier {
    jwks: Option<JwksCache>,
    hs256: Option<VerificationKey>,
    issuer: Option<String>,
}

impl std::fmt::Debug for SupabaseVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupabaseVerifier")
            .field("jwks", &self.jwks.as_ref().map(JwksCache::url))
            .field("hs256", &self.hs256.is_some())
            .field("issuer", &self.issuer)
            .finish()
    }
}

impl SupabaseVerifier {
    pub fn new(config: &SupabaseConfig) -> anyhow::Result<Self> {
        let jwks = config
            .jwks_url
            .as_ref()
            .map(|url| {
                JwksCache::with_intervals(
                    url.clone(),
                    config
                        .min_refetch_interval
                        .unwrap_or(DEFAULT_MIN_REFETCH_INTERVAL),
                    DEFAULT_MAX_AGE,
                )
            })
            .transpose()?;
        let hs256 = config.jwt_secret.as_ref().map(|secret| VerificationKey {
            key: std::sync::Arc::new(DecodingKey::from_secret(secret.as_bytes())),
            algorithm: Algorithm::HS256,
        });
        Ok(Self {
            jwks,
            hs256,
            issuer: config.issuer.clone(),
        })
    }

    /// Whether only the legacy secret is configured (worth a warning where the
    /// verifier only reads tokens: that secret can mint any role).
    pub fn uses_legacy_secret_only(&self) -> bool {
        self.jwks.is_none() && self.hs256.is_some()
    }

    /// The JWKS cache, for warming it at start.
    pub fn jwks(&self) -> Option<&JwksCache> {
        self.jwks.as_ref()
    }

    pub async fn verify(&self, token: &str) -> Result<SupabaseClaims, TokenError> {
        let header = verify::header(token)?;
        let key = match header.alg {
            Algorithm::HS256 => self
                .hs256
                .clone()
                .ok_or_else(|| TokenError::AlgorithmNotAllowed("HS256".to_owned()))?,
            Algorithm::HS384 | Algorithm::HS512 => {
                return Err(TokenError::AlgorithmNotAllowed(verify::algorithm_name(
                    header.alg,
                )));
            }
            _ => {
                let jwks = self.jwks.as_ref().ok_or_else(|| {
                    TokenError::AlgorithmNotAllowed(verify::algorithm_name(header.alg))
                })?;
                let kid = header.kid.as_deref().ok_or(TokenError::MissingKeyId)?;
                jwks.key(kid).await?
            }
        };
        let expect = Expectations {
            audience: AUTHENTICATED,
            issuer: self.issuer.as_deref(),
            leeway_secs: LEEWAY_SECS,
        };
        let claims: SupabaseClaims = verify::decode(token, &header, &key, &expect)?;
        if claims.role.as_deref() != Some(AUTHENTICATED) {
            return Err(TokenError::WrongRole);
        }
        if claims.sub.trim().is_empty() || claims.sub.len() > 255 {
            return Err(TokenError::BadClaims(
                "the sub claim is not a user id".to_owned(),
            ));
        }
        Ok(claims)
    }
}
