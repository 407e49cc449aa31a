//! User and session ids as the backend knows them (from verified tokens and
//! session-store): the shared `nexus-domain` values, one rule in every
//! service. They name private Socket.IO rooms (`user:<id>`, `session:<sid>`);
//! neither rule admits `:`, so those names cannot be confused with another
//! room's.

pub use nexus_domain::{InvalidId, SessionId, UserId};

/// The private room every socket of a user (or of a session) sits in.
pub trait PrivateRoom {
    fn room(&self) -> String;
}

impl PrivateRoom for UserId {
    fn room(&self) -> String {
        format!("user:{self}")
    }
}

impl PrivateRoom for SessionId {
    fn room(&self) -> String {
        format!("session:{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_room_separators_and_name_private_rooms() {
        assert!(UserId::parse("3f1c7a0e-8d2b-4c55-9a61-0b7d2e4f9c10").is_ok());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("a:b").is_err());
        assert!(SessionId::parse("a:b").is_err());
        assert_eq!(
            SessionId::parse("s1").map(|s| s.room()),
            Ok("session:s1".to_owned())
        );
        assert_eq!(
            UserId::parse("u.1").map(|u| u.room()),
            Ok("user:u.1".to_owned())
        );
    }
}
