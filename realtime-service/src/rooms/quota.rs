//! How many hangouts a user may create: `limit` per rolling hour that starts
//! at their first creation, per instance. Enough to stop a script from
//! minting rooms in a loop; not a billing-grade counter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use moka::sync::Cache;

/// Creation counts per user.
#[derive(Clone)]
pub struct HangoutQuota {
    counts: Cache<String, Arc<AtomicU32>>,
    limit: u32,
}

impl HangoutQuota {
    pub fn new(limit: u32) -> Self {
        Self {
            counts: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(3600))
                .build(),
            limit,
        }
    }

    /// Counts one creation; `false` when the user is over the limit.
    pub fn try_take(&self, user: &str) -> bool {
        let count = self
            .counts
            .get_with(user.to_owned(), || Arc::new(AtomicU32::new(0)));
        count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_per_user() {
        let quota = HangoutQuota::new(2);
        assert!(quota.try_take("a") && quota.try_take("a"));
        assert!(!quota.try_take("a"));
        assert!(quota.try_take("b"));
    }
}
