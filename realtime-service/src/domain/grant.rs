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

    /// Checks that `grant` lets `user` join `room`, and returns its `exp`
    /// (Unix seconds): the moment the member must leave unless a fresh grant
    /// extends it.
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
    //! Only what this module adds: closed rooms, a missing grant, a grant for
    //! another user or room. Signature, `kid`, expiry, lifetime and key rules
    //! are `nexus_tokens::grant`'s, tested there.
    use super::*;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    const SECRET: &str = "group-grant-secret-of-32-bytes-or-more!";

    fn grant(sub: &str, room: &str, exp: i64) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("g1".into());
        let claims = serde_json::json!({"sub": sub, "room": room, "iat": exp - 60, "exp": exp});
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("signable")
    }

    #[test]
    fn a_grant_admits_only_its_user_to_its_room() {
        let keys = GrantKeys::parse(Some(&format!("g1:{SECRET}"))).expect("keys");
        let user = UserId::parse("u1").expect("user");
        let room = RoomName::parse("group:7").expect("room");
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .expect("clock")
            + 60;
        let check = |grant: Option<&str>| keys.verify_until(grant, &user, &room);
        assert_eq!(check(Some(&grant("u1", "group:7", exp))), Ok(exp));
        assert_eq!(
            check(Some(&format!("  {}  ", grant("u1", "group:7", exp)))),
            Ok(exp)
        );
        assert_eq!(check(None), Err(GrantError::Missing));
        assert_eq!(check(Some("   ")), Err(GrantError::Missing));
        assert_eq!(check(Some("not.a.jwt")), Err(GrantError::Invalid));
        assert_eq!(
            check(Some(&grant("u2", "group:7", exp))),
            Err(GrantError::Mismatch)
        );
        assert_eq!(
            check(Some(&grant("u1", "group:8", exp))),
            Err(GrantError::Mismatch)
        );
        assert_eq!(
            GrantKeys::default().verify_until(Some(&grant("u1", "group:7", exp)), &user, &room),
            Err(GrantError::Closed)
        );
    }
}
