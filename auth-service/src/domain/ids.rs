//! Identifiers and counters of sessions and users.

use std::fmt;

use sha2::{Digest, Sha256};

/// Longest identifier accepted from outside (session-store allows 255).
const MAX_ID_LEN: usize = 255;

/// Why an identifier was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("{0} is longer than {MAX_ID_LEN} characters")]
    TooLong(&'static str),
    #[error("{0} contains characters that are not allowed")]
    BadCharacters(&'static str),
}

/// A backend session id (issued by session-store, a UUID today). It appears
/// inside refresh tokens, whose parts are separated by dots, so only
/// `[A-Za-z0-9_-]` is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

impl SessionId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        const WHAT: &str = "session id";
        if raw.is_empty() {
            return Err(IdError::Empty(WHAT));
        }
        if raw.len() > MAX_ID_LEN {
            return Err(IdError::TooLong(WHAT));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(IdError::BadCharacters(WHAT));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user id: the Supabase `sub` claim (a UUID for Supabase, but any printable
/// string without whitespace is accepted).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        const WHAT: &str = "user id";
        if raw.is_empty() {
            return Err(IdError::Empty(WHAT));
        }
        if raw.len() > MAX_ID_LEN {
            return Err(IdError::TooLong(WHAT));
        }
        if !raw.chars().all(|c| c.is_ascii_graphic()) {
            return Err(IdError::BadCharacters(WHAT));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A refresh-token generation: 1 for the token the bridge issues, +1 on every
/// rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Generation(u64);

impl Generation {
    pub const FIRST: Self = Self(1);

    /// Generation 0 does not exist.
    pub fn new(value: u64) -> Option<Self> {
        (value >= 1).then_some(Self(value))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// The generation after this one, `None` on overflow.
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

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
    fn session_ids_refuse_separators_and_blanks() {
        assert!(SessionId::parse("3f1c0b9e-2a4d-4f7e-9a1b-0c2d3e4f5a6b").is_ok());
        assert_eq!(SessionId::parse(""), Err(IdError::Empty("session id")));
        assert_eq!(
            SessionId::parse("a.b"),
            Err(IdError::BadCharacters("session id"))
        );
        assert_eq!(
            SessionId::parse(&"a".repeat(256)),
            Err(IdError::TooLong("session id"))
        );
    }

    #[test]
    fn user_ids_refuse_whitespace() {
        assert!(UserId::parse("u-1").is_ok());
        assert!(UserId::parse("u 1").is_err());
    }

    #[test]
    fn generations_start_at_one() {
        assert_eq!(Generation::new(0), None);
        assert_eq!(Generation::FIRST.next().map(Generation::get), Some(2));
        assert_eq!(Generation::new(u64::MAX).and_then(Generation::next), None);
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
