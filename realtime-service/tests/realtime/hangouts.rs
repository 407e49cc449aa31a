//! Hangouts exist only once created: `room:join` of a made-up, altered or
//! forgotten hangout id is refused, joiners learn the hangout's name, and
//! every instance knows the hangouts any of them created (the relay).

use std::time::Duration;

use realtime_service::domain::alias::AliasKey;
use realtime_service::domain::hangout_id::HangoutIds;
use serde_json::{Value, json};

use crate::helpers::*;

async fn create(client: &mut Client, name: &str) -> String {
    let created = client.emit("hangout:create", json!({"name": name})).await;
    assert_eq!(created["ok"], true, "{created}");
    created["room"].as_str().expect("room").to_owned()
}

fn refused_as_unknown(ack: &Value) {
    assert_eq!(error_code(ack).as_deref(), Some("unknown_hangout"), "{ack}");
}

/// The same id with its last hex digit changed.
fn altered(room: &str) -> String {
    let mut text = room.to_owned();
    let last = text.pop().expect("non-empty");
    text.push(if last == '0' { '1' } else { '0' });
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn only_created_hangouts_can_be_joined_and_joiners_learn_the_name() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let sid_a = backend.session("hal").await;
    let sid_b = backend.session("ivy").await;
    let mut a = connect(&app.url, &backend.jwks.token("hal", &sid_a, Some("Hal"))).await;
    let mut b = connect(&app.url, &backend.jwks.token("ivy", &sid_b, Some("Ivy"))).await;

    let room = create(&mut a, "Board games").await;
    let joined = b.emit("room:join", json!({"room": room})).await;
    assert_eq!(joined["ok"], true, "{joined}");
    assert_eq!(joined["hangout"]["name"], "Board games");
    assert_eq!(
        joined["hangout"]["creator"],
        json!({"id": "hal", "name": "Hal"})
    );
    assert!(
        joined["hangout"]["created_at"]
            .as_i64()
            .is_some_and(|at| at > 0)
    );

    // Never created: made up, altered, or minted under another key.
    let foreign =
        HangoutIds::new(&AliasKey::new(b"another-deployment-key-0123").expect("key")).mint();
    for forged in [
        "hangout:friday-night".to_owned(),
        "hangout:0123456789abcdef0123456789abcdef".to_owned(),
        altered(&room),
        foreign.as_str().to_owned(),
    ] {
        let ack = b.emit("room:join", json!({"room": forged})).await;
        refused_as_unknown(&ack);
        assert!(
            ack["error"]["message"]
                .as_str()
                .is_some_and(|message| message.contains("hangout")),
            "{ack}"
        );
    }
    // Authentic (minted with this deployment's key) but never created: the
    // instance asks the others, nobody knows it, refused.
    let minted = HangoutIds::new(&AliasKey::new(ALIAS_KEY).expect("key")).mint();
    refused_as_unknown(&b.emit("room:join", json!({"room": minted.as_str()})).await);
    // The refusals left no trace: the socket still works in the real one.
    let sent = b
        .emit("room:message", json!({"room": room, "text": "hello"}))
        .await;
    assert_eq!(sent["ok"], true, "{sent}");
    a.close().await;
    b.close().await;
    app.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_instance_knows_the_hangouts_created_on_any_of_them() {
    let backend = Backend::start().await;
    let one = TestApp::spawn(backend.config()).await;
    let two = TestApp::spawn(backend.config()).await;
    let sid_a = backend.session("jo").await;
    let sid_b = backend.session("kit").await;
    let mut a = connect(&one.url, &backend.jwks.token("jo", &sid_a, Some("Jo"))).await;
    let mut b = connect(&two.url, &backend.jwks.token("kit", &sid_b, Some("Kit"))).await;

    // Joined on the other instance right after the creation ack.
    for round in 0..5 {
        let name = format!("Across {round}");
        let room = create(&mut a, &name).await;
        let joined = b.emit("room:join", json!({"room": room})).await;
        assert_eq!(joined["ok"], true, "{joined}");
        assert_eq!(joined["hangout"]["name"], name.as_str());
        refused_as_unknown(&b.emit("room:join", json!({"room": altered(&room)})).await);
    }

    // An instance started after the creation learns it from the others.
    let room = create(&mut a, "Before three").await;
    // Wait for instance two to have the announcement, so that it too could
    // answer; then stop one: three must learn it from two alone.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while two.state.hangouts.get(&room).is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "two never heard of the hangout"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.close().await;
    one.stop().await;
    let three = TestApp::spawn(backend.config()).await;
    let sid_c = backend.session("lu").await;
    let mut c = connect(&three.url, &backend.jwks.token("lu", &sid_c, Some("Lu"))).await;
    let joined = c.emit("room:join", json!({"room": room})).await;
    assert_eq!(joined["ok"], true, "{joined}");
    assert_eq!(joined["hangout"]["name"], "Before three");
    assert_eq!(
        joined["hangout"]["creator"],
        json!({"id": "jo", "name": "Jo"})
    );
    refused_as_unknown(&c.emit("room:join", json!({"room": altered(&room)})).await);
    b.close().await;
    c.close().await;
    two.stop().await;
    three.stop().await;
    backend.stop().await;
}
