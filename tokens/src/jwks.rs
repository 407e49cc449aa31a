//! A cached JSON Web Key Set fetched over HTTP.
//!
//! Keys are looked up by `kid`. A `kid` the cache does not know triggers one
//! refetch (single-flight: concurrent misses wait for the same request), but
//! never more often than `min_refetch_interval` (30 s for Supabase), so a flood
//! of tokens with made-up `kid`s cannot turn into a flood of requests to the
//! key server. Keys older than `max_age` are served as they are while ONE
//! background refresh runs (stale-while-revalidate): a slow key server must
//! not stall every verification, and one that is down must not log everyone
//! out. The document is capped at [`MAX_DOCUMENT_BYTES`], so a hostile or
//! broken key server cannot make the service buffer gigabytes.
//!
//! Each key's algorithm is decided here, from the key itself (EC P-256 -> ES256,
//! Ed25519 -> EdDSA, RSA -> RS256 unless the JWK names another RSA algorithm).
//! Symmetric keys in a JWKS are ignored: an HMAC key must never be reachable
//! through a public key set.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;

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

/// Largest JWKS document accepted (a real one is a few KB).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// A JWKS fetched from `url`, cached and refreshed as described above.
/// Cheap to share: the state lives behind one `Arc` so a background refresh
/// can outlive the lookup that started it.
pub struct JwksCache {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    http: reqwest::Client,
    min_refetch_interval: Duration,
    max_age: Duration,
    cached: RwLock<Cached>,
    /// Serialises fetches so concurrent misses cause one request.
    fetching: Mutex<()>,
    /// Whether a background refresh of stale keys is under way.
    refreshing: AtomicBool,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &nexus_common::redact::url(&self.inner.url))
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
            inner: Arc::new(Inner {
                url: url.into(),
                http,
                min_refetch_interval,
                max_age,
                cached: RwLock::new(Cached::default()),
                fetching: Mutex::new(()),
                refreshing: AtomicBool::new(false),
            }),
        })
    }

    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The key named `kid`, fetching the set when it is unknown.
    pub async fn key(&self, kid: &str) -> Result<VerificationKey, TokenError> {
        {
            let cached = self.inner.cached.read().await;
            if let Some(key) = cached.keys.get(kid) {
                if is_stale(cached.fetched_at, self.inner.max_age) {
                    self.refresh_in_background(cached.last_attempt);
                }
                return Ok(key.clone());
            }
        }
        let inner = &self.inner;
        let _fetching = inner.fetching.lock().await;
        // Another task may have fetched while we waited.
        let (known, last_attempt, has_keys) = {
            let cached = inner.cached.read().await;
            (
                cached.keys.get(kid).cloned(),
                cached.last_attempt,
                !cached.keys.is_empty(),
            )
        };
        if let Some(key) = known {
            return Ok(key);
        }
        if may_fetch(last_attempt, inner.min_refetch_interval)
            && let Err(error) = inner.fetch().await
        {
            tracing::warn!(url = %nexus_common::redact::url(&inner.url), %error, "JWKS fetch failed");
            if !has_keys {
                return Err(TokenError::KeysUnavailable);
            }
        }
        let cached = inner.cached.read().await;
        cached.keys.get(kid).cloned().ok_or(TokenError::UnknownKey)
    }

    /// Starts one refresh of stale keys unless one is already under way or
    /// the last attempt was too recent (a down key server is not hammered).
    fn refresh_in_background(&self, last_attempt: Option<Instant>) {
        if !may_fetch(last_attempt, self.inner.min_refetch_interval)
            || self.inner.refreshing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            {
                let _fetching = inner.fetching.lock().await;
                if let Err(error) = inner.fetch().await {
                    tracing::warn!(url = %nexus_common::redact::url(&inner.url), %error, "JWKS refresh failed; keeping the cached keys");
                }
            }
            inner.refreshing.store(false, Ordering::Release);
        });
    }

    /// Fetches the set now (e.g. at start, to fail fast on a wrong URL).
    pub async fn refresh(&self) -> anyhow::Result<usize> {
        let _fetching = self.inner.fetching.lock().await;
        self.inner.fetch().await?;
        Ok(self.inner.cached.read().await.keys.len())
    }
}

impl Inner {
    async fn fetch(&self) -> anyhow::Result<()> {
        self.cached.write().await.last_attempt = Some(Instant::now());
        let mut response = self.http.get(&self.url).send().await?.error_for_status()?;
        if response
            .content_length()
            .is_some_and(|length| length > MAX_DOCUMENT_BYTES as u64)
        {
            bail!("the JWKS document is larger than {MAX_DOCUMENT_BYTES} bytes");
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                bail!("the JWKS document is larger than {MAX_DOCUMENT_BYTES} bytes");
            }
            body.extend_from_slice(&chunk);
        }
        let document: serde_json::Value = serde_json::from_slice(&body)?;
        let keys = parse_key_set(&document);
        tracing::debug!(keys = keys.len(), "JWKS fetched");
        let mut cached = self.cached.write().await;
        cached.keys = keys;
        cached.fetched_at = Some(Instant::now());
        Ok(())
    }
}

fn may_fetch(last_attempt: Option<Instant>, min_interval: Duration) -> bool {
    last_attempt.is_none_or(|at| at.elapsed() >= min_interval)
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
