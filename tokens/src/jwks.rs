//! A cached JSON Web Key Set fetched over HTTP.
//!
//! Keys are looked up by `kid`. A `kid` the cache does not know triggers one
//! refetch, but never more often than `min_refetch_interval` (30 s for Supabase),
//! so a flood of tokens with made-up `kid`s cannot turn into a flood of requests
//! to the key server. Keys older than `max_age` are refreshed on the next lookup;
//! if that fails the stale keys keep working (the key server being briefly down
//! must not log everyone out).
//!
//! Each key's algorithm is decided here, from the key itself (EC P-256 -> ES256,
//! Ed25519 -> EdDSA, RSA -> RS256 unless the JWK names another RSA algorithm).
//! Symmetric keys in a JWKS are ignored: an HMAC key must never be reachable
//! through a public key set.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::{Mutex, RwLock};

use crate::TokenError;

/// A public key and the one algorithm it may verify.
#[derive(Clone)]
pub struct VerificationKey {
    pub key: Arc<DecodingKey>,
    pub algorithm: Algorithm,
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl VerificationKey {
    /// The key of a JWK and its algorithm, or `None` for keys we never accept
    /// (symmetric, unknown curves, algorithm parameters that disagree).
    pub fn from_jwk(jwk: &Jwk) -> Option<Self> {
        let declared = jwk.common.key_algorithm;
        let algorithm = match &jwk.algorithm {
            AlgorithmParameters::EllipticCurve(params) => match params.curve {
                EllipticCurve::P256 => Algorithm::ES256,
                EllipticCurve::P384 => Algorithm::ES384,
                _ => return None,
            },
            AlgorithmParameters::OctetKeyPair(params) => match params.curve {
                EllipticCurve::Ed25519 => Algorithm::EdDSA,
                _ => return None,
            },
            AlgorithmParameters::RSA(_) => match declared {
                Some(KeyAlgorithm::RS384) => Algorithm::RS384,
                Some(KeyAlgorithm::RS512) => Algorithm::RS512,
                Some(KeyAlgorithm::PS256) => Algorithm::PS256,
                Some(KeyAlgorithm::PS384) => Algorithm::PS384,
                Some(KeyAlgorithm::PS512) => Algorithm::PS512,
                _ => Algorithm::RS256,
            },
            _ => return None,
        };
        if let Some(declared) = declared
            && !declared_matches(declared, algorithm)
        {
            return None;
        }
        let key = DecodingKey::from_jwk(jwk).ok()?;
        Some(Self {
            key: Arc::new(key),
            algorithm,
        })
    }
}

fn declared_matches(declared: KeyAlgorithm, algorithm: Algorithm) -> bool {
    declared.to_string() == format!("{algorithm:?}")
}

#[derive(Default)]
struct Cached {
    keys: HashMap<String, VerificationKey>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

/// A JWKS fetched from `url`, cached and refreshed as described above.
pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    min_refetch_interval: Duration,
    max_age: Duration,
    cached: RwLock<Cached>,
    /// Serialises fetches so concurrent misses cause one request.
    fetching: Mutex<()>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Default: refetch on an unknown `kid` at most every 30 s.
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Default: refresh keys older than 10 minutes.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);

impl JwksCache {
    pub fn new(url: impl Into<String>) -> anyhow::Result<Self> {
        Self::with_intervals(url, DEFAULT_MIN_REFETCH_INTERVAL, DEFAULT_MAX_AGE)
    }

    pub fn with_intervals(
        url: impl Into<String>,
        min_refetch_interval: Duration,
        max_age: Duration,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3))
            .build()?;
        Ok(Self {
            url: url.into(),
            http,
            min_refetch_interval,
            max_age,
            cached: RwLock::new(Cached::default()),
            fetching: Mutex::new(()),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key named `kid`, fetching the set when needed.
    pub async fn key(&self, kid: &str) -> Result<VerificationKey, TokenError> {
        {
            let cached = self.cached.read().await;
            if let Some(key) = cached.keys.get(kid)
                && !is_stale(cached.fetched_at, self.max_age)
            {
                return Ok(key.clone());
            }
        }
        let _fetching = self.fetching.lock().await;
        // Another task may have fetched while we waited.
        let (known, fetched_at, last_attempt, has_keys) = {
            let cached = self.cached.read().await;
            (
                cached.keys.get(kid).cloned(),
                cached.fetched_at,
                cached.last_attempt,
                !cached.keys.is_empty(),
            )
        };
        if let Some(key) = &known
            && !is_stale(fetched_at, self.max_age)
        {
            return Ok(key.clone());
        }
        let may_fetch = last_attempt.is_none_or(|at| at.elapsed() >= self.min_refetch_interval);
        if may_fetch {
            match self.fetch().await {
                Ok(()) => {}
                Err(error) => {
                    tracing::warn!(url = %self.url, %error, "JWKS fetch failed");
                    if known.is_none() && !has_keys {
                        return Err(TokenError::KeysUnavailable);
                    }
                }
            }
        }
        let cached = self.cached.read().await;
        cached.keys.get(kid).cloned().ok_or(TokenError::UnknownKey)
    }

    /// Fetches the set now (e.g. at start, to fail fast on a wrong URL).
    pub async fn refresh(&self) -> anyhow::Result<usize> {
        let _fetching = self.fetching.lock().await;
        self.fetch().await?;
        Ok(self.cached.read().await.keys.len())
    }

    async fn fetch(&self) -> anyhow::Result<()> {
        self.cached.write().await.last_attempt = Some(Instant::now());
        let body: serde_json::Value = self
            .http
            .get(&self.url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let keys = parse_key_set(&body);
        tracing::debug!(url = %self.url, keys = keys.len(), "JWKS fetched");
        let mut cached = self.cached.write().await;
        cached.keys = keys;
        cached.fetched_at = Some(Instant::now());
        Ok(())
    }
}

fn is_stale(fetched_at: Option<Instant>, max_age: Duration) -> bool {
    fetched_at.is_none_or(|at| at.elapsed() >= max_age)
}

/// The usable keys of a JWKS document, by `kid`. Keys without a `kid`, of an
/// unsupported kind, or that fail to parse are skipped one by one, so one odd
/// key does not hide the others.
pub fn parse_key_set(document: &serde_json::Value) -> HashMap<String, VerificationKey> {
    document
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|value| serde_json::from_value::<Jwk>(value.clone()).ok())
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            VerificationKey::from_jwk(&jwk).map(|key| (kid, key))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn symmetric_and_kidless_keys_are_ignored() {
        let document = json!({"keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "weird", "kid": "other"}
        ]});
        let keys = parse_key_set(&document);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys["ed"].algorithm, Algorithm::EdDSA);
    }

    #[test]
    fn declared_algorithm_must_match_the_key() {
        let document = json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "kid": "liar", "alg": "HS256",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        ]});
        assert!(parse_key_set(&document).is_empty());
    }
}
