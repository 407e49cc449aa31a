//! Domain values of session-store: typed, validated once at the edge
//! ("parse, don't validate"), so the repository never sees a malformed id,
//! hash or secret.

//!
//! The values other services share (session and user ids, generations,
//! status, revoke reasons) come from `nexus-domain`; the rotation decision is
//! a pure function here (`rotation`), executed by the repository.

pub mod groups;
pub mod ids;
pub mod lifetimes;
pub mod rotation;
pub mod secrets;

use std::borrow::Cow;

pub use groups::{GroupId, GroupName, GroupRole};
pub use ids::{KeyId, SessionId, SupabaseSessionId, UserId, new_session_id};
pub use lifetimes::{Lifetimes, SessionStatus};
pub use nexus_domain::{Generation, RevokeReason};
pub use rotation::{RotationDecision, RotationFacts, StoredGeneration, Superseded, decide};
pub use secrets::{RefreshSecret, TokenHash};

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

/// The revoke reason recorded on a session: one session-store or
/// auth-service writes ([`RevokeReason`]), or a gRPC caller's own text
/// (normalised and bounded: the API has always accepted free text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedReason(Cow<'static, str>);

impl RecordedReason {
    /// Longest caller text accepted, in characters.
    pub const MAX_CHARS: usize = 64;

    /// Blank means [`RevokeReason::Unspecified`]; otherwise at most 64
    /// printable characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(RevokeReason::Unspecified.into());
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(InvalidInput::new("reason", "must be at most 64 characters"));
        }
        if raw.chars().any(char::is_control) {
            return Err(InvalidInput::new("reason", "must be printable"));
        }
        Ok(match RevokeReason::from_wire(raw) {
            Some(known) => known.into(),
            None => Self(Cow::Owned(raw.to_owned())),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<RevokeReason> for RecordedReason {
    fn from(reason: RevokeReason) -> Self {
        Self(Cow::Borrowed(reason.as_str()))
    }
}

/// The client's user agent: control characters dropped, cut to
/// `MAX_USER_AGENT_CHARS` (512) characters (browsers send arbitrary strings;
/// a long one is not worth refusing a login).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAgent(String);

impl UserAgent {
    pub const MAX_CHARS: usize = nexus_domain::limits::MAX_USER_AGENT_CHARS;

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
        assert_eq!(RecordedReason::parse("  ").unwrap().as_str(), "revoked");
        assert_eq!(RecordedReason::parse("logout").unwrap().as_str(), "logout");
        assert_eq!(
            RecordedReason::parse(" logout ").unwrap(),
            RecordedReason::from(RevokeReason::Logout)
        );
        assert_eq!(RecordedReason::parse("test").unwrap().as_str(), "test");
        assert!(RecordedReason::parse(&"x".repeat(64)).is_ok());
        assert!(RecordedReason::parse(&"x".repeat(65)).is_err());
        assert!(RecordedReason::parse("a\nb").is_err());
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
