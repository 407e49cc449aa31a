//! A group id as it arrives in a URL: the room-id charset realtime accepts
//! in `group:<id>` (1 to 64 of a-z, A-Z, 0-9, `-`, `_`). Anything else cannot
//! name a group, so routes answer it like an unknown group (404).

use std::fmt;

/// A group id (session-store issues UUIDs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupId(String);

impl GroupId {
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_owned()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_use_the_room_charset() {
        let id = GroupId::parse("0b6f7c52-1d5e-4c7a-9d0f-3a1b2c3d4e5f").expect("uuid");
        assert_eq!(id.room(), "group:0b6f7c52-1d5e-4c7a-9d0f-3a1b2c3d4e5f");
        for bad in ["", "a b", "a:b", "../x", "é", "a".repeat(65).as_str()] {
            assert!(GroupId::parse(bad).is_none(), "{bad}");
        }
    }
}
