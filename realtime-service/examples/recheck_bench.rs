//! How long one periodic re-check of N connected sessions takes: before
//! (one `ValidateSession` per session, 8 in flight: the re-check as it was
//! until issue 9) and after (`ValidateSessions` batches of 1,000, what
//! `recheck::check` does now). Rerunnable; prints one table row per round.
//!
//! ```text
//! cargo run --release -p realtime-service --example recheck_bench
//! # knobs (defaults): BENCH_SESSIONS=19000 BENCH_ROUNDS=3 BENCH_OLD_CONCURRENCY=8
//! #   BENCH_STORE_URL=http://127.0.0.1:50051 (a running session-store, with
//! #   SESSION_STORE_TOKEN if it wants one; default: an in-process session-store on a fresh
//! #   database of the local Postgres, TEST_DATABASE_ADMIN_URL, dropped at the end)
//! ```
//!
//! The sessions are created through `CreateSession` first (not timed). Both
//! strategies run through realtime-service's own `Authenticator` and
//! session-store client, alternately, so a noisy neighbour hurts both alike.

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use nexus_common::client_ip::TrustedProxies;
use nexus_common::store_client::{StoreClient, StoreClientConfig};
use nexus_proto::session_v1::CreateSessionRequest;
use nexus_testkit::TestStore;
use realtime_service::config::{Limits, RealtimeConfig};
use realtime_service::domain::alias::AliasKey;
use realtime_service::domain::grant::GrantKeys;
use realtime_service::domain::ids::SessionId;
use realtime_service::startup::Application;
use realtime_service::state::AppState;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|raw| raw.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sessions = knob("BENCH_SESSIONS", 19_000);
    let rounds = knob("BENCH_ROUNDS", 3);
    let old_concurrency = knob("BENCH_OLD_CONCURRENCY", 8).max(1);

    let (store_url, token, local_store) = match std::env::var("BENCH_STORE_URL") {
        Ok(url) => (url, std::env::var("SESSION_STORE_TOKEN").ok(), None),
        Err(_) => {
            let store = TestStore::spawn().await;
            (store.url().to_owned(), None, Some(store))
        }
    };
    let store_config = StoreClientConfig {
        url: store_url.clone(),
        token,
        timeout: Duration::from_secs(30),
    };
    let client = nexus_common::store_client::connect_lazy(&store_config)?;

    let started = Instant::now();
    let ids = create_sessions(&client, sessions).await?;
    println!(
        "created {} sessions in {:.1} s (store: {})",
        ids.len(),
        started.elapsed().as_secs_f64(),
        if local_store.is_some() {
            "in-process"
        } else {
            store_url.as_str()
        }
    );

    let app = Application::build(config(store_config)).await?;
    let state = app.state();
    // Warm up connections and prepared statements.
    one_by_one(&state, ids[..100.min(ids.len())].to_vec(), old_concurrency).await;
    realtime_service::recheck::check(&state, ids.clone()).await;

    println!(
        "| round | sessions | one call per session ({old_concurrency} in flight) | batched (1,000 per call) |"
    );
    println!("|---|---|---|---|");
    for round in 1..=rounds {
        let started = Instant::now();
        let ended_before = one_by_one(&state, ids.clone(), old_concurrency).await;
        let before = started.elapsed();
        let started = Instant::now();
        let checked = realtime_service::recheck::check(&state, ids.clone()).await;
        let after = started.elapsed();
        anyhow::ensure!(
            ended_before == 0 && checked.ended.is_empty() && checked.unavailable == 0,
            "every session should be active and answered (before: {ended_before} ended; after: \
             {} ended, {} unanswered)",
            checked.ended.len(),
            checked.unavailable
        );
        println!(
            "| {round} | {} | {:.0} ms | {:.0} ms |",
            ids.len(),
            before.as_secs_f64() * 1000.0,
            after.as_secs_f64() * 1000.0
        );
    }
    drop(app);
    if let Some(store) = local_store {
        store.stop().await;
    }
    Ok(())
}

/// The re-check as it was: one `ValidateSession` per session, `concurrency`
/// in flight. Returns how many sessions were not active or not answered.
async fn one_by_one(state: &AppState, sessions: Vec<SessionId>, concurrency: usize) -> usize {
    futures::stream::iter(sessions)
        .map(|session| async move { state.store.session(&session).await })
        .buffer_unordered(concurrency)
        .filter(|result| {
            let ended = !matches!(
                result,
                Ok((realtime_service::store::SessionLookup::ACTIVE, _))
            );
            async move { ended }
        })
        .count()
        .await
}

async fn create_sessions(client: &StoreClient, count: usize) -> anyhow::Result<Vec<SessionId>> {
    let results: Vec<anyhow::Result<SessionId>> = futures::stream::iter(0..count)
        .map(|n| {
            let mut client = client.clone();
            async move {
                let request = CreateSessionRequest {
                    user_id: format!("bench-user-{n}"),
                    user_agent: Some("recheck-bench".into()),
                    ip_address: Some("127.0.0.1".into()),
                    supabase_session_id: Some(uuid::Uuid::new_v4().to_string()),
                    refresh_secret: vec![7; 32],
                    token_hash: format!("{n:064x}"),
                    key_id: "k1".into(),
                };
                // A busy box makes the pool wait past its deadline now and then: retry.
                let mut attempt = 0;
                let response = loop {
                    match client.create_session(request.clone()).await {
                        Ok(response) => break response.into_inner(),
                        Err(status)
                            if status.code() == tonic::Code::Unavailable && attempt < 10 =>
                        {
                            attempt += 1;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        Err(status) => return Err(status.into()),
                    }
                };
                let id = response
                    .state
                    .and_then(|state| state.session)
                    .map(|session| session.id)
                    .ok_or_else(|| anyhow::anyhow!("CreateSession answered without a session"))?;
                Ok(SessionId::parse(&id)?)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().collect()
}

fn config(store: StoreClientConfig) -> RealtimeConfig {
    RealtimeConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        store,
        amqp_url: "amqp://127.0.0.1:5672/%2f".into(),
        session_exchange: "unused.by.the.bench".into(),
        rooms_exchange: "unused.by.the.bench".into(),
        // Never fetched: the bench verifies no token.
        jwks_url: "http://127.0.0.1:9/jwks.json".into(),
        supabase: None,
        cors_origins: Vec::new(),
        trusted_proxies: TrustedProxies::default(),
        grant_keys: GrantKeys::default(),
        alias_key: AliasKey::development(),
        recheck_interval: Duration::from_secs(3600),
        presence_snapshot_interval: Duration::from_secs(10),
        limits: Limits::default(),
        faults: realtime_service::faults::Faults::default(),
    }
}
