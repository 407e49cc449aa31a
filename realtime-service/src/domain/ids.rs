//! User and session ids as the backend knows them (from verified tokens and
//! session-store). They name private Socket.IO rooms (`user:<id>`,
//! `session:<sid>`), so their charset is restricted to what cannot be
//! confused with another room name.

use std::fmt;
use std::sync::Arc;

/// Why an id was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0} is not a valid id")]
pub struct InvalidId(&'static str);

fn parse_id(raw: &str, what: &'static str) -> Result<Arc<str>, InvalidId> {
    let ok = !raw.is_empty()
        && raw.len() <= 128
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(Arc::from(raw))
    } else {
        Err(InvalidId(what))
    }
}

/// A user id (the Supabase `sub`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Arc<str>);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        parse_id(raw, "user id").map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The private room every socket of this user sits in.
    pub fn room(&self) -> String {
        format!("user:{}", self.0)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A backend session id (the access token's `sid`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(Arc<str>);

impl SessionId {
    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        parse_id(raw, "session id").map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The private room every socket of this session sits in.
    pub fn room(&self) -> String {
        format!("session:{}", self.0)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_room_separators_and_empties() {
        assert!(UserId::parse("3f1c7a0e-8d2b-4c55-9a61-0b7d2e4f9c10").is_ok());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("a:b").is_err());
        assert!(SessionId::parse(&"x".repeat(129)).is_err());
        assert_eq!(
            SessionId::parse("s1").map(|s| s.room()),
            Ok("session:s1".to_owned())
        );
    }
}
