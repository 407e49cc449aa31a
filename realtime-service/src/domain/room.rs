//! Room names clients may use: `darkroom:<slug>`, `hangout:<id>`, `group:<id>`.
//!
//! The private rooms `user:<id>` and `session:<sid>` can never parse as a
//! [`RoomName`], so a client cannot join (or listen to) someone else's
//! private room. The name is also the AMQP routing key of the room relay,
//! hence the short, plain charset.

use std::fmt;
use std::sync::Arc;

/// Longest part after the prefix.
pub const MAX_ID_LEN: usize = 64;

/// What kind of room, which decides visibility and admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoomKind {
    /// Anonymous: senders appear under a per-room alias.
    DarkRoom,
    /// Open, with named presence.
    Hangout,
    /// Private: joining needs a room grant.
    Group,
}

/// Why a room name was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InvalidRoom {
    #[error("room names look like darkroom:<slug>, hangout:<id> or group:<id>")]
    UnknownKind,
    #[error("the part after the prefix must be 1 to 64 characters of a-z, A-Z, 0-9, - and _")]
    BadId,
}

/// A validated room name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoomName {
    full: Arc<str>,
    kind: RoomKind,
}

impl RoomName {
    pub fn parse(raw: &str) -> Result<Self, InvalidRoom> {
        let (prefix, id) = raw.split_once(':').ok_or(InvalidRoom::UnknownKind)?;
        let kind = match prefix {
            "darkroom" => RoomKind::DarkRoom,
            "hangout" => RoomKind::Hangout,
            "group" => RoomKind::Group,
            _ => return Err(InvalidRoom::UnknownKind),
        };
        let id_ok = !id.is_empty()
            && id.len() <= MAX_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(InvalidRoom::BadId);
        }
        Ok(Self {
            full: Arc::from(raw),
            kind,
        })
    }

    /// The hangout named by an id `HangoutIds` (in `hangout_id`)
    /// minted (lower-case hex digits, so always a valid name).
    pub(crate) fn minted_hangout(id: &str) -> Self {
        debug_assert!(id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_hexdigit()));
        Self {
            full: Arc::from(format!("hangout:{id}")),
            kind: RoomKind::Hangout,
        }
    }

    /// The part after the prefix.
    pub fn id(&self) -> &str {
        self.full.split_once(':').map_or("", |(_, id)| id)
    }

    pub fn kind(&self) -> RoomKind {
        self.kind
    }

    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// Whether user ids may be shown in this room.
    pub fn is_anonymous(&self) -> bool {
        self.kind == RoomKind::DarkRoom
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_kinds() {
        assert_eq!(
            RoomName::parse("darkroom:lobby").map(|r| r.kind()),
            Ok(RoomKind::DarkRoom)
        );
        assert_eq!(
            RoomName::parse("hangout:a1_b-2").map(|r| r.kind()),
            Ok(RoomKind::Hangout)
        );
        assert_eq!(
            RoomName::parse("group:42").map(|r| r.kind()),
            Ok(RoomKind::Group)
        );
        assert_eq!(RoomName::minted_hangout("0af").kind(), RoomKind::Hangout);
        assert!(RoomName::parse(RoomName::minted_hangout("0af").as_str()).is_ok());
        assert_eq!(RoomName::minted_hangout("0af").id(), "0af");
    }

    #[test]
    fn refuses_private_rooms_and_odd_shapes() {
        for bad in [
            "user:u1",
            "session:s1",
            "darkroom",
            "darkroom:",
            "darkroom:a b",
            "darkroom:a.b",
            "hangout:é",
            "group:a:b",
            "",
        ] {
            assert!(RoomName::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            RoomName::parse(&format!("group:{}", "a".repeat(65))),
            Err(InvalidRoom::BadId)
        );
    }
}
