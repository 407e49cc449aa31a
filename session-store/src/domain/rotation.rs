//! The refresh-token rotation decision, as a pure function.
//!
//! The repository locks the session row, reads what the decision needs (the
//! row's timestamps and current generation, the presented generation's
//! stored hash and, for a superseded generation, when it was superseded) and
//! then executes what [`decide`] returns. No SQL here, no clock read: every
//! instant is an input, so a table of cases covers every branch and its
//! boundaries without Postgres (tests below).
//!
//! Two clocks, on purpose. Session expiry is judged on session-store's clock
//! (`now`), as everywhere else in the service. The reuse interval is judged
//! on the database's clock alone: `rotated_at` was written by Postgres'
//! `clock_timestamp()` and `read_at` is the same clock read after the lock was
//! granted, so neither a replica's clock skew nor the time spent waiting for
//! the lock can stretch the window.

use chrono::{DateTime, Utc};

use super::{Generation, Lifetimes, SessionStatus, TokenHash};

/// When a later rotation superseded the presented generation, and when the
/// database read that (both on the database's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Superseded {
    pub at: DateTime<Utc>,
    pub read_at: DateTime<Utc>,
}

/// The presented generation's refresh row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredGeneration<'a> {
    pub token_hash: &'a str,
    /// `None` while no rotation has superseded it (or when it was read as
    /// the current generation, where it does not matter).
    pub superseded: Option<Superseded>,
}

/// Everything the decision looks at.
#[derive(Debug, Clone, Copy)]
pub struct RotationFacts<'a> {
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `None` for rows adopted from the old backend (stored generation 0).
    pub current: Option<Generation>,
    pub presented: Generation,
    pub presented_hash: &'a TokenHash,
    /// The presented generation's row; `None` when there is none. The
    /// repository reads it only for an active session: for any other the
    /// decision does not look at it.
    pub stored: Option<StoredGeneration<'a>>,
    pub lifetimes: Lifetimes,
    pub reuse_interval: chrono::Duration,
    /// session-store's clock, for expiry.
    pub now: DateTime<Utc>,
}

/// What the repository must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationDecision {
    /// The session was revoked earlier: change nothing.
    AlreadyRevoked,
    /// The session is past its lifetime or idle timeout: revoke it
    /// (`expired`).
    RevokeExpired,
    /// No refresh row for the presented generation (NOT_FOUND).
    UnknownGeneration,
    /// The presented hash is not the stored one: change nothing.
    TokenMismatch,
    /// The current generation was presented: issue `next`.
    Rotate { next: Generation },
    /// A generation superseded less than the reuse interval ago (another
    /// tab won the race): hand out `current` again.
    ReturnCurrent { current: Generation },
    /// Any other superseded generation: the token was stolen or replayed;
    /// revoke the session (`refresh_token_reuse`).
    RevokeForReuse,
    /// The current generation is the last one a `BIGINT` holds.
    GenerationsExhausted,
}

/// The decision, in order: a revoked or expired session ends it; then the
/// presented generation must exist and its hash match; then current rotates,
/// recently superseded returns the current one, anything else is reuse.
pub fn decide(facts: &RotationFacts<'_>) -> RotationDecision {
    match facts.lifetimes.status(
        facts.created_at,
        facts.last_seen_at,
        facts.revoked_at,
        facts.now,
    ) {
        SessionStatus::Revoked => return RotationDecision::AlreadyRevoked,
        SessionStatus::Expired => return RotationDecision::RevokeExpired,
        SessionStatus::Active => {}
    }
    let Some(stored) = facts.stored else {
        return RotationDecision::UnknownGeneration;
    };
    if !facts.presented_hash.matches(stored.token_hash) {
        return RotationDecision::TokenMismatch;
    }
    match facts.current {
        Some(current) if facts.presented == current => match current.next() {
            Some(next) => RotationDecision::Rotate { next },
            None => RotationDecision::GenerationsExhausted,
        },
        Some(current)
            if facts.presented < current
                && stored
                    .superseded
                    .is_some_and(|s| s.read_at - s.at < facts.reuse_interval) =>
        {
            RotationDecision::ReturnCurrent { current }
        }
        _ => RotationDecision::RevokeForReuse,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;

    const HASH: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const OTHER_HASH: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
            .single()
            .expect("valid")
    }

    fn secs(n: i64) -> chrono::Duration {
        chrono::Duration::seconds(n)
    }

    fn generation(n: u64) -> Generation {
        Generation::new(n).expect("generation")
    }

    /// A 30-day lifetime, 7-day idle timeout, 10 s reuse interval; the
    /// session was created at t0 and last seen at t0.
    struct Case {
        name: &'static str,
        revoked: bool,
        /// How long after t0 the decision is made (session-store's clock).
        now: chrono::Duration,
        last_seen: chrono::Duration,
        current: Option<u64>,
        presented: u64,
        /// The stored row: hash, and how long before the database read it
        /// the generation was superseded.
        stored: Option<(&'static str, Option<chrono::Duration>)>,
        expected: RotationDecision,
    }

    fn run(case: &Case) -> RotationDecision {
        let presented_hash = TokenHash::parse("presented", HASH).expect("hash");
        let read_at = t0() + secs(100);
        let facts = RotationFacts {
            created_at: t0(),
            last_seen_at: t0() + case.last_seen,
            revoked_at: case.revoked.then(t0),
            current: case.current.map(generation),
            presented: generation(case.presented),
            presented_hash: &presented_hash,
            stored: case.stored.map(|(token_hash, age)| StoredGeneration {
                token_hash,
                superseded: age.map(|age| Superseded {
                    at: read_at - age,
                    read_at,
                }),
            }),
            lifetimes: Lifetimes::new(
                Duration::from_secs(30 * 86_400),
                Duration::from_secs(7 * 86_400),
            ),
            reuse_interval: secs(10),
            now: t0() + case.now,
        };
        decide(&facts)
    }

    #[test]
    fn every_branch_and_boundary() {
        use RotationDecision::*;
        let live = secs(60);
        let day = secs(86_400);
        let current = Some((HASH, None));
        let cases = [
            Case {
                name: "current generation rotates",
                revoked: false,
                now: live,
                last_seen: secs(0),
                current: Some(3),
                presented: 3,
                stored: current,
                expected: Rotate {
                    next: generation(4),
                },
            },
            Case {
                name: "first generation rotates to the second",
                revoked: false,
                now: live,
                last_seen: secs(0),
                current: Some(1),
                presented: 1,
                stored: current,
                expected: Rotate {
                    next: generation(2),
                },
            },
            Case {
                name: "revoked wins over everything",
                revoked: true,
                now: live,
                last_seen: secs(0),
                current: Some(3),
                presented: 3,
                stored: current,
                expected: AlreadyRevoked,
            },
            Case {
                name: "revoked and expired: revoked",
                revoked: true,
                now: day * 40,
                last_seen: secs(0),
                current: Some(3),
                presented: 3,
                stored: None,
                expected: AlreadyRevoked,
            },
            Case {
                name: "one microsecond before the idle timeout: active",
                revoked: false,
                now: day * 7 - chrono::Duration::microseconds(1),
                last_seen: secs(0),
                current: Some(3),
                presented: 3,
                stored: current,
                expected: Rotate {
                    next: generation(4),
                },
            },
            Case {
                name: "exactly at the idle timeout: expired",
                revoked: false,
                now: day * 7,
                last_seen: secs(0),
                current: Some(3),
                presented: 3,
                stored: current,
                expected: RevokeExpired,
            },
            Case {
                name: "exactly at the absolute lifetime, though seen lately: expired",
                revoked: false,
                now: day * 30,
                last_seen: day * 29,
                current: Some(3),
                presented: 3,
                stored: current,
                expected: RevokeExpired,
            },
            Case {
                name: "expired session with a superseded generation: expired, not reuse",
                revoked: false,
                now: day * 8,
                last_seen: secs(0),
                current: Some(3),
                presented: 1,
                stored: None,
                expected: RevokeExpired,
            },
            Case {
                name: "no row for the presented generation",
                revoked: false,
                now: live,
                last_seen: secs(0),
                current: Some(3),
                presented: 9,
                stored: None,
                expected: UnknownGeneration,
            },
            Case {
                name: "hash of another token: mismatch, even for the current generation",
                revoked: false,
                now: live,
                last_seen: secs(0),
                current: Some(3),
                presented: 3,
                stored: Some((OTHER_HASH, None)),
                expected: TokenMismatch,
            },
            Case {
                name: "mismatch is checked before reuse",
                revoked: false,
                now: live,
                last_seen: secs(0),
                current: Some(3),
                presented: 1,
                stored: Some((OTHER_HASH, Some(secs(600)))),
                expected: TokenMismatch,
            },
            Case {
                name: "superseded just now: current returned",
                revoked: false,
                now: live,
                last_seen: secs(0),
                current: Some(3),
                presented: 2,
                stored: Some((HASH, Some(secs(0)))),
                expected: ReturnCurrent {
                    current: generation(3),
                },
            },
            Case {
                name: "superseded one microsecond inside the reuse interval",
                revoked: false,
                now: live,
                last_seen: secs(0),
                current: Some(3),
                presented: 2,
                stored: Some((HASH, Some(secs(10) - chrono::Duration::microseconds(1)))),
                expected: ReturnCurrent {
                    current: generation(3),
                },
            },
            Case {
                name: "superseded exactly the reuse interval ago: reuse",
                revoked: false,
                now: live,
                last_seen: secs(0),
                current: Some(3),
                presented: 2,
                stored: Some((HASH, Some(secs(10)))),
                expected: RevokeForReuse,
            },
            Case {
                name: "superseded long ago: reuse",
                revoked: false,
                now: live,
                last_seen: secs(0),
                current: Some(3),
                presented: 1,
                stored: Some((HASH, Some(day))),
                expected: RevokeForReuse,
            },
            Case {
                name: "older generation never marked superseded: reuse",
                revoked: false,
                now: live,
                last_seen: secs(0),
                current: Some(3),
                presented: 2,
                stored: Some((HASH, None)),
                expected: RevokeForReuse,
            },
            Case {
                name: "a generation ahead of the current one: reuse",
                revoked: false,
                now: live,
                last_seen: secs(0),
                current: Some(3),
                presented: 4,
                stored: Some((HASH, Some(secs(0)))),
                expected: RevokeForReuse,
            },
            Case {
                name: "adopted row without a generation: reuse",
                revoked: false,
                now: live,
                last_seen: secs(0),
                current: None,
                presented: 1,
                stored: Some((HASH, Some(secs(0)))),
                expected: RevokeForReuse,
            },
        ];
        for case in &cases {
            assert_eq!(run(case), case.expected, "{}", case.name);
        }
    }

    #[test]
    fn the_last_generation_cannot_rotate() {
        let presented_hash = TokenHash::parse("presented", HASH).expect("hash");
        let last = Generation::from_stored(i64::MAX).expect("max");
        let facts = RotationFacts {
            created_at: t0(),
            last_seen_at: t0(),
            revoked_at: None,
            current: Some(last),
            presented: last,
            presented_hash: &presented_hash,
            stored: Some(StoredGeneration {
                token_hash: HASH,
                superseded: None,
            }),
            lifetimes: Lifetimes::new(Duration::from_secs(60), Duration::from_secs(60)),
            reuse_interval: secs(10),
            now: t0(),
        };
        assert_eq!(decide(&facts), RotationDecision::GenerationsExhausted);
    }
}
