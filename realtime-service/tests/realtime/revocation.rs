//! Ended sessions lose their sockets: by event within a second, and by the
//! periodic re-check when no event came.

use std::time::{Duration, Instant};

use nexus_common::events::{SessionCloudEvent, SessionEventData, SessionEventKind};
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn revocation_event_kicks_the_session_within_a_second() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let sid = backend.session("rita").await;
    let other_sid = backend.session("rita").await;
    let token = backend.jwks.token("rita", &sid, None);
    let mut first = connect(&app.url, &token).await;
    let mut second_tab = Client::spawn(
        &app.url,
        Auth::Payload(&token),
        &Options {
            transports: Some("polling"),
            ..Options::default()
        },
    );
    second_tab.connected().await.expect("polling tab connects");
    let mut other_session = connect(&app.url, &backend.jwks.token("rita", &other_sid, None)).await;

    let started = Instant::now();
    backend
        .publish(SessionEventKind::Revoked, "rita", &sid, Some("logout"))
        .await;
    for client in [&mut first, &mut second_tab] {
        let revoked = client.event("session:revoked").await;
        assert_eq!(revoked, json!({"reason": "logout"}));
        let disconnect = client
            .expect(Duration::from_secs(2), "disconnect", |line| {
                line["type"] == "disconnect"
            })
            .await;
        assert_eq!(disconnect["reason"], "io server disconnect");
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );

    // The user's other session is untouched.
    let ack = other_session
        .emit("room:join", json!({"room": "darkroom:still"}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");

    // Reuse detection kicks too, with its own reason; a duplicate event id
    // is ignored (and harmless).
    let event = SessionCloudEvent::new(
        "realtime-tests",
        SessionEventKind::ReuseDetected,
        SessionEventData {
            session_id: other_sid.clone(),
            user_id: "rita".into(),
            reason: None,
            at: chrono::Utc::now(),
        },
    );
    backend
        .publish_event(SessionEventKind::ReuseDetected, &event)
        .await;
    backend
        .publish_event(SessionEventKind::ReuseDetected, &event)
        .await;
    assert_eq!(
        other_session.event("session:revoked").await["reason"],
        "refresh_token_reuse"
    );

    for client in [first, second_tab, other_session] {
        client.close().await;
    }
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("realtime_sessions_kicked_total 3"),
        "{metrics}"
    );
    assert!(metrics.contains("realtime_connections 0"), "{metrics}");
    app.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn recheck_kicks_a_session_revoked_without_an_event() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.recheck_interval = Duration::from_millis(700);
    let app = TestApp::spawn(config).await;
    let sid = backend.session("silent").await;
    let keep = backend.session("silent").await;
    let mut gone = connect(&app.url, &backend.jwks.token("silent", &sid, None)).await;
    let mut kept = connect(&app.url, &backend.jwks.token("silent", &keep, None)).await;

    backend.revoke_silently("silent", &sid).await;
    let revoked = gone
        .expect(
            Duration::from_secs(5),
            "session:revoked from the re-check",
            |line| line["event"] == "session:revoked",
        )
        .await;
    assert_eq!(revoked["data"]["reason"], "session_revoked");
    assert!(
        kept.maybe(Duration::from_millis(1500), |line| line["type"]
            == "disconnect")
            .await
            .is_none(),
        "an active session was dropped by the re-check"
    );
    gone.close().await;
    kept.close().await;
    app.stop().await;
    backend.stop().await;
}

/// Closes this instance's broker connections (only them: other tests keep
/// theirs, so this test can run in parallel with the rest).
fn cut_broker_connections(instance: &str) -> usize {
    let listing = std::process::Command::new("rabbitmqctl")
        .args([
            "list_connections",
            "-q",
            "--no-table-headers",
            "pid",
            "client_properties",
        ])
        .output()
        .expect("rabbitmqctl is installed");
    let listing = String::from_utf8_lossy(&listing.stdout);
    let mut closed = 0;
    for line in listing.lines().filter(|line| line.contains(instance)) {
        let pid = line.split('\t').next().expect("pid column").trim();
        let status = std::process::Command::new("rabbitmqctl")
            .args([
                "close_connection",
                pid,
                "realtime test cuts this instance's link",
            ])
            .status()
            .expect("rabbitmqctl close_connection");
        assert!(status.success());
        closed += 1;
    }
    closed
}

#[tokio::test(flavor = "multi_thread")]
async fn consumer_reconnects_after_losing_the_broker() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let sid = backend.session("bruno").await;
    let mut client = connect(&app.url, &backend.jwks.token("bruno", &sid, None)).await;

    assert_eq!(
        cut_broker_connections(&app.state.instance_id),
        2,
        "relay + session events"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state.broker_connected() {
        assert!(
            Instant::now() < deadline,
            "the instance did not notice the cut"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, _) = app.get("/readyz").await;
    assert_eq!(status, 503, "not ready without the broker");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !app.state.broker_connected() {
        assert!(Instant::now() < deadline, "the instance did not reconnect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.get("/readyz").await.0, 200);

    // Revocation events work again on the new connection.
    backend
        .publish(
            SessionEventKind::Revoked,
            "bruno",
            &sid,
            Some("after_outage"),
        )
        .await;
    assert_eq!(
        client.event("session:revoked").await["reason"],
        "after_outage"
    );
    client.close().await;
    app.stop().await;
    backend.stop().await;
}
