//! Signing backend access tokens and publishing their public keys (JWKS).
//!
//! Asymmetric keys (Ed25519 EdDSA or P-256 ES256) so realtime-service and
//! anything else can verify tokens from `/api/auth/.well-known/jwks.json`
//! without holding a secret. Each key's `kid` is its RFC 7638 thumbprint, so
//! the same PEM gives the same `kid` on every replica. The first configured key
//! signs; all are published and verify, so keys rotate without cutting anyone
//! off.

use std::path::Path;

use anyhow::Context;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use nexus_tokens::VerificationKey;
use nexus_tokens::access::{AUDIENCE, AccessClaims, AccessTokenVerifier, ISSUER};

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410); the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// One signing key with its public half.
struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
}

impl SigningKey {
    fn new(encoding: EncodingKey, algorithm: Algorithm) -> anyhow::Result<Self> {
        let mut jwk =
            Jwk::from_encoding_key(&encoding, algorithm).context("cannot derive the public key")?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .context("cannot compute the key thumbprint")?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).context("cannot build the verifying key")?;
        Ok(Self {
            kid,
            algorithm,
            encoding,
            decoding,
            jwk,
        })
    }

    fn from_pem(pem: &[u8]) -> anyhow::Result<Self> {
        if let Ok(encoding) = EncodingKey::from_ed_pem(pem) {
            return Self::new(encoding, Algorithm::EdDSA);
        }
        if let Ok(encoding) = EncodingKey::from_ec_pem(pem) {
            return Self::new(encoding, Algorithm::ES256)
                .context("only P-256 EC keys are supported (ES256)");
        }
        anyhow::bail!("not a PKCS#8 Ed25519 or P-256 private key")
    }

    fn ed25519_from_seed(seed: &[u8; 32]) -> anyhow::Result<Self> {
        let mut der = ED25519_PKCS8_PREFIX.to_vec();
        der.extend_from_slice(seed);
        Self::new(EncodingKey::from_ed_der(&der), Algorithm::EdDSA)
    }
}

/// The access-token keys: the first signs, all are published.
pub struct AccessKeys {
    keys: Vec<SigningKey>,
}

impl std::fmt::Debug for AccessKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|key| key.kid.as_str()).collect();
        f.debug_struct("AccessKeys").field("kids", &kids).finish()
    }
}

impl AccessKeys {
    /// Loads PEM files (PKCS#8 Ed25519 or P-256), in order.
    pub fn from_pem_files<P: AsRef<Path>>(paths: &[P]) -> anyhow::Result<Self> {
        let keys = paths
            .iter()
            .map(|path| {
                let path = path.as_ref();
                let pem = std::fs::read(path).with_context(|| {
                    format!("ACCESS_TOKEN_KEYS: cannot read {}", path.display())
                })?;
                SigningKey::from_pem(&pem).with_context(|| {
                    format!("ACCESS_TOKEN_KEYS: {} is not a usable key", path.display())
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!keys.is_empty(), "ACCESS_TOKEN_KEYS names no key file");
        Ok(Self { keys })
    }

    /// Keys from PEM texts (tests, or keys held elsewhere than files).
    pub fn from_pems(pems: &[&[u8]]) -> anyhow::Result<Self> {
        let keys = pems
            .iter()
            .map(|pem| SigningKey::from_pem(pem))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!keys.is_empty(), "no access-token key given");
        Ok(Self { keys })
    }

    /// A fresh random Ed25519 key: tokens die with the process and replicas
    /// would not accept each other's tokens.
    pub fn generate_dev() -> anyhow::Result<Self> {
        Ok(Self {
            keys: vec![SigningKey::ed25519_from_seed(&rand::random())?],
        })
    }

    /// The `kid` new tokens carry.
    pub fn signing_kid(&self) -> &str {
        &self.keys[0].kid
    }

    /// Signs the claims with the first key.
    pub fn sign(&self, claims: &AccessClaims) -> anyhow::Result<String> {
        let key = &self.keys[0];
        let mut header = Header::new(key.algorithm);
        header.kid = Some(key.kid.clone());
        header.typ = Some("JWT".to_owned());
        jsonwebtoken::encode(&header, claims, &key.encoding).context("cannot sign the access token")
    }

    /// The public keys as a JWK set (what `/.well-known/jwks.json` serves).
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().map(|key| key.jwk.clone()).collect(),
        }
    }

    /// Claims of one of our tokens whose signature, issuer and audience check
    /// out, even if it has expired (to carry the display name across a
    /// refresh). Never use this to authenticate.
    pub fn decode_ignoring_expiry(&self, token: &str) -> Option<AccessClaims> {
        if token.len() > nexus_domain::limits::MAX_TOKEN_BYTES {
            return None;
        }
        let header = jsonwebtoken::decode_header(token).ok()?;
        let key = self
            .keys
            .iter()
            .find(|key| Some(key.kid.as_str()) == header.kid.as_deref())?;
        let mut validation = Validation::new(key.algorithm);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }

    /// A verifier for our own tokens with the same checks every service uses.
    pub fn verifier(&self) -> anyhow::Result<AccessTokenVerifier> {
        let keys = self
            .keys
            .iter()
            .map(|key| {
                VerificationKey::from_jwk(&key.jwk)
                    .map(|verification| (key.kid.clone(), verification))
                    .with_context(|| format!("key {} cannot verify", key.kid))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(AccessTokenVerifier::from_keys(keys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AccessClaims {
        let now = chrono::Utc::now().timestamp();
        AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: "user-1".to_owned(),
            sid: "session-1".to_owned(),
            iat: now,
            exp: now + 900,
            jti: "j".to_owned(),
            name: Some("Ada".to_owned()),
        }
    }

    #[tokio::test]
    async fn signed_tokens_verify_with_the_published_keys() {
        let keys = AccessKeys::generate_dev().expect("dev key");
        let token = keys.sign(&claims()).expect("signs");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.kid.as_deref(), Some(keys.signing_kid()));
        assert_eq!(header.alg, Algorithm::EdDSA);
        let jwks = keys.jwks();
        let verifier =
            AccessTokenVerifier::from_keys(jwks.keys.iter().filter_map(|jwk| {
                Some((jwk.common.key_id.clone()?, VerificationKey::from_jwk(jwk)?))
            }));
        assert_eq!(verifier.verify(&token).await.expect("verifies"), claims());
    }

    #[test]
    fn expired_tokens_still_decode_for_their_name_but_not_foreign_ones() {
        let keys = AccessKeys::generate_dev().expect("dev key");
        let mut old = claims();
        old.exp -= 10_000;
        let token = keys.sign(&old).expect("signs");
        assert_eq!(keys.decode_ignoring_expiry(&token), Some(old));
        let other = AccessKeys::generate_dev().expect("dev key");
        assert_eq!(other.decode_ignoring_expiry(&token), None);
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint_and_stable() {
        let seed = [7u8; 32];
        let a = SigningKey::ed25519_from_seed(&seed).expect("key");
        let b = SigningKey::ed25519_from_seed(&seed).expect("key");
        assert_eq!(a.kid, b.kid);
        assert_eq!(a.kid.len(), 43, "base64url SHA-256");
        assert_eq!(
            a.jwk.thumbprint(ThumbprintHash::SHA256).ok().as_deref(),
            Some(a.kid.as_str())
        );
    }

    #[test]
    fn jwks_holds_no_private_material() {
        let keys = AccessKeys::generate_dev().expect("dev key");
        let json = serde_json::to_value(keys.jwks()).expect("json");
        let key = &json["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert!(key.get("d").is_none());
    }

    #[test]
    fn garbage_pem_is_refused() {
        assert!(
            AccessKeys::from_pems(&[
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            ])
            .is_err()
        );
    }
}
