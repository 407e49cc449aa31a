//! Session and user ids: one rule each, the same in every service.
//!
//! What the ids really are: session ids are minted by session-store (a UUID
//! v4; rows adopted from the old backend got `gen_random_uuid()`), user ids
//! are the Supabase `sub` claim (a UUID). The rules are the narrowest that
//! every place an id travels can carry, so an id one service stores no other
//! service refuses:
//!
//! - a session id sits inside refresh tokens, whose parts are separated by
//!   dots, and names realtime's private room `session:<id>`: 1 to 255 of
//!   `A-Z a-z 0-9 - _`;
//! - a user id names realtime's private room `user:<id>` (no `:`, no
//!   whitespace): 1 to 255 of `A-Z a-z 0-9 . - _`.
//!
//! Both are ASCII, so bytes and characters count the same. The values are
//! `Arc<str>`: realtime clones them per socket and per room.

use std::fmt;
use std::sync::Arc;

use crate::limits::MAX_ID_LEN;

/// An id that broke its rule. Names the field, never echoes the value (ids
/// come from tokens and requests; a refusal message may reach a client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{field} {problem}")]
pub struct InvalidId {
    /// `session_id`, `user_id` or `group_id`.
    pub field: &'static str,
    /// What is wrong, e.g. `must not be empty`.
    pub problem: &'static str,
}

/// The shape both ids share, with what differs: the extra allowed bytes.
struct Rule {
    field: &'static str,
    extra: &'static [u8],
    max_len: usize,
    too_long: &'static str,
    charset: &'static str,
}

/// Longest group id: a group id is also the realtime room `group:<id>`,
/// whose id part realtime caps at 64.
pub const MAX_GROUP_ID_LEN: usize = 64;

const SESSION_RULE: Rule = Rule {
    field: "session_id",
    extra: b"-_",
    max_len: MAX_ID_LEN,
    too_long: "must be at most 255 characters",
    charset: "must contain only A-Z, a-z, 0-9, - and _",
};

const GROUP_RULE: Rule = Rule {
    field: "group_id",
    extra: b"-_",
    max_len: MAX_GROUP_ID_LEN,
    too_long: "must be at most 64 characters",
    charset: "must contain only A-Z, a-z, 0-9, - and _",
};

const USER_RULE: Rule = Rule {
    field: "user_id",
    extra: b".-_",
    max_len: MAX_ID_LEN,
    too_long: "must be at most 255 characters",
    charset: "must contain only A-Z, a-z, 0-9, ., - and _",
};

impl Rule {
    fn check(&self, raw: &str) -> Result<(), InvalidId> {
        let refuse = |problem| {
            Err(InvalidId {
                field: self.field,
                problem,
            })
        };
        if raw.is_empty() {
            return refuse("must not be empty");
        }
        if raw.len() > self.max_len {
            return refuse(self.too_long);
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || self.extra.contains(&b))
        {
            return refuse(self.charset);
        }
        Ok(())
    }
}

/// A backend session id (session-store's `user_sessions.id`, the access
/// token's `sid`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(Arc<str>);

impl SessionId {
    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        SESSION_RULE.check(raw)?;
        Ok(Self(Arc::from(raw)))
    }

    /// The id of a new session from a UUID's 16 bytes, in the usual
    /// lower-case hyphenated form (always valid: hex digits and `-`).
    pub fn from_uuid_bytes(bytes: [u8; 16]) -> Self {
        Self(Arc::from(hyphenated_uuid(bytes)))
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

/// A UUID's 16 bytes in the usual lower-case hyphenated form (always valid
/// for the session and group rules: hex digits and `-`, 36 characters).
fn hyphenated_uuid(bytes: [u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(36);
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text
}

/// A group chat's id (session-store mints UUIDs). Also the id part of the
/// realtime room `group:<id>`, so every stored id names a joinable room.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(Arc<str>);

impl GroupId {
    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        GROUP_RULE.check(raw)?;
        Ok(Self(Arc::from(raw)))
    }

    /// The id of a new group from a UUID's 16 bytes.
    pub fn from_uuid_bytes(bytes: [u8; 16]) -> Self {
        Self(Arc::from(hyphenated_uuid(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The realtime room of this group.
    pub fn room(&self) -> String {
        format!("group:{}", self.0)
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user id: the Supabase `sub` claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Arc<str>);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        USER_RULE.check(raw)?;
        Ok(Self(Arc::from(raw)))
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

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "3f1c0b9e-2a4d-4f7e-9a1b-0c2d3e4f5a6b";

    fn problem<T>(result: Result<T, InvalidId>) -> &'static str {
        result.err().map_or("accepted", |error| error.problem)
    }

    #[test]
    fn group_ids_at_the_edges() {
        let id = GroupId::parse(UUID).expect("a UUID");
        assert_eq!(id.room(), format!("group:{UUID}"));
        assert!(GroupId::parse(&"a".repeat(64)).is_ok());
        assert_eq!(
            problem(GroupId::parse(&"a".repeat(65))),
            "must be at most 64 characters"
        );
        assert_eq!(problem(GroupId::parse("")), "must not be empty");
        for bad in ["a b", "a:b", "../x", "a.b", "é"] {
            assert_eq!(
                problem(GroupId::parse(bad)),
                "must contain only A-Z, a-z, 0-9, - and _",
                "{bad}"
            );
        }
        let minted = GroupId::from_uuid_bytes([0xab; 16]);
        assert!(GroupId::parse(minted.as_str()).is_ok(), "{minted}");
    }

    #[test]
    fn uuids_are_both_kinds_of_id() {
        assert_eq!(
            SessionId::parse(UUID).map(|id| id.to_string()),
            Ok(UUID.to_owned())
        );
        assert_eq!(
            UserId::parse(UUID).map(|id| id.to_string()),
            Ok(UUID.to_owned())
        );
    }

    #[test]
    fn session_ids_at_the_edges() {
        let cases: [(&str, String, &str); 12] = [
            ("empty", String::new(), "must not be empty"),
            ("one byte", "a".to_owned(), "accepted"),
            ("max length", "a".repeat(255), "accepted"),
            ("max + 1", "a".repeat(256), "must be at most 255 characters"),
            ("underscore and dash", "a_b-C9".to_owned(), "accepted"),
            (
                "dot (refresh-token separator)",
                "a.b".to_owned(),
                SESSION_RULE.charset,
            ),
            (
                "colon (room separator)",
                "a:b".to_owned(),
                SESSION_RULE.charset,
            ),
            ("space", "a b".to_owned(), SESSION_RULE.charset),
            ("control", "a\u{0}b".to_owned(), SESSION_RULE.charset),
            ("unicode letter", "é".to_owned(), SESSION_RULE.charset),
            ("unicode digit", "١٢".to_owned(), SESSION_RULE.charset),
            // 128 two-byte characters: 256 bytes, so the length check
            // (in bytes) refuses it before the charset is looked at.
            (
                "long unicode",
                "é".repeat(128),
                "must be at most 255 characters",
            ),
        ];
        for (name, raw, expected) in cases {
            assert_eq!(problem(SessionId::parse(&raw)), expected, "{name}");
        }
    }

    #[test]
    fn user_ids_at_the_edges() {
        let cases: [(&str, String, &str); 11] = [
            ("empty", String::new(), "must not be empty"),
            ("one byte", "u".to_owned(), "accepted"),
            ("max length", "u".repeat(255), "accepted"),
            ("max + 1", "u".repeat(256), "must be at most 255 characters"),
            (
                "dot, dash, underscore",
                "user.name-1_x".to_owned(),
                "accepted",
            ),
            (
                "colon (room separator)",
                "user:1".to_owned(),
                USER_RULE.charset,
            ),
            ("at sign", "a@b".to_owned(), USER_RULE.charset),
            ("pipe", "auth0|1".to_owned(), USER_RULE.charset),
            ("space", "u 1".to_owned(), USER_RULE.charset),
            ("newline", "bad\nid".to_owned(), USER_RULE.charset),
            ("unicode", "ü".to_owned(), USER_RULE.charset),
        ];
        for (name, raw, expected) in cases {
            assert_eq!(problem(UserId::parse(&raw)), expected, "{name}");
        }
    }

    #[test]
    fn errors_name_the_field_and_not_the_value() {
        let error = SessionId::parse("secret value").expect_err("space");
        assert_eq!(error.field, "session_id");
        assert!(!error.to_string().contains("secret"), "{error}");
        assert_eq!(
            UserId::parse("").expect_err("empty").to_string(),
            "user_id must not be empty"
        );
    }

    #[test]
    fn uuid_bytes_become_the_hyphenated_form() {
        let bytes = [
            0x3f, 0x1c, 0x0b, 0x9e, 0x2a, 0x4d, 0x4f, 0x7e, 0x9a, 0x1b, 0x0c, 0x2d, 0x3e, 0x4f,
            0x5a, 0x6b,
        ];
        let id = SessionId::from_uuid_bytes(bytes);
        assert_eq!(id.as_str(), UUID);
        assert_eq!(SessionId::parse(id.as_str()), Ok(id));
    }
}
