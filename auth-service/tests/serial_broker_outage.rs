//! Broker outage: with every RabbitMQ connection cut, the bridge still
//! answers 200 and the buffered events arrive once the publisher has
//! reconnected. Cuts connections of the shared broker, so this binary runs
//! alone (`serial_` prefix, see .config/nextest.toml).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "api/helpers.rs"]
mod helpers;

use std::collections::HashSet;
use std::time::Duration;

use nexus_common::events::SessionEventKind;

use helpers::*;

fn close_all_connections() {
    let status = std::process::Command::new("rabbitmqctl")
        .args(["close_all_connections", "test: broker outage"])
        .status()
        .expect("rabbitmqctl runs");
    assert!(status.success(), "rabbitmqctl close_all_connections failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn bridge_keeps_working_through_a_broker_outage_and_events_arrive_afterwards() {
    let store = TestStore::spawn().await;
    let jwks = supabase::serve_jwks().await;
    let config = settings(store.url(), &jwks.url).build();
    let exchange = config.events_exchange.clone();
    let queue = format!("{exchange}.outage");
    // A durable queue keeps what is routed while the test's consumer is cut off too.
    let before = EventQueue::bind_durable(&exchange, &queue).await;
    let app = TestApp::start(config).await;
    app.wait_for_broker(true).await;

    close_all_connections();
    app.wait_for_broker(false).await;
    drop(before);

    let mut session_ids = HashSet::new();
    for _ in 0..5 {
        let token = sign_hs256(&supabase_claims(), SUPABASE_SECRET.as_bytes());
        let started = std::time::Instant::now();
        let response = app.bridge(&token).await;
        assert_eq!(
            response.status(),
            200,
            "the bridge does not depend on the broker"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "publishing never waits for the broker"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        session_ids.insert(body["session"]["id"].as_str().unwrap().to_owned());
    }

    // The publisher reconnects with backoff and delivers every buffered event.
    app.wait_for_broker(true).await;
    let mut events = EventQueue::bind_durable(&exchange, &queue).await;
    let mut seen = HashSet::new();
    while seen.len() < session_ids.len() {
        let event = events
            .next_of(SessionEventKind::Created, Duration::from_secs(30))
            .await;
        assert!(
            session_ids.contains(&event.data.session_id),
            "only this test's sessions"
        );
        seen.insert(event.data.session_id);
    }
    assert_eq!(seen, session_ids);

    app.stop().await;
    events.cleanup().await;
    store.stop().await;
}
