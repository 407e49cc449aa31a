//! Refresh-token generations.
//!
//! 1 for the token a new session starts with, +1 per rotation. session-store
//! keeps them in a Postgres `BIGINT`, auth-service writes them into refresh
//! tokens and gRPC carries them as `uint64`: the one range all three hold is
//! 1 to `i64::MAX`, so that is the rule (auth-service used to accept up to
//! `u64::MAX`, which session-store then refused).

use std::fmt;

/// A refresh-token generation, 1 to `i64::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Generation(u64);

/// Largest generation (what a Postgres `BIGINT` holds).
const MAX: u64 = i64::MAX as u64;

impl Generation {
    pub const FIRST: Self = Self(1);

    /// `None` for 0 (no such generation) and above `i64::MAX`.
    pub fn new(value: u64) -> Option<Self> {
        (1..=MAX).contains(&value).then_some(Self(value))
    }

    /// A generation read back from the database; `None` for 0, which rows
    /// adopted from the old backend carry (they have no refresh generation).
    pub fn from_stored(value: i64) -> Option<Self> {
        u64::try_from(value).ok().and_then(Self::new)
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// For the database (always fits: the range stops at `i64::MAX`).
    pub fn to_stored(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// The generation after this one; `None` past `i64::MAX`.
    pub fn next(self) -> Option<Self> {
        Self::new(self.0.saturating_add(1))
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_run_from_one_to_the_largest_bigint() {
        assert_eq!(Generation::new(0), None);
        assert_eq!(Generation::new(1), Some(Generation::FIRST));
        assert_eq!(Generation::new(MAX).map(Generation::get), Some(MAX));
        assert_eq!(Generation::new(MAX + 1), None);
        assert_eq!(Generation::new(u64::MAX), None);
    }

    #[test]
    fn next_stops_at_the_end_of_the_range() {
        assert_eq!(Generation::FIRST.next().map(Generation::get), Some(2));
        let last = Generation::new(MAX).expect("max");
        assert_eq!(last.next(), None);
    }

    #[test]
    fn stored_values_round_trip() {
        assert_eq!(Generation::from_stored(0), None);
        assert_eq!(Generation::from_stored(-1), None);
        assert_eq!(Generation::from_stored(1), Some(Generation::FIRST));
        let last = Generation::from_stored(i64::MAX).expect("max");
        assert_eq!(last.to_stored(), i64::MAX);
        assert_eq!(Generation::FIRST.to_stored(), 1);
        assert_eq!(Generation::FIRST.to_string(), "1");
    }
}
