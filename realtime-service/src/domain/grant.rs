//! Room grants: short-lived HS256 JWTs, signed by the app that owns group
//! membership, saying "user `sub` may join `room` until `exp`".
//!
//! Keys come from `ROOM_GRANT_KEYS` as a `kid:secret` list so the signer can
//! rotate keys (the header's `kid` picks the key). With no keys configured,
//! group rooms are closed: nobody can forge a grant for a key that does not
//! exist, and the client gets a clear error instead.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::bail;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::domain::ids::UserId;
use crate::domain::room::RoomName;

/// Grants may live at most this long (a longer `exp - iat` is refused).
pub const MAX_GRANT_LIFETIME_SECS: i64 = 3600;
const LEEWAY_SECS: u64 = 5;
const MAX_GRANT_BYTES: usize = 4096;

/// Verification keys for room grants, by `kid`.
#[derive(Clone, Default)]
pub struct GrantKeys(Arc<HashMap<String, DecodingKey>>);

impl std::fmt::Debug for GrantKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GrantKeys({} keys)", self.0.len())
    }
}

/// Why a grant was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum GrantError {
    #[error("group rooms are closed on this server (no ROOM_GRANT_KEYS configured)")]
    Closed,
    #[error("joining a group room needs a grant")]
    Missing,
    #[error("the grant is invalid or expired")]
    Invalid,
    #[error("the grant is for another user or room")]
    Mismatch,
    #[error("you are not a member of this group")]
    NotMember,
    #[error("group membership cannot be checked right now; retry")]
    Unavailable,
}

#[derive(Deserialize)]
struct GrantClaims {
    sub: String,
    room: String,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
}

impl GrantKeys {
    /// Parses `kid:secret,kid2:secret2`; secrets must be at least 32 bytes.
    pub fn parse(raw: Option<&str>) -> anyhow::Result<Self> {
        let Some(raw) = raw else {
            return Ok(Self::default());
        };
        let mut keys = HashMap::new();
        for item in nexus_common::config::split_list(raw) {
            let Some((kid, secret)) = item.split_once(':') else {
                bail!("each item must look like kid:secret");
            };
            if kid.is_empty() || secret.len() < 32 {
                bail!("key {kid:?}: the kid must not be empty and the secret needs 32+ bytes");
            }
            keys.insert(kid.to_owned(), DecodingKey::from_secret(secret.as_bytes()));
        }
        Ok(Self(Arc::new(keys)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks that `grant` lets `user` join `room`.
    pub fn verify(
        &self,
        grant: Option<&str>,
        user: &UserId,
        room: &RoomName,
    ) -> Result<(), GrantError> {
        self.verify_until(grant, user, room).map(|_| ())
    }

    /// Like [`Self::verify`], and returns the grant's `exp` (Unix seconds):
    /// the moment the member must leave unless a fresh grant extends it.
    pub fn verify_until(
        &self,
        grant: Option<&str>,
        user: &UserId,
        room: &RoomName,
    ) -> Result<i64, GrantError> {
        if self.0.is_empty() {
            return Err(GrantError::Closed);
        }
        let grant = grant
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .ok_or(GrantError::Missing)?;
        if grant.len() > MAX_GRANT_BYTES {
            return Err(GrantError::Invalid);
        }
        let header = jsonwebtoken::decode_header(grant).map_err(|_| GrantError::Invalid)?;
        if header.alg != Algorithm::HS256 {
            return Err(GrantError::Invalid);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.0.get(kid))
            .ok_or(GrantError::Invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims = jsonwebtoken::decode::<GrantClaims>(grant, key, &validation)
            .map_err(|_| GrantError::Invalid)?
            .claims;
        if let Some(iat) = claims.iat
            && claims.exp - iat > MAX_GRANT_LIFETIME_SECS
        {
            return Err(GrantError::Invalid);
        }
        if claims.sub != user.as_str() || claims.room != room.as_str() {
            return Err(GrantError::Mismatch);
        }
        Ok(claims.exp)
    }
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

    fn grant(kid: &str, secret: &str, sub: &str, room: &str, exp_in: i64) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.into());
        let claims =
            serde_json::json!({"sub": sub, "room": room, "iat": now(), "exp": now() + exp_in});
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("signable")
    }

    #[test]
    fn grants_are_checked_for_key_user_room_and_expiry() {
        let keys = GrantKeys::parse(Some(&format!("g1:{SECRET}"))).expect("keys");
        let user = UserId::parse("u1").expect("user");
        let room = RoomName::parse("group:7").expect("room");
        assert_eq!(
            keys.verify(
                Some(&grant("g1", SECRET, "u1", "group:7", 60)),
                &user,
                &room
            ),
            Ok(())
        );
        assert_eq!(keys.verify(None, &user, &room), Err(GrantError::Missing));
        assert_eq!(
            keys.verify(
                Some(&grant("g1", SECRET, "u2", "group:7", 60)),
                &user,
                &room
            ),
            Err(GrantError::Mismatch)
        );
        assert_eq!(
            keys.verify(
                Some(&grant("g1", SECRET, "u1", "group:8", 60)),
                &user,
                &room
            ),
            Err(GrantError::Mismatch)
        );
        assert_eq!(
            keys.verify(
                Some(&grant("g1", SECRET, "u1", "group:7", -60)),
                &user,
                &room
            ),
            Err(GrantError::Invalid)
        );
        assert_eq!(
            keys.verify(
                Some(&grant("g2", SECRET, "u1", "group:7", 60)),
                &user,
                &room
            ),
            Err(GrantError::Invalid)
        );
        assert_eq!(
            keys.verify(
                Some(&grant("g1", SECRET, "u1", "group:7", 86_400)),
                &user,
                &room
            ),
            Err(GrantError::Invalid)
        );
        assert_eq!(
            GrantKeys::default().verify(None, &user, &room),
            Err(GrantError::Closed)
        );
    }

    #[test]
    fn weak_or_malformed_keys_are_refused() {
        assert!(GrantKeys::parse(Some("g1:short")).is_err());
        assert!(GrantKeys::parse(Some("nocolon")).is_err());
    }
}
