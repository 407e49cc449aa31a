//! A session's state, as session-store computes it and every caller reads
//! it.

use serde::{Deserialize, Serialize};

/// Whether a session may still be used. session-store decides (revocation
/// wins over expiry); the wire form is the snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Active,
    Revoked,
    Expired,
}

impl SessionStatus {
    pub const ALL: [Self; 3] = [Self::Active, Self::Revoked, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    pub fn is_active(self) -> bool {
        self == Self::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_snake_case_and_match_as_str() {
        for status in SessionStatus::ALL {
            let json = serde_json::to_string(&status).expect("serialize");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            let back: SessionStatus = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, status);
        }
        assert!(serde_json::from_str::<SessionStatus>("\"Active\"").is_err());
        assert!(SessionStatus::Active.is_active());
        assert!(!SessionStatus::Expired.is_active());
    }
}
