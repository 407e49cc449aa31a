//! Refresh-token material session-store keeps: token hashes, the per-session
//! secret (generations are the shared
//! `nexus_domain::Generation`). Raw refresh tokens never reach this service.

use std::fmt;

use super::InvalidInput;

/// SHA-256 of a refresh token as 64 lower-case hex characters.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, InvalidInput> {
        if raw.len() != 64 || !raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(InvalidInput::new(
                field,
                "must be 64 lower-case hex characters (SHA-256)",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a stored hash.
    pub fn matches(&self, stored: &str) -> bool {
        nexus_common::store_client::token_matches(self.0.as_bytes(), stored.as_bytes())
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

/// The per-session random secret (32 bytes) refresh tokens are derived from.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshSecret([u8; 32]);

impl RefreshSecret {
    pub fn parse(raw: &[u8]) -> Result<Self, InvalidInput> {
        <[u8; 32]>::try_from(raw)
            .map(Self)
            .map_err(|_| InvalidInput::new("refresh_secret", "must be exactly 32 bytes"))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_lower_hex_sha256() {
        let ok = "a".repeat(64);
        assert!(TokenHash::parse("token_hash", &ok).is_ok());
        assert!(TokenHash::parse("token_hash", &"A".repeat(64)).is_err());
        assert!(TokenHash::parse("token_hash", &"a".repeat(63)).is_err());
        assert!(TokenHash::parse("token_hash", &"g".repeat(64)).is_err());
        let hash = TokenHash::parse("token_hash", &ok).unwrap();
        assert!(hash.matches(&ok));
        assert!(!hash.matches(&"b".repeat(64)));
        assert!(!format!("{hash:?}").contains("aaaa"));
    }

    #[test]
    fn secrets_are_32_bytes() {
        assert!(RefreshSecret::parse(&[7; 32]).is_ok());
        assert!(RefreshSecret::parse(&[7; 31]).is_err());
        assert!(RefreshSecret::parse(&[]).is_err());
    }
}
