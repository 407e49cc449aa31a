//! Group chat values: a group id that is also a valid room id (`group:<id>`
//! in realtime-service: 1 to 64 of a-z, A-Z, 0-9, `-`, `_`), a group name
//! people read, and a member's role.

use super::InvalidInput;

/// Longest group name, in characters.
pub const MAX_GROUP_NAME_CHARS: usize = 100;

pub use nexus_domain::GroupId;

/// The id of a new group: a UUID v4.
pub fn new_group_id() -> GroupId {
    GroupId::from_uuid_bytes(*uuid::Uuid::new_v4().as_bytes())
}

/// A group's display name: trimmed, 1 to 100 characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupName(String);

impl GroupName {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(InvalidInput::new("name", "must not be empty"));
        }
        if name.chars().count() > MAX_GROUP_NAME_CHARS {
            return Err(InvalidInput::new("name", "must be at most 100 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidInput::new(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A member's role, stored as `owner` / `member`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupRole {
    Owner,
    Member,
}

impl GroupRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Member => "member",
        }
    }

    /// The stored text; anything but `owner` counts as a plain member.
    pub fn from_stored(raw: &str) -> Self {
        if raw == "owner" {
            Self::Owner
        } else {
            Self::Member
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_are_room_ids() {
        assert!(GroupId::parse(new_group_id().as_str()).is_ok());
        assert!(GroupId::parse("a_b-9").is_ok());
        for bad in ["", "a b", "a:b", "é", "a".repeat(65).as_str()] {
            assert!(GroupId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn group_names_are_trimmed_and_bounded() {
        assert_eq!(GroupName::parse("  Team  ").unwrap().as_str(), "Team");
        assert!(GroupName::parse("   ").is_err());
        assert!(GroupName::parse(&"n".repeat(100)).is_ok());
        assert!(GroupName::parse(&"n".repeat(101)).is_err());
        assert!(GroupName::parse("a\nb").is_err());
        assert_eq!(GroupRole::from_stored("owner"), GroupRole::Owner);
        assert_eq!(GroupRole::from_stored("member"), GroupRole::Member);
    }
}
