//! Rate limits of the endpoints that mint or end sessions and of group writes
//! (governor's GCRA).
//!
//! Each endpoint has a per-client limit keyed by [`RateLimitKey`] (an IPv4
//! address or an IPv6 /64, resolved through trusted proxies; requests without
//! a known address share one key) and a global ceiling over all clients, which
//! still holds when an attacker spreads requests over many addresses. Old keys
//! are pruned periodically so the map stays bounded by recent clients.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use nexus_common::client_ip::RateLimitKey;

use crate::config::{EndpointRate, RateLimit};
use crate::http::error::ApiError;

/// The limiters of one endpoint.
pub struct EndpointLimiter {
    per_client: Option<DefaultKeyedRateLimiter<RateLimitKey>>,
    global: Option<DefaultDirectRateLimiter>,
}

impl std::fmt::Debug for EndpointLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointLimiter")
            .field("per_client", &self.per_client.is_some())
            .field("global", &self.global.is_some())
            .finish()
    }
}

fn quota(limit: RateLimit) -> Quota {
    let per_second = NonZeroU32::new(limit.per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(per_second).allow_burst(burst)
}

fn refused(not_until: &governor::NotUntil<<DefaultClock as Clock>::Instant>) -> ApiError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    ApiError::RateLimited(wait.as_secs().max(1))
}

impl EndpointLimiter {
    pub fn new(rate: EndpointRate) -> Self {
        Self {
            per_client: rate
                .per_client
                .map(|limit| RateLimiter::keyed(quota(limit))),
            global: rate.global.map(|limit| RateLimiter::direct(quota(limit))),
        }
    }

    /// `Err(RateLimited)` when this client, or everyone together, has used up
    /// the quota. The client's own limit is checked first, so one noisy
    /// client does not drain the global budget.
    pub fn check(&self, client: RateLimitKey) -> Result<(), ApiError> {
        if let Some(limiter) = &self.per_client {
            limiter
                .check_key(&client)
                .map_err(|not_until| refused(&not_until))?;
        }
        if let Some(limiter) = &self.global {
            limiter.check().map_err(|not_until| {
                tracing::warn!(%client, "global rate limit reached");
                refused(&not_until)
            })?;
        }
        Ok(())
    }

    /// Drops state of clients that are back to a full quota.
    pub fn prune(&self) {
        if let Some(limiter) = &self.per_client {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// One limiter per rate-limited endpoint.
#[derive(Debug)]
pub struct Limiters {
    pub bridge: EndpointLimiter,
    pub refresh: EndpointLimiter,
    pub logout: EndpointLimiter,
    pub groups: EndpointLimiter,
}

impl Limiters {
    pub fn new(limits: crate::config::RateLimits) -> Self {
        Self {
            bridge: EndpointLimiter::new(limits.bridge),
            refresh: EndpointLimiter::new(limits.refresh),
            logout: EndpointLimiter::new(limits.logout),
            groups: EndpointLimiter::new(limits.groups),
        }
    }

    pub fn prune(&self) {
        for limiter in [&self.bridge, &self.refresh, &self.logout, &self.groups] {
            limiter.prune();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: u32, burst: u32) -> Option<RateLimit> {
        Some(RateLimit { per_second, burst })
    }

    #[test]
    fn clients_without_an_address_share_one_quota() {
        let limiter = EndpointLimiter::new(EndpointRate {
            per_client: limit(1, 2),
            global: None,
        });
        let unknown = RateLimitKey::of(None);
        assert!(limiter.check(unknown).is_ok());
        assert!(limiter.check(unknown).is_ok());
        assert!(matches!(
            limiter.check(unknown),
            Err(ApiError::RateLimited(_))
        ));
    }

    #[test]
    fn the_global_ceiling_holds_across_many_clients() {
        let limiter = EndpointLimiter::new(EndpointRate {
            per_client: limit(100, 100),
            global: limit(1, 3),
        });
        let key = |last: u8| RateLimitKey::of(Some([198, 51, 100, last].into()));
        for last in 1..=3 {
            assert!(limiter.check(key(last)).is_ok());
        }
        assert!(matches!(
            limiter.check(key(4)),
            Err(ApiError::RateLimited(_))
        ));
    }
}
