//! Identifiers and counters of sessions and users.
//!
//! Session ids, user ids and generations are the shared `nexus-domain`
//! values (one rule in every service: a session id fits inside a refresh
//! token, whose parts are dot-separated, so it is `[A-Za-z0-9_-]`); the
//! token hash is this service's own.

use sha2::{Digest, Sha256};

pub use nexus_domain::{Generation, SessionId, UserId};

/// SHA-256 (lower-case hex) of a refresh token: the only form in which a token
/// leaves this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(hex::encode(Sha256::digest(token.as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_refuse_the_refresh_token_separator() {
        // The refresh-token format depends on it (`keys::refresh`).
        assert!(SessionId::parse("3f1c0b9e-2a4d-4f7e-9a1b-0c2d3e4f5a6b").is_ok());
        assert!(SessionId::parse("a.b").is_err());
    }

    #[test]
    fn token_hash_is_lower_hex_sha256() {
        let hash = TokenHash::of("abc");
        assert_eq!(
            hash.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
