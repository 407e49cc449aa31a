//! Connection-state recovery with the real socket.io-client: a client that
//! was offline gets exactly what it missed when it re-joins with `since`
//! (e2e/client.mjs `RECOVER=1` does what the README tells clients to do),
//! and is told honestly (`recovered: false`) when the instance cannot.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

fn texts(history: &Value) -> Vec<String> {
    history
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .map(|message| message["text"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn seqs(history: &Value) -> Vec<u64> {
    history
        .as_array()
        .map(|messages| messages.iter().filter_map(|m| m["seq"].as_u64()).collect())
        .unwrap_or_default()
}

fn recovering(reconnect: bool) -> Options<'static> {
    Options {
        recover: true,
        reconnect,
        ..Options::default()
    }
}

/// Takes the client offline (its socket closes) and waits until it is.
async fn go_offline(client: &mut Client) {
    client.send(json!({"cmd": "disconnect"})).await;
    client
        .expect(Duration::from_secs(5), "disconnect", |line| {
            line["type"] == "disconnect"
        })
        .await;
}

/// Brings it back and returns the re-join reply for `room`.
async fn come_back(client: &mut Client, room: &str) -> Value {
    client.send(json!({"cmd": "connect"})).await;
    client
        .expect(Duration::from_secs(10), "re-join", |line| {
            line["type"] == "rejoin" && line["room"] == room
        })
        .await["data"]
        .clone()
}

async fn send(client: &mut Client, room: &str, text: &str) -> Value {
    let ack = client
        .emit("room:message", json!({"room": room, "text": text}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    ack
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_offline_while_three_messages_were_sent_gets_exactly_those_three() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let sid_a = backend.session("ada").await;
    let sid_b = backend.session("bo").await;
    let mut a = Client::spawn(
        &app.url,
        Auth::Payload(&backend.jwks.token("ada", &sid_a, Some("Ada"))),
        &recovering(false),
    );
    a.connected().await.expect("ada connects");
    let mut b = connect(&app.url, &backend.jwks.token("bo", &sid_b, Some("Bo"))).await;
    let room = format!("darkroom:{}", uuid::Uuid::new_v4().simple());

    let joined = a.emit("room:join", json!({"room": room})).await;
    assert_eq!(joined["ok"], true, "{joined}");
    let epoch = joined["epoch"].as_str().expect("epoch").to_owned();
    assert_eq!(joined["seq"], 0, "a new room: {joined}");
    assert!(joined.get("recovered").is_none(), "no since, no verdict");
    b.emit("room:join", json!({"room": room})).await;
    let first = send(&mut b, &room, "before").await;
    assert_eq!(
        (first["seq"].as_u64(), first["epoch"].as_str()),
        (Some(1), Some(epoch.as_str()))
    );
    let seen = a.event("room:message").await;
    assert_eq!(
        (seen["seq"].as_u64(), seen["epoch"].as_str()),
        (Some(1), Some(epoch.as_str()))
    );

    go_offline(&mut a).await;
    for text in ["one", "two", "three"] {
        send(&mut b, &room, text).await;
    }
    let rejoined = come_back(&mut a, &room).await;
    assert_eq!(rejoined["ok"], true, "{rejoined}");
    assert_eq!(rejoined["recovered"], true, "{rejoined}");
    assert_eq!(texts(&rejoined["history"]), ["one", "two", "three"]);
    assert_eq!(seqs(&rejoined["history"]), [2, 3, 4]);
    assert_eq!(
        (rejoined["epoch"].as_str(), rejoined["seq"].as_u64()),
        (Some(epoch.as_str()), Some(4))
    );

    // Back live: the next message continues the sequence, nothing twice.
    send(&mut b, &room, "after").await;
    let live = a.event("room:message").await;
    assert_eq!(
        (live["text"].as_str(), live["seq"].as_u64()),
        (Some("after"), Some(5))
    );
    let lines = a.close().await;
    let messages: Vec<&Value> = lines
        .iter()
        .filter(|line| line["type"] == "event" && line["event"] == "room:message")
        .collect();
    assert_eq!(
        messages.len(),
        2,
        "only 'before' and 'after' live: {messages:?}"
    );
    b.close().await;
    app.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_says_no_when_too_much_was_missed_a_since_is_hostile_or_the_instance_restarted() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.limits.recovery_messages = 3;
    config.limits.history_len = 2;
    let app = TestApp::spawn(config.clone()).await;
    let addr = app.addr;
    let sid_a = backend.session("cy").await;
    let sid_b = backend.session("di").await;
    let mut a = Client::spawn(
        &app.url,
        Auth::Payload(&backend.jwks.token("cy", &sid_a, None)),
        &recovering(true),
    );
    a.connected().await.expect("cy connects");
    let mut b = connect(&app.url, &backend.jwks.token("di", &sid_b, None)).await;
    let room = format!("darkroom:{}", uuid::Uuid::new_v4().simple());
    let joined = a.emit("room:join", json!({"room": room})).await;
    let epoch = joined["epoch"].as_str().expect("epoch").to_owned();
    b.emit("room:join", json!({"room": room})).await;

    // Four missed, three kept for recovery: the latest history instead.
    go_offline(&mut a).await;
    for text in ["m1", "m2", "m3", "m4"] {
        send(&mut b, &room, text).await;
    }
    let rejoined = come_back(&mut a, &room).await;
    assert_eq!(rejoined["ok"], true, "{rejoined}");
    assert_eq!(rejoined["recovered"], false, "{rejoined}");
    assert_eq!(
        texts(&rejoined["history"]),
        ["m3", "m4"],
        "history_len latest"
    );
    assert_eq!(rejoined["seq"], 4);

    // Hostile or broken recovery points: clear error acks, the socket stays;
    // a seq the room never reached is simply not recovered.
    for since in [
        json!({"epoch": epoch, "seq": -1}),
        json!({"epoch": epoch, "seq": 2.5}),
        json!({"epoch": epoch, "seq": "3"}),
        json!({"epoch": 12, "seq": 3}),
        json!({"epoch": "x".repeat(100), "seq": 3}),
        json!([epoch, 3]),
    ] {
        let ack = a
            .emit("room:join", json!({"room": room, "since": since}))
            .await;
        assert_eq!(
            error_code(&ack).as_deref(),
            Some("bad_request"),
            "{since}: {ack}"
        );
        assert!(
            ack["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("since")
        );
    }
    let beyond = a
        .emit(
            "room:join",
            // The largest integer JavaScript holds exactly.
            json!({"room": room, "since": {"epoch": epoch, "seq": 9_007_199_254_740_991_u64}}),
        )
        .await;
    assert_eq!(beyond["recovered"], false, "{beyond}");
    let raw = a
        .emit_raw(
            "room:join",
            json!([{"room": room, "since": {"epoch": epoch, "seq": 1e300}}]),
        )
        .await;
    assert_eq!(error_code(&raw).as_deref(), Some("bad_request"), "{raw}");
    send(&mut a, &room, "still fine").await;

    // A restarted instance holds nothing of the old epoch: not recovered.
    b.close().await;
    app.stop().await;
    a.expect(Duration::from_secs(5), "disconnect on shutdown", |line| {
        line["type"] == "disconnect"
    })
    .await;
    config.listen = addr;
    let restarted = TestApp::spawn(config).await;
    let line = a
        .expect(
            Duration::from_secs(15),
            "re-join after the restart",
            |line| line["type"] == "rejoin" && line["room"] == room.as_str(),
        )
        .await;
    assert_eq!(line["since"]["epoch"], epoch.as_str());
    assert_eq!(line["data"]["ok"], true, "{line}");
    assert_eq!(line["data"]["recovered"], false, "{line}");
    assert_ne!(line["data"]["epoch"], epoch.as_str(), "a new epoch");
    a.close().await;
    restarted.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_relayed_from_another_instance_are_sequenced_here_and_recovered() {
    let backend = Backend::start().await;
    let one = TestApp::spawn(backend.config()).await;
    let two = TestApp::spawn(backend.config()).await;
    let sid_a = backend.session("eve").await;
    let sid_c = backend.session("cal").await;
    let sid_b = backend.session("fay").await;
    let mut a = Client::spawn(
        &one.url,
        Auth::Payload(&backend.jwks.token("eve", &sid_a, None)),
        &recovering(false),
    );
    a.connected().await.expect("eve connects");
    // Cal stays on instance one, so it keeps the room (and its buffer).
    let mut c = connect(&one.url, &backend.jwks.token("cal", &sid_c, None)).await;
    let mut b = connect(&two.url, &backend.jwks.token("fay", &sid_b, None)).await;
    let room = format!("darkroom:{}", uuid::Uuid::new_v4().simple());
    let on_one = a.emit("room:join", json!({"room": room})).await;
    c.emit("room:join", json!({"room": room})).await;
    let on_two = b.emit("room:join", json!({"room": room})).await;
    assert_ne!(
        on_one["epoch"], on_two["epoch"],
        "each instance has its own epoch"
    );
    // Instance two hears of one's members before it relays chat messages.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !two.state.presence.has_peers(&room) {
        assert!(
            std::time::Instant::now() < deadline,
            "instance two never saw instance one"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    go_offline(&mut a).await;
    for text in ["r1", "r2", "r3"] {
        send(&mut b, &room, text).await;
        assert_eq!(c.event("room:message").await["text"], text);
    }
    let rejoined = come_back(&mut a, &room).await;
    assert_eq!(rejoined["recovered"], true, "{rejoined}");
    assert_eq!(texts(&rejoined["history"]), ["r1", "r2", "r3"]);
    assert_eq!(
        seqs(&rejoined["history"]),
        [1, 2, 3],
        "instance one's own seqs"
    );
    assert_eq!(rejoined["epoch"], on_one["epoch"]);
    a.close().await;
    b.close().await;
    c.close().await;
    one.stop().await;
    two.stop().await;
    backend.stop().await;
}
