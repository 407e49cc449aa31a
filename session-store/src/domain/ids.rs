//! Identifiers session-store receives.
//!
//! Session and user ids are the shared ones of `nexus-domain` (one rule in
//! every service); this module adds the ids only session-store keeps, which
//! stay opaque strings with a bounded, printable shape: the Supabase
//! `session_id` a session was bridged from, and the key id of a refresh
//! generation.

use std::fmt;

pub use nexus_domain::{InvalidId, SessionId, UserId};

use super::InvalidInput;

/// Longest Supabase session id accepted.
const MAX_SUPABASE_SESSION_ID_CHARS: usize = 255;

/// Longest key id accepted.
const MAX_KEY_ID_CHARS: usize = 64;

impl From<InvalidId> for InvalidInput {
    fn from(error: InvalidId) -> Self {
        InvalidInput::new(error.field, error.problem)
    }
}

/// The id of a new session: a random UUID v4.
pub fn new_session_id() -> SessionId {
    SessionId::from_uuid_bytes(uuid::Uuid::new_v4().into_bytes())
}

fn check_opaque(field: &'static str, raw: &str, max: usize) -> Result<(), InvalidInput> {
    if raw.is_empty() {
        return Err(InvalidInput::new(field, "must not be empty"));
    }
    if raw.chars().count() > max {
        return Err(InvalidInput::new(
            field,
            if max == MAX_SUPABASE_SESSION_ID_CHARS {
                "must be at most 255 characters"
            } else {
                "must be at most 64 characters"
            },
        ));
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(InvalidInput::new(
            field,
            "must be printable without whitespace",
        ));
    }
    Ok(())
}

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates the shape; the error names the field, never the value.
            pub fn parse(raw: impl Into<String>) -> Result<Self, InvalidInput> {
                let raw = raw.into();
                check_opaque($field, &raw, $max)?;
                Ok(Self(raw))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

opaque_id!(
    /// The Supabase `session_id` claim a backend session is bridged from.
    SupabaseSessionId,
    "supabase_session_id",
    MAX_SUPABASE_SESSION_ID_CHARS
);
opaque_id!(
    /// The id of the auth-service key a refresh token was derived with.
    KeyId,
    "key_id",
    MAX_KEY_ID_CHARS
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_ids_must_be_short_and_printable() {
        assert!(SupabaseSessionId::parse("6f1c2a9e-0000-4000-8000-000000000001").is_ok());
        assert_eq!(
            SupabaseSessionId::parse("").unwrap_err().to_string(),
            "supabase_session_id must not be empty"
        );
        assert!(SupabaseSessionId::parse("s".repeat(255)).is_ok());
        assert!(SupabaseSessionId::parse("s".repeat(256)).is_err());
        assert!(SupabaseSessionId::parse("a b").is_err());
        assert!(KeyId::parse("k".repeat(64)).is_ok());
        assert!(KeyId::parse("k".repeat(65)).is_err());
        assert!(KeyId::parse("k\u{7}").is_err());
    }

    #[test]
    fn shared_id_errors_keep_their_field() {
        let error = InvalidInput::from(UserId::parse("").unwrap_err());
        assert_eq!(error.to_string(), "user_id must not be empty");
    }

    #[test]
    fn new_session_ids_are_uuids_the_shared_rule_accepts() {
        let id = new_session_id();
        let parsed = uuid::Uuid::parse_str(id.as_str()).expect("uuid");
        assert_eq!(parsed.to_string(), id.as_str());
        assert_eq!(SessionId::parse(id.as_str()), Ok(id.clone()));
        assert_ne!(id, new_session_id());
    }
}
