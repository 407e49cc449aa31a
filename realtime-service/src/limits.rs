//! Connection counting (per client IP, per user), connects per second per
//! client IP, and per-socket event rate limiting.
//!
//! The connection slots are RAII guards kept in the socket's state, so they
//! are released whenever the socket's memory is, whatever path the
//! disconnect took. They are counters, not rates. The rates use governor's
//! GCRA, the rate limiter auth-service uses too: one lock-free cell per
//! socket (events) and per client (connects), touched once per event and
//! never across an await.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::{DefaultDirectRateLimiter, Quota};
use moka::sync::Cache;
use nexus_common::client_ip::RateLimitKey;

/// Counts sockets per key, at most `max` each: per client (an IPv4 address
/// or an IPv6 /64, [`RateLimitKey`]) and per user.
#[derive(Debug, Default)]
pub struct SlotCounter<K> {
    counts: Mutex<HashMap<K, usize>>,
    max: usize,
}

/// A held slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot<K: Hash + Eq> {
    counter: Arc<SlotCounter<K>>,
    key: K,
}

/// Sockets per client address.
pub type IpLimiter = SlotCounter<RateLimitKey>;
pub type IpSlot = Slot<RateLimitKey>;
/// Sockets per user (all of the user's sessions on this instance).
pub type UserLimiter = SlotCounter<Arc<str>>;
pub type UserSlot = Slot<Arc<str>>;

impl<K: Hash + Eq + Clone> SlotCounter<K> {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            counts: Mutex::new(HashMap::new()),
            max,
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<K, usize>> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for `key`, or `None` when it already holds `max`.
    pub fn acquire(self: &Arc<Self>, key: K) -> Option<Slot<K>> {
        let mut counts = self.counts();
        let count = counts.entry(key.clone()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot {
            counter: self.clone(),
            key,
        })
    }
}

impl<K: Hash + Eq> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut counts = self
            .counter
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = counts.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Handshakes reaching the connect middleware per second per client (one
/// limiter per [`RateLimitKey`], at most 100,000 clients remembered, a
/// client idle for a minute forgotten).
pub struct ConnectRate {
    limiters: Cache<RateLimitKey, Arc<RateLimiter>>,
    rate: u32,
    burst: u32,
}

impl ConnectRate {
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            limiters: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(std::time::Duration::from_secs(60))
                .build(),
            rate,
            burst,
        }
    }

    /// Counts one connect; `false` when the client is over its rate.
    pub fn allow(&self, ip: IpAddr) -> bool {
        self.limiters
            .get_with(RateLimitKey::of(Some(ip)), || {
                Arc::new(RateLimiter::new(self.rate, self.burst))
            })
            .allow()
    }
}

/// `rate` events per second sustained, `burst` at once (zero counts as one).
pub struct RateLimiter(DefaultDirectRateLimiter);

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimiter")
    }
}

impl RateLimiter {
    pub fn new(rate: u32, burst: u32) -> Self {
        let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self(governor::RateLimiter::direct(
            Quota::per_second(rate).allow_burst(burst),
        ))
    }

    /// Takes one cell; `false` when the caller is over its rate.
    pub fn allow(&self) -> bool {
        self.0.check().is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(ip: IpAddr) -> RateLimitKey {
        RateLimitKey::of(Some(ip))
    }

    #[test]
    fn ip_slots_are_counted_and_released() {
        let limiter = IpLimiter::new(2);
        let ip = client([127, 0, 0, 1].into());
        let a = limiter.acquire(ip).expect("first");
        let _b = limiter.acquire(ip).expect("second");
        assert!(limiter.acquire(ip).is_none());
        assert!(limiter.acquire(client([127, 0, 0, 2].into())).is_some());
        drop(a);
        assert!(limiter.acquire(ip).is_some());
    }

    #[test]
    fn ipv6_connections_count_per_64() {
        let limiter = IpLimiter::new(1);
        let first: IpAddr = "2001:db8:1:2::1".parse().expect("v6");
        let same_net: IpAddr = "2001:db8:1:2:ffff::2".parse().expect("v6");
        let next_net: IpAddr = "2001:db8:1:3::1".parse().expect("v6");
        let _held = limiter.acquire(client(first)).expect("first");
        assert!(limiter.acquire(client(same_net)).is_none());
        assert!(limiter.acquire(client(next_net)).is_some());
    }

    #[test]
    fn user_slots_are_counted_and_released() {
        let limiter = UserLimiter::new(1);
        let held = limiter.acquire("u".into()).expect("first");
        assert!(limiter.acquire("u".into()).is_none());
        assert!(limiter.acquire("v".into()).is_some());
        drop(held);
        assert!(limiter.acquire("u".into()).is_some());
    }

    #[test]
    fn connects_per_second_are_limited_per_client() {
        let rate = ConnectRate::new(1, 2);
        let ip: IpAddr = [10, 0, 0, 1].into();
        assert!(rate.allow(ip) && rate.allow(ip));
        assert!(!rate.allow(ip));
        assert!(rate.allow([10, 0, 0, 2].into()));
    }

    #[test]
    fn bucket_allows_a_burst_then_refuses() {
        let bucket = RateLimiter::new(1, 3);
        assert!((0..3).all(|_| bucket.allow()));
        assert!(!bucket.allow());
    }
}
