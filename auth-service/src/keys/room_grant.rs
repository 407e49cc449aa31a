//! Minting room grants for group chats: the short-lived HS256 JWT
//! realtime-service verifies before `room:join` of `group:<id>`
//! (`realtime-service/src/domain/grant.rs`): header `kid`, claims
//! `{sub, room, iat, exp}`.
//!
//! `ROOM_GRANT_KEYS` is the same `kid:secret[,kid:secret]` list realtime
//! holds; the FIRST key signs, the others only exist for realtime to keep
//! verifying during a rotation. Without keys, grants are not issued (503):
//! realtime then keeps group rooms closed too. `ROOM_GRANT_TTL` (default 5m,
//! 10s to 1h: realtime refuses grants living longer than an hour) bounds how
//! long a grant can be replayed; removal itself is enforced by realtime
//! (event, join-time check, re-check), not by the grant's expiry alone.

use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::domain::{GroupId, UserId};

/// Shortest and longest grant lifetime accepted in configuration.
pub const MIN_GRANT_TTL: Duration = Duration::from_secs(10);
pub const MAX_GRANT_TTL: Duration = Duration::from_secs(3600);

/// Signs room grants with the first `ROOM_GRANT_KEYS` key.
pub struct RoomGrantSigner {
    kid: String,
    key: EncodingKey,
    ttl: Duration,
}

impl std::fmt::Debug for RoomGrantSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomGrantSigner")
            .field("kid", &self.kid)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A signed grant and when it stops working.
#[derive(Debug)]
pub struct IssuedGrant {
    pub token: String,
    pub room: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct GrantClaims<'a> {
    sub: &'a str,
    room: &'a str,
    iat: i64,
    exp: i64,
}

impl RoomGrantSigner {
    /// Parses `kid:secret[,kid:secret]` (secrets of 32+ bytes, like realtime
    /// requires); `None` when unset.
    pub fn parse(raw: Option<&str>, ttl: Duration) -> anyhow::Result<Option<Self>> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        if !(MIN_GRANT_TTL..=MAX_GRANT_TTL).contains(&ttl) {
            bail!("ROOM_GRANT_TTL must be between 10s and 1h (realtime refuses longer grants)");
        }
        let mut first = None;
        for item in nexus_common::config::split_list(raw) {
            let Some((kid, secret)) = item.split_once(':') else {
                bail!("each ROOM_GRANT_KEYS item must look like kid:secret");
            };
            if kid.is_empty() || secret.len() < 32 {
                bail!(
                    "ROOM_GRANT_KEYS key {kid:?}: the kid must not be empty and the secret needs 32+ bytes"
                );
            }
            if first.is_none() {
                first = Some((kid.to_owned(), secret.to_owned()));
            }
        }
        let (kid, secret) = first.context("ROOM_GRANT_KEYS holds no key")?;
        Ok(Some(Self {
            kid,
            key: EncodingKey::from_secret(secret.as_bytes()),
            ttl,
        }))
    }

    /// A grant letting `user` join `group`'s room until now + TTL.
    pub fn mint(&self, user: &UserId, group: &GroupId) -> anyhow::Result<IssuedGrant> {
        let now = Utc::now();
        let expires_at = now + chrono::Duration::from_std(self.ttl)?;
        let room = group.room();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        let claims = GrantClaims {
            sub: user.as_str(),
            room: &room,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token =
            jsonwebtoken::encode(&header, &claims, &self.key).context("sign a room grant")?;
        let expires_at = DateTime::from_timestamp(claims.exp, 0).unwrap_or(expires_at);
        Ok(IssuedGrant {
            token,
            room,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "group-grant-secret-of-32-bytes-or-more!";

    #[test]
    fn the_first_key_signs_a_short_grant_for_one_user_and_room() {
        let signer = RoomGrantSigner::parse(
            Some(&format!("g2:{SECRET},g1:{SECRET}-old")),
            Duration::from_secs(60),
        )
        .expect("keys")
        .expect("configured");
        let user = UserId::parse("u1").expect("user");
        let group = GroupId::parse("g-1").expect("group");
        let grant = signer.mint(&user, &group).expect("grant");
        assert_eq!(grant.room, "group:g-1");
        let header = jsonwebtoken::decode_header(&grant.token).expect("header");
        assert_eq!(header.kid.as_deref(), Some("g2"));
        assert_eq!(header.alg, Algorithm::HS256);
        let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            &grant.token,
            &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
            &validation,
        )
        .expect("verifies with the first key")
        .claims;
        assert_eq!(claims["sub"], "u1");
        assert_eq!(claims["room"], "group:g-1");
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert_eq!(lifetime, 60);
        assert_eq!(
            grant.expires_at.timestamp(),
            claims["exp"].as_i64().unwrap()
        );
    }

    #[test]
    fn bad_keys_and_ttls_are_refused() {
        let ttl = Duration::from_secs(60);
        assert!(RoomGrantSigner::parse(None, ttl).unwrap().is_none());
        assert!(RoomGrantSigner::parse(Some("g1:short"), ttl).is_err());
        assert!(RoomGrantSigner::parse(Some("nocolon"), ttl).is_err());
        assert!(RoomGrantSigner::parse(Some(" , "), ttl).is_err());
        let good = format!("g1:{SECRET}");
        assert!(RoomGrantSigner::parse(Some(&good), Duration::from_secs(5)).is_err());
        assert!(RoomGrantSigner::parse(Some(&good), Duration::from_secs(3601)).is_err());
    }
}
