//! When a session ends: the earlier of its absolute lifetime (from creation)
//! and its inactivity timeout (from the last time it was seen).

use std::time::Duration;

use chrono::{DateTime, Utc};

pub use nexus_domain::SessionStatus;

/// The two limits on a session's life, and how often `last_seen_at` is touched.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub max_lifetime: chrono::Duration,
    pub idle_timeout: chrono::Duration,
}

impl Lifetimes {
    pub fn new(max_lifetime: Duration, idle_timeout: Duration) -> Self {
        let to_chrono =
            |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        Self {
            max_lifetime: to_chrono(max_lifetime),
            idle_timeout: to_chrono(idle_timeout),
        }
    }

    /// The instant a session with these timestamps expires.
    pub fn expires_at(
        &self,
        created_at: DateTime<Utc>,
        last_seen_at: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let by_lifetime = created_at
            .checked_add_signed(self.max_lifetime)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let by_idleness = last_seen_at
            .checked_add_signed(self.idle_timeout)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        by_lifetime.min(by_idleness)
    }

    /// The absolute end of a session created at `created_at`.
    pub fn lifetime_end(&self, created_at: DateTime<Utc>) -> DateTime<Utc> {
        created_at
            .checked_add_signed(self.max_lifetime)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    pub fn status(
        &self,
        created_at: DateTime<Utc>,
        last_seen_at: DateTime<Utc>,
        revoked_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> SessionStatus {
        if revoked_at.is_some() {
            SessionStatus::Revoked
        } else if now >= self.expires_at(created_at, last_seen_at) {
            SessionStatus::Expired
        } else {
            SessionStatus::Active
        }
    }

    /// Sessions created before this instant are past their absolute lifetime.
    pub fn created_cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_signed(self.max_lifetime)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Sessions last seen before this instant are past their inactivity timeout.
    pub fn idle_cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_signed(self.idle_timeout)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// How stale `last_seen_at` may get before validation writes it: a minute,
    /// or a quarter of the idle timeout when that is shorter, so activity
    /// always keeps a session alive while avoiding a write per validation.
    pub fn touch_interval(&self) -> chrono::Duration {
        (self.idle_timeout / 4).min(chrono::Duration::seconds(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifetimes() -> Lifetimes {
        Lifetimes::new(
            Duration::from_secs(30 * 86_400),
            Duration::from_secs(7 * 86_400),
        )
    }

    #[test]
    fn idleness_ends_a_session_before_its_lifetime() {
        let created = Utc::now() - chrono::Duration::days(10);
        let seen = Utc::now() - chrono::Duration::days(8);
        assert_eq!(
            lifetimes().status(created, seen, None, Utc::now()),
            SessionStatus::Expired
        );
        let seen = Utc::now() - chrono::Duration::days(1);
        assert_eq!(
            lifetimes().status(created, seen, None, Utc::now()),
            SessionStatus::Active
        );
        assert_eq!(
            lifetimes().expires_at(created, seen),
            seen + chrono::Duration::days(7)
        );
    }

    #[test]
    fn lifetime_ends_an_active_session() {
        let created = Utc::now() - chrono::Duration::days(31);
        let seen = Utc::now();
        assert_eq!(
            lifetimes().status(created, seen, None, Utc::now()),
            SessionStatus::Expired
        );
        assert_eq!(
            lifetimes().expires_at(created, seen),
            created + chrono::Duration::days(30)
        );
    }

    #[test]
    fn revocation_wins() {
        let now = Utc::now();
        assert_eq!(
            lifetimes().status(now, now, Some(now), now),
            SessionStatus::Revoked
        );
    }

    #[test]
    fn touch_interval_is_at_most_a_minute() {
        assert_eq!(lifetimes().touch_interval(), chrono::Duration::seconds(60));
        let short = Lifetimes::new(Duration::from_secs(60), Duration::from_secs(2));
        assert_eq!(short.touch_interval(), chrono::Duration::milliseconds(500));
    }
}
