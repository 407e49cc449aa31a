//! Identifiers: opaque strings with a bounded, printable shape.
//!
//! Backend session ids are UUID v4 strings, but sessions adopted from the old
//! backend may carry other ids, so parsing checks only the shape.

use std::fmt;

use super::InvalidInput;

/// Longest id accepted (matches what the old backend could store sensibly).
pub const MAX_ID_CHARS: usize = 255;

fn check_id(field: &'static str, raw: &str, max: usize) -> Result<(), InvalidInput> {
    if raw.is_empty() {
        return Err(InvalidInput::new(field, "must not be empty"));
    }
    if raw.chars().count() > max {
        return Err(InvalidInput::new(
            field,
            if max == MAX_ID_CHARS {
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

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates the shape; the error names the field, never the value.
            pub fn parse(raw: impl Into<String>) -> Result<Self, InvalidInput> {
                let raw = raw.into();
                check_id($field, &raw, $max)?;
                Ok(Self(raw))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A backend session id.
    SessionId,
    "session_id",
    MAX_ID_CHARS
);
id_type!(
    /// A Supabase user id (`sub`).
    UserId,
    "user_id",
    MAX_ID_CHARS
);
id_type!(
    /// The Supabase `session_id` claim a backend session is bridged from.
    SupabaseSessionId,
    "supabase_session_id",
    MAX_ID_CHARS
);
id_type!(
    /// The id of the auth-service key a refresh token was derived with.
    KeyId,
    "key_id",
    64
);

impl SessionId {
    /// A fresh random session id (UUID v4).
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_short_and_printable() {
        assert!(UserId::parse("6f1c2a9e-0000-4000-8000-000000000001").is_ok());
        assert_eq!(
            UserId::parse("").unwrap_err().to_string(),
            "user_id must not be empty"
        );
        assert!(UserId::parse("a".repeat(255)).is_ok());
        assert!(UserId::parse("a".repeat(256)).is_err());
        assert!(SessionId::parse("a b").is_err());
        assert!(SessionId::parse("a\u{7}").is_err());
        assert!(KeyId::parse("k".repeat(64)).is_ok());
        assert!(KeyId::parse("k".repeat(65)).is_err());
    }

    #[test]
    fn generated_session_ids_are_uuids() {
        let id = SessionId::generate();
        assert!(uuid::Uuid::parse_str(id.as_str()).is_ok());
        assert_ne!(id, SessionId::generate());
    }
}
