//! Why a session was revoked: the reasons Nexus services write.
//!
//! session-store records the reason on the row (`user_sessions.revoked_reason`),
//! auth-service sends it in `session.revoked` events, realtime-service passes
//! it to clients in `session:revoked`. These were string literals in three
//! crates; now each is a variant with one spelling. session-store's gRPC API
//! still records free text from other callers (bounded there), so readers of
//! the stored column must expect other values too: [`RevokeReason::from_wire`]
//! says `None` for them.

use std::fmt;

/// A revoke reason a Nexus service writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevokeReason {
    /// The caller gave no reason (session-store's default).
    Unspecified,
    /// The user logged out of this session.
    Logout,
    /// The user logged out of every other session.
    LogoutOthers,
    /// The user logged out everywhere.
    LogoutGlobal,
    /// The user ended this session from their session list.
    RevokedByUser,
    /// session-store found the session past its lifetime or idle timeout.
    Expired,
    /// A superseded refresh token was presented: the session is presumed
    /// stolen.
    RefreshTokenReuse,
    /// Evicted to keep the user within `SESSION_MAX_PER_USER` live sessions.
    SessionLimit,
    /// Its refresh tokens were derived with a key listed as retired.
    RefreshKeyRetired,
}

impl RevokeReason {
    pub const ALL: [Self; 9] = [
        Self::Unspecified,
        Self::Logout,
        Self::LogoutOthers,
        Self::LogoutGlobal,
        Self::RevokedByUser,
        Self::Expired,
        Self::RefreshTokenReuse,
        Self::SessionLimit,
        Self::RefreshKeyRetired,
    ];

    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "revoked",
            Self::Logout => "logout",
            Self::LogoutOthers => "logout_others",
            Self::LogoutGlobal => "logout_global",
            Self::RevokedByUser => "revoked_by_user",
            Self::Expired => "expired",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::SessionLimit => "session_limit",
            Self::RefreshKeyRetired => "refresh_key_retired",
        }
    }

    /// The reason with this spelling, `None` for any other text.
    pub fn from_wire(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == raw)
    }
}

impl fmt::Display for RevokeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_round_trips_and_spellings_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for reason in RevokeReason::ALL {
            assert_eq!(RevokeReason::from_wire(reason.as_str()), Some(reason));
            assert!(seen.insert(reason.as_str()), "{reason} twice");
            assert!(
                reason
                    .as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{reason}"
            );
        }
    }

    #[test]
    fn spellings_stay_what_stored_rows_and_clients_already_hold() {
        assert_eq!(RevokeReason::Unspecified.as_str(), "revoked");
        assert_eq!(RevokeReason::Expired.as_str(), "expired");
        assert_eq!(
            RevokeReason::RefreshTokenReuse.as_str(),
            "refresh_token_reuse"
        );
        assert_eq!(RevokeReason::SessionLimit.as_str(), "session_limit");
        assert_eq!(RevokeReason::from_wire("Logout"), None);
        assert_eq!(RevokeReason::from_wire("test"), None);
    }
}
