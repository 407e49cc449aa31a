//! Room grants: short-lived HS256 JWTs, signed by the app that owns group
//! membership, saying "user `sub` may join `room` until `exp`"; and the one
//! claim realtime-service reads from a token before verifying it (`iss`, to
//! pick a verifier).
//!
//! Both go through the crate's hardened path (`verify`): the size
//! cap and shape checks before any parsing, the algorithm fixed by the key
//! (HS256; the header's `alg` must equal it), the key picked by the header's
//! `kid`. Grants have no audience (they are for one room, named in the
//! claims); what the claims must say about user and room is the caller's
//! check, since only it knows who is joining what.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::bail;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::verify;
use crate::{TokenError, VerificationKey};
use nexus_domain::limits::MAX_TOKEN_BYTES;

/// Grants may live at most this long (a longer `exp - iat` is refused).
pub const MAX_GRANT_LIFETIME_SECS: i64 = 3600;
/// Grants larger than this are refused before any parsing (a real grant is
/// about 250 bytes).
pub const MAX_GRANT_BYTES: usize = 4096;
/// Clock skew allowed at the edges of a grant's life.
const LEEWAY_SECS: u64 = 5;
/// Shortest accepted HMAC secret.
const MIN_SECRET_BYTES: usize = 32;

/// What a verified grant says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GrantClaims {
    pub sub: String,
    pub room: String,
    /// Unix seconds.
    pub exp: i64,
    #[serde(default)]
    pub iat: Option<i64>,
}

/// HS256 verification keys for room grants, by `kid`, so the signer can
/// rotate keys.
#[derive(Clone, Default)]
pub struct GrantVerifier(Arc<HashMap<String, VerificationKey>>);

impl std::fmt::Debug for GrantVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GrantVerifier({} keys)", self.0.len())
    }
}

impl GrantVerifier {
    /// Parses `kid:secret,kid2:secret2`; secrets must be at least 32 bytes.
    /// `None` gives no keys (every grant is then refused).
    pub fn parse(raw: Option<&str>) -> anyhow::Result<Self> {
        let Some(raw) = raw else {
            return Ok(Self::default());
        };
        let mut keys = HashMap::new();
        for item in nexus_common::config::split_list(raw) {
            let Some((kid, secret)) = item.split_once(':') else {
                bail!("each item must look like kid:secret");
            };
            if kid.is_empty() || secret.len() < MIN_SECRET_BYTES {
                bail!("key {kid:?}: the kid must not be empty and the secret needs 32+ bytes");
            }
            let key = VerificationKey {
                key: Arc::new(DecodingKey::from_secret(secret.as_bytes())),
                algorithm: Algorithm::HS256,
            };
            keys.insert(kid.to_owned(), key);
        }
        Ok(Self(Arc::new(keys)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Verifies signature, `exp` (with leeway) and the lifetime cap, and
    /// returns the claims.
    pub fn verify(&self, grant: &str) -> Result<GrantClaims, TokenError> {
        if grant.len() > MAX_GRANT_BYTES {
            return Err(TokenError::TooLarge);
        }
        let header = verify::header(grant)?;
        let key = header
            .kid
            .as_deref()
            .ok_or(TokenError::MissingKeyId)
            .and_then(|kid| self.0.get(kid).ok_or(TokenError::UnknownKey))?;
        if header.alg != key.algorithm {
            return Err(TokenError::AlgorithmNotAllowed(verify::algorithm_name(
                header.alg,
            )));
        }
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims = jsonwebtoken::decode::<GrantClaims>(grant.trim(), &key.key, &validation)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => {
                    TokenError::BadClaims("the grant does not have the expected claims".to_owned())
                }
                _ => TokenError::Malformed,
            })?
            .claims;
        if let Some(iat) = claims.iat
            && claims.exp.saturating_sub(iat) > MAX_GRANT_LIFETIME_SECS
        {
            return Err(TokenError::BadClaims(format!(
                "a grant may live at most {MAX_GRANT_LIFETIME_SECS} seconds"
            )));
        }
        Ok(claims)
    }
}

/// The `iss` claim read WITHOUT verification, only to pick the verifier
/// that then decides. Same size cap as every verified token; `None` for
/// anything that is not a three-part token with a JSON payload.
pub fn unverified_issuer(token: &str) -> Option<String> {
    let token = token.trim();
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    const SECRET: &str = "group-grant-secret-of-32-bytes-or-more!";

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }

    fn grant(kid: &str, algorithm: Algorithm, lifetime: i64, exp_in: i64) -> String {
        let mut header = Header::new(algorithm);
        header.kid = Some(kid.into());
        let claims = serde_json::json!({
            "sub": "u1", "room": "group:7", "iat": now() + exp_in - lifetime, "exp": now() + exp_in
        });
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("signable")
    }

    #[test]
    fn a_grant_is_verified_by_its_kid_and_its_claims_returned() {
        let keys = GrantVerifier::parse(Some(&format!("g1:{SECRET}"))).expect("keys");
        let claims = keys
            .verify(&grant("g1", Algorithm::HS256, 60, 60))
            .expect("valid");
        assert_eq!(
            (claims.sub.as_str(), claims.room.as_str()),
            ("u1", "group:7")
        );
        assert_eq!(
            keys.verify(&grant("g2", Algorithm::HS256, 60, 60)),
            Err(TokenError::UnknownKey)
        );
        assert!(matches!(
            keys.verify(&grant("g1", Algorithm::HS384, 60, 60)),
            Err(TokenError::AlgorithmNotAllowed(_))
        ));
        assert_eq!(
            keys.verify(&grant("g1", Algorithm::HS256, 60, -60)),
            Err(TokenError::Expired)
        );
        assert!(matches!(
            keys.verify(&grant("g1", Algorithm::HS256, 86_400, 60)),
            Err(TokenError::BadClaims(_))
        ));
        assert_eq!(
            keys.verify(&"a".repeat(MAX_GRANT_BYTES + 1)),
            Err(TokenError::TooLarge)
        );
        assert!(
            GrantVerifier::default()
                .verify(&grant("g1", Algorithm::HS256, 60, 60))
                .is_err()
        );
    }

    #[test]
    fn weak_or_malformed_keys_are_refused() {
        assert!(GrantVerifier::parse(Some("g1:short")).is_err());
        assert!(GrantVerifier::parse(Some("nocolon")).is_err());
        assert!(GrantVerifier::parse(None).expect("no keys").is_empty());
    }

    #[test]
    fn issuer_is_read_without_verifying_within_the_size_cap() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"iss":"nexus-auth","sub":"u"}"#);
        assert_eq!(
            unverified_issuer(&format!("e30.{payload}.sig")).as_deref(),
            Some("nexus-auth")
        );
        assert_eq!(unverified_issuer("garbage"), None);
        assert_eq!(unverified_issuer("a.%%%.c"), None);
        assert_eq!(unverified_issuer(&format!("e30.{payload}.sig.extra")), None);
        let padding = "A".repeat(MAX_TOKEN_BYTES);
        assert_eq!(unverified_issuer(&format!("e30.{payload}.{padding}")), None);
    }
}
