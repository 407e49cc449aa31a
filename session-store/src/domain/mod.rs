//! Domain values of session-store: typed, validated once at the edge
//! ("parse, don't validate"), so the repository never sees a malformed id,
//! hash or secret.

pub mod groups;
pub mod ids;
pub mod lifetimes;
pub mod secrets;

pub use groups::{GroupId, GroupName, GroupRole};
pub use ids::{KeyId, SessionId, SupabaseSessionId, UserId};
pub use lifetimes::{Lifetimes, SessionStatus};
pub use secrets::{Generation, RefreshSecret, TokenHash};

/// A value that failed validation; the message is safe to show to callers
/// (it never contains the value itself).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{field} {problem}")]
pub struct InvalidInput {
    pub field: &'static str,
    pub problem: &'static str,
}

impl InvalidInput {
    pub fn new(field: &'static str, problem: &'static str) -> Self {
        Self { field, problem }
    }
}

/// Why a session was revoked (free text from the caller, normalised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeReason(String);

impl RevokeReason {
    /// Reason used when a caller gives none.
    pub const DEFAULT: &'static str = "revoked";

    /// Blank means [`Self::DEFAULT`]; otherwise at most 64 printable characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(Self(Self::DEFAULT.to_owned()));
        }
        if raw.chars().count() > 64 {
            return Err(InvalidInput::new("reason", "must be at most 64 characters"));
        }
        if raw.chars().any(char::is_control) {
            return Err(InvalidInput::new("reason", "must be printable"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Reasons session-store itself records.
    pub fn expired() -> Self {
        Self("expired".to_owned())
    }

    pub fn reuse_detected() -> Self {
        Self("refresh_token_reuse".to_owned())
    }

    /// Evicted to keep a user within `SESSION_MAX_PER_USER` live sessions.
    pub fn session_limit() -> Self {
        Self("session_limit".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The client's user agent: control characters dropped, cut to 512 characters
/// (browsers send arbitrary strings; a long one is not worth refusing a login).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAgent(String);

impl UserAgent {
    pub const MAX_CHARS: usize = 512;

    pub fn parse(raw: &str) -> Option<Self> {
        let cleaned: String = raw
            .chars()
            .filter(|c| !c.is_control())
            .take(Self::MAX_CHARS)
            .collect();
        let cleaned = cleaned.trim();
        (!cleaned.is_empty()).then(|| Self(cleaned.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The client's IP address, stored in canonical text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpAddress(std::net::IpAddr);

impl IpAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        raw.trim()
            .parse()
            .map(Self)
            .map_err(|_| InvalidInput::new("ip_address", "is not an IPv4 or IPv6 address"))
    }

    pub fn to_text(self) -> String {
        self.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_default_and_are_bounded() {
        assert_eq!(RevokeReason::parse("  ").unwrap().as_str(), "revoked");
        assert_eq!(RevokeReason::parse("logout").unwrap().as_str(), "logout");
        assert!(RevokeReason::parse(&"x".repeat(65)).is_err());
        assert!(RevokeReason::parse("a\nb").is_err());
    }

    #[test]
    fn user_agents_are_cleaned_and_cut() {
        assert_eq!(
            UserAgent::parse("Mozilla\u{0}/5.0").unwrap().as_str(),
            "Mozilla/5.0"
        );
        assert_eq!(
            UserAgent::parse(&"a".repeat(2_000)).unwrap().as_str().len(),
            512
        );
        assert!(UserAgent::parse(" \t").is_none());
    }

    #[test]
    fn ip_addresses_are_canonical() {
        assert_eq!(
            IpAddress::parse("::FFFF:1.2.3.4").unwrap().to_text(),
            "::ffff:1.2.3.4"
        );
        assert!(IpAddress::parse("1.2.3").is_err());
    }
}
