//! Bounds against hostile clients, each tried: oversized frames (before and
//! after CONNECT), Engine.IO sessions that never CONNECT, connection caps,
//! binary attachments, text in bytes.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::raw::RawSocket;

/// A frame announcing more than 64 KiB is refused from its header: the
/// server closes the connection without waiting for (or buffering) the
/// payload, before and after the Socket.IO CONNECT.
#[tokio::test(flavor = "multi_thread")]
async fn oversized_websocket_frames_close_the_connection_unbuffered() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let sid = backend.session("big").await;
    let token = backend.jwks.token("big", &sid, None);

    // Before CONNECT: a header claiming 1 MiB, then only 1 KiB of it.
    let mut early = RawSocket::open(app.addr, None).await;
    early.send_header(0x1, 1024 * 1024).await;
    let _ = early.send_bytes(&[b'x'; 1024]).await;
    assert!(
        early.closed_by_server().await,
        "the server waited for the payload"
    );

    // After CONNECT, the same.
    let (mut late, answer) = RawSocket::connect(app.addr, &token, None).await;
    assert!(answer.starts_with("40"), "{answer}");
    late.send_header(0x1, 65 * 1024).await;
    let _ = late.send_bytes(&[b'x'; 1024]).await;
    assert!(
        late.closed_by_server().await,
        "the server waited for the payload"
    );
    eventually("the socket is gone", || {
        app.state.metrics.connections() == 0 && app.io.sockets().is_empty()
    })
    .await;

    // A frame just under the limit is fine (and answered).
    let (mut fine, _) = RawSocket::connect(app.addr, &token, None).await;
    let text = "y".repeat(1900);
    fine.send_text(&format!(
        r#"421["room:message",{{"room":"hangout:nope","text":"{text}"}}]"#
    ))
    .await;
    let ack = fine.read_text().await.expect("an ack");
    assert!(ack.starts_with("431["), "{ack}");
    assert!(ack.contains("not_in_room"), "{ack}");
    app.stop().await;
    backend.stop().await;
}

/// Engine.IO sessions without CONNECT: a few per client address at once
/// (the next handshake is answered 429), each closed after the connect
/// timeout, and their slots come back.
#[tokio::test(flavor = "multi_thread")]
async fn sessions_that_never_connect_are_few_and_short_lived() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.limits.pending_handshakes_per_ip = 3;
    config.limits.connect_timeout = Duration::from_millis(1500);
    let app = TestApp::spawn(config).await;
    let http = reqwest::Client::new();
    let handshake = || {
        http.get(format!("{}/socket.io/?EIO=4&transport=polling", app.url))
            .send()
    };
    let mut sids = Vec::new();
    for _ in 0..3 {
        let response = handshake().await.expect("handshake");
        assert_eq!(response.status(), 200);
        let body = response.text().await.expect("body");
        let open: serde_json::Value =
            serde_json::from_str(body.trim_start_matches('0')).expect("open packet");
        sids.push(open["sid"].as_str().expect("sid").to_owned());
    }
    let refused = handshake().await.expect("handshake");
    assert_eq!(refused.status(), 429);
    let body: serde_json::Value = refused.json().await.expect("envelope");
    assert_eq!(body["error"], "too_many_connections", "{body}");

    // Past the connect timeout, the sessions are gone and slots are back.
    for sid in &sids {
        let url = format!("{}/socket.io/?EIO=4&transport=polling&sid={sid}", app.url);
        let mut gone = false;
        for _ in 0..100 {
            let response = http.get(&url).send().await.expect("poll");
            if response.status() != 200 {
                gone = true;
                break;
            }
            let _ = response.text().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(gone, "session {sid} outlived the connect timeout");
    }
    assert_eq!(handshake().await.expect("handshake").status(), 200);

    // A real client is unaffected.
    let sid = backend.session("patient").await;
    connect(&app.url, &backend.jwks.token("patient", &sid, None))
        .await
        .close()
        .await;
    app.stop().await;
    backend.stop().await;
}

/// Sockets per user and connects per second per address are capped with
/// `too_many_connections`.
#[tokio::test(flavor = "multi_thread")]
async fn per_user_sockets_and_connect_rate_are_capped() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.limits.sockets_per_user = 2;
    let app = TestApp::spawn(config).await;
    let sid = backend.session("many").await;
    let token = backend.jwks.token("many", &sid, None);
    let first = connect(&app.url, &token).await;
    let second_sid = backend.session("many").await;
    let second = connect(&app.url, &backend.jwks.token("many", &second_sid, None)).await;
    let mut third = Client::spawn(&app.url, Auth::Payload(&token), &Options::default());
    assert_eq!(
        third.connected().await.err().as_deref(),
        Some("too_many_connections")
    );
    third.close().await;
    first.close().await;
    eventually("a slot is free again", || {
        app.state.metrics.connections() == 1
    })
    .await;
    connect(&app.url, &token).await.close().await;
    second.close().await;
    app.stop().await;

    // Ten connects at once against a burst of 2 (and 1 more per second).
    let mut config = backend.config();
    config.limits.connects_per_second = 1;
    config.limits.connect_burst = 2;
    let app = TestApp::spawn(config).await;
    let outcome = node_script(
        "connect-burst.mjs",
        &[
            ("URL", &app.url),
            ("TOKEN", &token),
            ("COUNT", "10"),
            ("AT_ONCE", "10"),
            ("TRANSPORTS", "websocket"),
        ],
    )
    .await;
    let refused = outcome["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .filter(|failure| {
            failure
                .as_str()
                .is_some_and(|text| text.ends_with("connect_error too_many_connections"))
        })
        .count();
    assert!(refused >= 5, "{outcome}");
    assert!(outcome["acked"].as_u64() >= Some(2), "{outcome}");
    // Every refusal the clients saw was counted (a missing series fails).
    let counted = app
        .metric("realtime_auth_refusals_total{code=\"too_many_connections\"}")
        .await;
    assert!(counted >= refused as i64, "{counted} < {refused}");
    app.stop().await;
    backend.stop().await;
}

/// A binary attachment is refused at its header, never buffered: the
/// connection ends with a parse error, and nothing of the event ran.
#[tokio::test(flavor = "multi_thread")]
async fn binary_attachments_are_refused() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let sid = backend.session("bin").await;
    let mut client = connect(&app.url, &backend.jwks.token("bin", &sid, None)).await;
    client
        .send(json!({"cmd": "emit_binary", "ref": 1, "event": "room:join", "bytes": 4096}))
        .await;
    client
        .expect(Duration::from_secs(10), "disconnect", |line| {
            line["type"] == "disconnect"
        })
        .await;
    eventually("the socket is gone", || {
        app.state.metrics.connections() == 0
    })
    .await;
    assert_eq!(app.metric("realtime_rooms").await, 0);
    client.close().await;
    app.stop().await;
    backend.stop().await;
}

/// Text is bounded in bytes as well as characters.
#[tokio::test(flavor = "multi_thread")]
async fn text_over_the_byte_bound_is_refused() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.limits.max_text_bytes = 1000;
    let app = TestApp::spawn(config).await;
    let room_b = hangout(&[&app], "b");
    let sid = backend.session("bytes").await;
    let mut client = connect(&app.url, &backend.jwks.token("bytes", &sid, None)).await;
    client.emit("room:join", json!({"room": room_b})).await;
    // 300 characters, 1200 bytes.
    let ack = client
        .emit(
            "room:message",
            json!({"room": room_b, "text": "😀".repeat(300)}),
        )
        .await;
    assert_eq!(error_code(&ack).as_deref(), Some("invalid_text"), "{ack}");
    let ack = client
        .emit(
            "room:message",
            json!({"room": room_b, "text": "😀".repeat(200)}),
        )
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    client.close().await;
    app.stop().await;
    backend.stop().await;
}

/// A room's history is dropped once the room stayed empty for the grace
/// period; a room someone is in keeps it.
#[tokio::test(flavor = "multi_thread")]
async fn an_empty_rooms_history_goes_after_the_grace_period() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.limits.history_grace = Duration::from_secs(1);
    let app = TestApp::spawn(config).await;
    let sid = backend.session("hist").await;
    let mut client = connect(&app.url, &backend.jwks.token("hist", &sid, None)).await;
    let left = hangout(&[&app], "left");
    let kept = hangout(&[&app], "kept");
    for room in [&left, &kept] {
        client.emit("room:join", json!({ "room": room })).await;
        client
            .emit("room:message", json!({ "room": room, "text": "remember" }))
            .await;
    }
    client.emit("room:leave", json!({"room": left})).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !app.state.history.recent(&left).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the empty room's history was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.state.history.recent(&kept).await.len(), 1);
    client.close().await;
    app.stop().await;
    backend.stop().await;
}
