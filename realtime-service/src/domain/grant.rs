//! Room grants: short-lived HS256 JWTs, signed by the app that owns group
//! membership, saying "user `sub` may join `room` until `exp`".
//!
//! Keys come from `ROOM_GRANT_KEYS` as a `kid:secret` list so the signer can
//! rotate keys (the header's `kid` picks the key). The JWT itself is decoded
//! by the `tokens` crate (`nexus_tokens::grant`), the one decoding path of
//! the backend; this module says what a valid grant must name. With no keys configured,
//! group rooms are closed: nobody can forge a grant for a key that does not
//! exist, and the client gets a clear error instead.

use nexus_tokens::grant::GrantVerifier;

use crate::domain::ids::UserId;
use crate::domain::room::RoomName;

/// Verification keys for room grants, by `kid` (decoding and signature
/// checks are the `tokens` crate's; this adds who may join what).
#[derive(Clone, Default)]
pub struct GrantKeys(GrantVerifier);

impl std::fmt::Debug for GrantKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
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

impl GrantKeys {
    /// Parses `kid:secret,kid2:secret2`; secrets must be at least 32 bytes.
    pub fn parse(raw: Option<&str>) -> anyhow::Result<Self> {
        GrantVerifier::parse(raw).map(Self)
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
        let claims = self.0.verify(grant).map_err(|_| GrantError::Invalid)?;
        if claims.sub != user.as_str() || claims.room != room.as_str() {
            return Err(GrantError::Mismatch);
        }
        Ok(claims.exp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

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
