//! Refresh tokens: derived, not stored.
//!
//! Format (every part base64url without padding or plain ASCII, joined by dots):
//!
//! ```text
//! nxr1.<kid>.<session_id>.<generation>.<inner>.<tag>
//! inner = HMAC-SHA256(K_inner(kid), "nxr1/inner" | generation | refresh_secret)
//! tag   = HMAC-SHA256(K_tag(kid), "nxr1.<kid>.<sid>.<gen>.<inner>")
//! hash  = SHA-256 hex of "nxr1.<kid>.<gen>.<inner>"   (what session-store stores)
//! ```
//!
//! The session id is bound by the outer tag and, through the per-session
//! random secret, by `inner`; it is left out of `inner` and of the stored hash
//! because session-store assigns the id in the same call that must already
//! receive the hash of generation 1. The stored hash covers everything in the
//! token that is not recomputable from the rest (sid is the lookup key, the tag
//! is a function of the other parts).
//!
//! `K_inner` and `K_tag` are derived from the configured secret of `kid` with
//! distinct labels, so the two MACs never share a key. Why this shape:
//! - the outer tag needs only our keys, so a forged or truncated token is
//!   refused before any session-store call;
//! - `inner` also needs the per-session secret session-store keeps, so neither
//!   a leaked database (secret, hashes) nor a leaked key alone can mint tokens;
//! - the token for any (session, generation) can be recomputed, so concurrent
//!   refreshes from several tabs can all be handed the same current token and
//!   the database only ever stores SHA-256 hashes;
//! - `kid` names the key, so keys rotate (new first, old still verifying)
//!   without logging anyone out.
//!
//! A key id this replica does not hold is NOT proof that a token is dead:
//! during a rolling change of `REFRESH_TOKEN_KEYS` another replica may already
//! derive with a key this one has not been given yet. Only a key id listed in
//! `REFRESH_TOKEN_RETIRED_KEYS` ends sessions; any other unknown id is
//! [`RefreshTokenError::UnknownKey`], which callers answer with "retry" (503).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::{Generation, RefreshSecret, SessionId, TokenHash};

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "nxr1";
const INNER_LABEL: &[u8] = b"nexus refresh-token v1 inner key";
const TAG_LABEL: &[u8] = b"nexus refresh-token v1 tag key";
const INNER_DOMAIN: &[u8] = b"nxr1/inner";
/// Shortest configured secret accepted.
pub const MIN_SECRET_LEN: usize = 32;
/// Longest token accepted before any parsing work.
const MAX_TOKEN_LEN: usize = 512;

/// A refresh-key id: 1 to 32 of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefreshKeyId(String);

impl RefreshKeyId {
    pub fn parse(raw: &str) -> Result<Self, RefreshKeyError> {
        let ok = !raw.is_empty()
            && raw.len() <= 32
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(RefreshKeyError::BadKeyId(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RefreshKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why `REFRESH_TOKEN_KEYS` was refused. Never carries the secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RefreshKeyError {
    #[error("REFRESH_TOKEN_KEYS item {0} is not of the form kid:secret")]
    NotAPair(usize),
    #[error("refresh key id {0:?} must be 1-32 characters of A-Z a-z 0-9 _ -")]
    BadKeyId(String),
    #[error("refresh key {0:?}: the secret must be at least {MIN_SECRET_LEN} bytes")]
    ShortSecret(String),
    #[error("refresh key id {0:?} appears twice")]
    DuplicateKeyId(String),
    #[error("REFRESH_TOKEN_KEYS holds no key")]
    Empty,
    #[error("refresh key id {0:?} is both configured and listed as retired")]
    RetiredButConfigured(String),
}

/// Why a presented refresh token was refused before touching session-store.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RefreshTokenError {
    #[error("refresh token is malformed")]
    Malformed,
    #[error("refresh token was derived with a key this replica does not hold (yet)")]
    UnknownKey,
    #[error("refresh token was derived with a retired key")]
    RetiredKey,
    #[error("refresh token signature is invalid")]
    BadTag,
}

struct RefreshKey {
    id: RefreshKeyId,
    inner_key: [u8; 32],
    tag_key: [u8; 32],
}

impl RefreshKey {
    fn new(id: RefreshKeyId, secret: &[u8]) -> Self {
        Self {
            id,
            inner_key: derive(secret, INNER_LABEL),
            tag_key: derive(secret, TAG_LABEL),
        }
    }

    fn inner(&self, generation: Generation, secret: &RefreshSecret) -> [u8; 32] {
        let mut mac = hmac(&self.inner_key);
        mac.update(INNER_DOMAIN);
        mac.update(&generation.get().to_be_bytes());
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn tag(&self, signed_part: &str) -> HmacSha256 {
        let mut mac = hmac(&self.tag_key);
        mac.update(signed_part.as_bytes());
        mac
    }
}

fn hmac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = hmac(secret);
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// The configured refresh keys; the first derives new tokens, all verify.
/// Retired key ids are known to be gone for good.
pub struct RefreshKeyring {
    keys: Vec<RefreshKey>,
    retired: Vec<String>,
}

impl fmt::Debug for RefreshKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|key| key.id.as_str()).collect();
        f.debug_struct("RefreshKeyring")
            .field("key_ids", &ids)
            .field("retired", &self.retired)
            .finish()
    }
}

impl RefreshKeyring {
    /// Parses `kid:secret,kid:secret` (the secret is everything after the
    /// first colon, at least 32 bytes).
    pub fn parse(raw: &str) -> Result<Self, RefreshKeyError> {
        let mut keys: Vec<RefreshKey> = Vec::new();
        for (index, item) in nexus_common::config::split_list(raw).iter().enumerate() {
            let (kid, secret) = item
                .split_once(':')
                .ok_or(RefreshKeyError::NotAPair(index + 1))?;
            let kid = RefreshKeyId::parse(kid.trim())?;
            if secret.len() < MIN_SECRET_LEN {
                return Err(RefreshKeyError::ShortSecret(kid.0));
            }
            if keys.iter().any(|key| key.id == kid) {
                return Err(RefreshKeyError::DuplicateKeyId(kid.0));
            }
            keys.push(RefreshKey::new(kid, secret.as_bytes()));
        }
        if keys.is_empty() {
            return Err(RefreshKeyError::Empty);
        }
        Ok(Self {
            keys,
            retired: Vec::new(),
        })
    }

    /// Marks key ids as retired (`REFRESH_TOKEN_RETIRED_KEYS`): sessions whose
    /// current token uses one are replaced at the next bridge, their tokens
    /// refused as invalid. A retired id must not also be configured.
    pub fn with_retired(mut self, retired: &[String]) -> Result<Self, RefreshKeyError> {
        for id in retired {
            let id = RefreshKeyId::parse(id.trim())?;
            if self.key(id.as_str()).is_some() {
                return Err(RefreshKeyError::RetiredButConfigured(id.0));
            }
            self.retired.push(id.0);
        }
        Ok(self)
    }

    /// Whether `kid` is listed as retired.
    pub fn is_retired(&self, kid: &str) -> bool {
        self.retired.iter().any(|retired| retired == kid)
    }

    /// Why a key id cannot be used here: retired for good, or not known yet.
    pub fn missing_key(&self, kid: &str) -> RefreshTokenError {
        if self.is_retired(kid) {
            RefreshTokenError::RetiredKey
        } else {
            RefreshTokenError::UnknownKey
        }
    }

    /// A random development key (id `dev-<random>`): tokens die with the
    /// process and replicas cannot read each other's tokens.
    pub fn generate_dev() -> Self {
        let secret: [u8; 32] = rand::random();
        let id = format!("dev-{}", &hex::encode(rand::random::<[u8; 4]>()));
        let id = RefreshKeyId(id);
        Self {
            keys: vec![RefreshKey::new(id, &secret)],
            retired: Vec::new(),
        }
    }

    /// The key id new tokens are derived with.
    pub fn current_key_id(&self) -> &RefreshKeyId {
        &self.keys[0].id
    }

    fn key(&self, kid: &str) -> Option<&RefreshKey> {
        self.keys.iter().find(|key| key.id.as_str() == kid)
    }

    /// The token of `generation` of `session` under key `kid`; `None` when
    /// that key is no longer configured.
    pub fn derive(
        &self,
        kid: &str,
        session: &SessionId,
        generation: Generation,
        secret: &RefreshSecret,
    ) -> Option<RefreshToken> {
        self.key(kid)
            .map(|key| derive_with(key, session, generation, secret))
    }

    /// A token of the current key.
    pub fn derive_current(
        &self,
        session: &SessionId,
        generation: Generation,
        secret: &RefreshSecret,
    ) -> RefreshToken {
        derive_with(&self.keys[0], session, generation, secret)
    }

    /// The stored hash of the current key's token of `generation`, computable
    /// before the session id is known (the bridge needs it for CreateSession).
    pub fn current_hash(&self, generation: Generation, secret: &RefreshSecret) -> TokenHash {
        let key = &self.keys[0];
        let inner = URL_SAFE_NO_PAD.encode(key.inner(generation, secret));
        stored_hash(key.id.as_str(), generation, &inner)
    }

    /// Checks the shape and the outer tag; no session-store call needed.
    pub fn open(&self, raw: &str) -> Result<PresentedRefreshToken, RefreshTokenError> {
        if raw.len() > MAX_TOKEN_LEN || !raw.is_ascii() {
            return Err(RefreshTokenError::Malformed);
        }
        let (signed, tag) = raw.rsplit_once('.').ok_or(RefreshTokenError::Malformed)?;
        let parts: Vec<&str> = signed.split('.').collect();
        let [prefix, kid, session, generation, inner] = parts.as_slice() else {
            return Err(RefreshTokenError::Malformed);
        };
        if *prefix != PREFIX {
            return Err(RefreshTokenError::Malformed);
        }
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| RefreshTokenError::Malformed)?;
        let inner = URL_SAFE_NO_PAD
            .decode(inner)
            .map_err(|_| RefreshTokenError::Malformed)?;
        let inner: [u8; 32] = inner.try_into().map_err(|_| RefreshTokenError::Malformed)?;
        let key = self.key(kid).ok_or_else(|| self.missing_key(kid))?;
        key.tag(signed)
            .verify_slice(&tag)
            .map_err(|_| RefreshTokenError::BadTag)?;
        let inner_b64 = URL_SAFE_NO_PAD.encode(inner);
        // The tag is ours: the remaining parts were written by us.
        let session = SessionId::parse(session).map_err(|_| RefreshTokenError::Malformed)?;
        let generation = generation
            .parse::<u64>()
            .ok()
            .and_then(Generation::new)
            .ok_or(RefreshTokenError::Malformed)?;
        Ok(PresentedRefreshToken {
            key_id: key.id.clone(),
            session,
            generation,
            inner,
            hash: stored_hash(key.id.as_str(), generation, &inner_b64),
        })
    }

    /// Whether the presented token was derived from this session's secret
    /// (constant-time).
    pub fn matches_secret(
        &self,
        presented: &PresentedRefreshToken,
        secret: &RefreshSecret,
    ) -> bool {
        self.key(presented.key_id.as_str()).is_some_and(|key| {
            bool::from(
                key.inner(presented.generation, secret)
                    .ct_eq(&presented.inner),
            )
        })
    }
}

fn derive_with(
    key: &RefreshKey,
    session: &SessionId,
    generation: Generation,
    secret: &RefreshSecret,
) -> RefreshToken {
    let inner = URL_SAFE_NO_PAD.encode(key.inner(generation, secret));
    let signed = format!("{PREFIX}.{}.{session}.{generation}.{inner}", key.id);
    let tag = URL_SAFE_NO_PAD.encode(key.tag(&signed).finalize().into_bytes());
    RefreshToken {
        raw: format!("{signed}.{tag}"),
        hash: stored_hash(key.id.as_str(), generation, &inner),
    }
}

fn stored_hash(kid: &str, generation: Generation, inner_b64: &str) -> TokenHash {
    TokenHash::of(&format!("{PREFIX}.{kid}.{generation}.{inner_b64}"))
}

/// A refresh token whose tag checked out (its secret part not yet checked).
#[derive(Clone)]
pub struct PresentedRefreshToken {
    pub key_id: RefreshKeyId,
    pub session: SessionId,
    pub generation: Generation,
    inner: [u8; 32],
    pub hash: TokenHash,
}

impl fmt::Debug for PresentedRefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedRefreshToken")
            .field("key_id", &self.key_id)
            .field("session", &self.session)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A freshly derived refresh token. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    raw: String,
    hash: TokenHash,
}

impl RefreshToken {
    /// The raw token, for the cookie only.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// What session-store stores for this token.
    pub fn hash(&self) -> TokenHash {
        self.hash.clone()
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(raw: &str) -> RefreshKeyring {
        RefreshKeyring::parse(raw).expect("valid keys")
    }

    fn sid() -> SessionId {
        SessionId::parse("3f1c0b9e-2a4d-4f7e-9a1b-0c2d3e4f5a6b").expect("sid")
    }

    const K1: &str = "k1:0123456789abcdef0123456789abcdef";
    const K2: &str = "k2:fedcba9876543210fedcba9876543210";

    #[test]
    fn derived_tokens_open_and_match_their_secret() {
        let keys = ring(K1);
        let secret = RefreshSecret::random();
        let token = keys.derive_current(&sid(), Generation::FIRST, &secret);
        let opened = keys.open(token.expose()).expect("opens");
        assert_eq!(opened.session, sid());
        assert_eq!(opened.generation, Generation::FIRST);
        assert_eq!(opened.hash, token.hash());
        assert_eq!(keys.current_hash(Generation::FIRST, &secret), token.hash());
        assert!(keys.matches_secret(&opened, &secret));
        assert!(!keys.matches_secret(&opened, &RefreshSecret::random()));
    }

    #[test]
    fn derivation_is_deterministic_and_generation_bound() {
        let keys = ring(K1);
        let secret = RefreshSecret::random();
        let a = keys.derive_current(&sid(), Generation::FIRST, &secret);
        let b = keys.derive_current(&sid(), Generation::FIRST, &secret);
        let c = keys.derive_current(&sid(), Generation::FIRST.next().expect("2"), &secret);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn tampering_with_any_part_breaks_the_tag() {
        let keys = ring(K1);
        let token = keys.derive_current(&sid(), Generation::FIRST, &RefreshSecret::random());
        let raw = token.expose();
        let changed_generation = raw.replacen(".1.", ".2.", 1);
        assert_eq!(
            keys.open(&changed_generation).err(),
            Some(RefreshTokenError::BadTag)
        );
        let other_session = raw.replacen("3f1c0b9e", "3f1c0b9f", 1);
        assert_eq!(
            keys.open(&other_session).err(),
            Some(RefreshTokenError::BadTag)
        );
        let truncated = &raw[..raw.len() - 3];
        assert!(keys.open(truncated).is_err());
        assert_eq!(keys.open("").err(), Some(RefreshTokenError::Malformed));
        assert_eq!(
            keys.open("nxr1.a.b").err(),
            Some(RefreshTokenError::Malformed)
        );
    }

    #[test]
    fn unknown_key_ids_are_refused_and_rotation_keeps_old_tokens() {
        let old = ring(K1);
        let token = old.derive_current(&sid(), Generation::FIRST, &RefreshSecret::random());
        assert_eq!(
            ring(K2).open(token.expose()).err(),
            Some(RefreshTokenError::UnknownKey)
        );
        let rotated = ring(&format!("{K2},{K1}"));
        assert!(rotated.open(token.expose()).is_ok());
        assert_eq!(rotated.current_key_id().as_str(), "k2");
    }

    #[test]
    fn only_a_retired_key_id_is_dead_an_unknown_one_is_not_yet_known() {
        let token = ring(K2).derive_current(&sid(), Generation::FIRST, &RefreshSecret::random());
        let behind = ring(K1);
        assert_eq!(
            behind.open(token.expose()).err(),
            Some(RefreshTokenError::UnknownKey)
        );
        let retired = ring(K1)
            .with_retired(&["k2".to_owned()])
            .expect("k2 is not configured");
        assert_eq!(
            retired.open(token.expose()).err(),
            Some(RefreshTokenError::RetiredKey)
        );
        assert_eq!(
            ring(K1).with_retired(&["k1".to_owned()]).err(),
            Some(RefreshKeyError::RetiredButConfigured("k1".into()))
        );
    }

    #[test]
    fn same_key_id_with_another_secret_fails_the_tag() {
        let token = ring(K1).derive_current(&sid(), Generation::FIRST, &RefreshSecret::random());
        let impostor = ring("k1:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
        assert_eq!(
            impostor.open(token.expose()).err(),
            Some(RefreshTokenError::BadTag)
        );
    }

    #[test]
    fn bad_key_lists_are_explained_without_the_secret() {
        assert_eq!(
            RefreshKeyring::parse("k1").err(),
            Some(RefreshKeyError::NotAPair(1))
        );
        assert_eq!(
            RefreshKeyring::parse("k1:short").err(),
            Some(RefreshKeyError::ShortSecret("k1".into()))
        );
        assert_eq!(
            RefreshKeyring::parse("").err(),
            Some(RefreshKeyError::Empty)
        );
        assert_eq!(
            RefreshKeyring::parse(&format!("{K1},{K1}")).err(),
            Some(RefreshKeyError::DuplicateKeyId("k1".into()))
        );
        let message = RefreshKeyring::parse("k1:short")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!message.contains("short"));
    }
}
