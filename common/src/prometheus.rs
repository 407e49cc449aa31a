//! The one way a Nexus service installs its Prometheus recorder.
//!
//! `metrics-exporter-prometheus` keeps every histogram sample in a buffer until
//! something drains it: a scrape, or the "upkeep" that only its bundled HTTP
//! exporter runs. Our services serve `/metrics` themselves, so with the bare
//! recorder a process nobody scrapes (no Prometheus configured, or a scrape that
//! stopped) grew by every request it timed: the 10-minute soak showed
//! session-store's RSS doubling. Installing through here starts the upkeep on
//! its own thread, so memory stays bounded whether or not anyone scrapes.

use std::time::Duration;

use anyhow::Context as _;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Histogram buckets (seconds) for every `*_seconds` metric: 1 ms to 5 s, so
/// p99 alerts (deploy/monitoring/) have a bucket on each side of their thresholds.
pub const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// How often buffered histogram samples are folded into their buckets (the
/// library's own exporter uses the same interval).
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Builds the recorder with [`LATENCY_BUCKETS_SECONDS`] for `*_seconds`
/// histograms, installs it as the process-wide recorder, and starts the upkeep
/// thread. Fails when another recorder is already installed.
pub fn install_recorder() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".to_owned()),
            LATENCY_BUCKETS_SECONDS,
        )
        .context("metrics buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    spawn_upkeep(handle.clone(), UPKEEP_INTERVAL)?;
    Ok(handle)
}

/// Drains `handle`'s histogram buffers every `interval` for the life of the
/// process (a plain thread: it works whatever async runtime the service runs).
fn spawn_upkeep(handle: PrometheusHandle, interval: Duration) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                handle.run_upkeep();
            }
        })
        .context("cannot start the metrics upkeep thread")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Upkeep folds samples into buckets without losing them: what a later
    /// scrape renders is the same count and sum as if it had drained them itself.
    #[test]
    fn upkeep_keeps_every_sample_for_the_next_scrape() {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("_seconds".to_owned()),
                LATENCY_BUCKETS_SECONDS,
            )
            .expect("buckets")
            .build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            for _ in 0..1_000 {
                metrics::histogram!("test_call_seconds").record(0.002);
            }
        });
        handle.run_upkeep();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!("test_call_seconds").record(0.002);
        });
        let text = handle.render();
        assert!(text.contains("test_call_seconds_count 1001"), "{text}");
        assert!(
            text.contains("test_call_seconds_bucket{le=\"0.0025\"} 1001"),
            "{text}"
        );
    }
}
