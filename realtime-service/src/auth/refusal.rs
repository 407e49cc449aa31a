//! Why a socket was refused at connect, as the client sees it.
//!
//! socketioxide sends the middleware error's `Display` as the
//! `connect_error` message, and the client reads `err.message`, so the
//! `Display` of [`Refusal`] IS the wire code. Details stay in the log.

/// A refused handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Refusal {
    /// No token, a bad token, no such session, a session of someone else.
    #[error("unauthorized")]
    Unauthorized,
    #[error("session_revoked")]
    SessionRevoked,
    #[error("session_expired")]
    SessionExpired,
    /// session-store or the JWKS could not be reached: try again later.
    #[error("unavailable")]
    Unavailable,
    /// Too many sockets from this client address or for this user, or too
    /// many connects per second from this address.
    #[error("too_many_connections")]
    TooManyConnections,
}

impl Refusal {
    pub const ALL: [Self; 5] = [
        Self::Unauthorized,
        Self::SessionRevoked,
        Self::SessionExpired,
        Self::Unavailable,
        Self::TooManyConnections,
    ];

    /// The refusal for a session that ended with `reason` (as `kick` was
    /// given it) while its socket was being admitted.
    pub fn for_ended_session(reason: &str) -> Self {
        if reason == "session_expired" {
            Self::SessionExpired
        } else {
            Self::SessionRevoked
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::SessionRevoked => "session_revoked",
            Self::SessionExpired => "session_expired",
            Self::Unavailable => "unavailable",
            Self::TooManyConnections => "too_many_connections",
        }
    }

    pub fn index(self) -> usize {
        match self {
            Self::Unauthorized => 0,
            Self::SessionRevoked => 1,
            Self::SessionExpired => 2,
            Self::Unavailable => 3,
            Self::TooManyConnections => 4,
        }
    }
}
