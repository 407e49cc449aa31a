//! The background purge: every `purge_interval`, delete sessions dead for
//! longer than `purge_after`. A failed run is logged and retried next time
//! (the database may be down); the task stops when told to shut down.

use std::time::Duration;

use tokio::sync::watch;

use crate::repository::Repository;

/// Runs until `stop` flips to true (or its sender is dropped).
pub async fn run(
    repository: Repository,
    every: Duration,
    retention: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    tracing::debug!("purge task stopped");
                    return;
                }
                continue;
            }
        }
        match repository.purge_dead(retention).await {
            Ok(0) => tracing::debug!("purge: nothing to delete"),
            Ok(deleted) => tracing::info!(deleted, "purged long-dead sessions"),
            Err(error) => tracing::warn!(error = %error, "purge failed, retrying next interval"),
        }
    }
}
