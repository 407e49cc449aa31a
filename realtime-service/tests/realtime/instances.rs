//! Several instances: rooms shared through the RabbitMQ relay, and clients
//! surviving a restart.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_rooms_presence_and_aliases() {
    let backend = Backend::start().await;
    let one = TestApp::spawn(backend.config()).await;
    let two = TestApp::spawn(backend.config()).await;
    let sid_a = backend.session("uma").await;
    let sid_b = backend.session("vic").await;
    let mut a = connect(&one.url, &backend.jwks.token("uma", &sid_a, Some("Uma"))).await;
    let mut b = connect(&two.url, &backend.jwks.token("vic", &sid_b, Some("Vic"))).await;

    // Hangout across instances: presence and messages both ways.
    let room = a.emit("hangout:create", json!({"name": "cross"})).await["room"]
        .as_str()
        .expect("room")
        .to_owned();
    a.emit("room:join", json!({"room": room})).await;
    b.emit("room:join", json!({"room": room})).await;
    let presence = a.event("room:presence").await;
    assert_eq!(presence["joined"], json!({"id": "vic", "name": "Vic"}));
    assert_eq!(
        presence["members"].as_array().map(Vec::len),
        Some(2),
        "{presence}"
    );

    b.emit("room:message", json!({"room": room, "text": "from two"}))
        .await;
    assert_eq!(a.event("room:message").await["text"], "from two");
    a.emit("room:message", json!({"room": room, "text": "from one"}))
        .await;
    let got = b.event("room:message").await;
    assert_eq!(got["text"], "from one");
    assert_eq!(got["from"], json!({"id": "uma", "name": "Uma"}));

    // Within a snapshot interval, instance two also lists Uma.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = b.emit("room:join", json!({"room": room})).await;
    assert_eq!(
        again["members"].as_array().map(Vec::len),
        Some(2),
        "{again}"
    );

    // Dark room: the alias of Uma is the same on both instances.
    let alias_here =
        a.emit("room:join", json!({"room": "darkroom:x1"})).await["members"][0]["name"].clone();
    b.emit("room:join", json!({"room": "darkroom:x1"})).await;
    a.event("room:presence").await;
    a.emit(
        "room:message",
        json!({"room": "darkroom:x1", "text": "anon"}),
    )
    .await;
    let seen = b.event("room:message").await;
    assert_eq!(seen["from"]["name"], alias_here);
    assert!(seen["from"].get("id").is_none());

    // Leaving on one instance shows on the other.
    b.emit("room:leave", json!({"room": room})).await;
    let left = a.event("room:presence").await;
    assert_eq!(left["left"], json!({"id": "vic", "name": "Vic"}));

    a.close().await;
    b.close().await;
    one.stop().await;
    two.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_reconnects_after_a_restart_and_rejoins() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let addr = app.addr;
    let sid = backend.session("rex").await;
    let token = backend.jwks.token("rex", &sid, None);
    let mut client = Client::spawn(
        &app.url,
        Auth::Payload(&token),
        &Options {
            reconnect: true,
            ..Options::default()
        },
    );
    let first = client.connected().await.expect("connects");
    client
        .emit("room:join", json!({"room": "darkroom:restart"}))
        .await;

    app.stop().await;
    let disconnect = client
        .expect(Duration::from_secs(5), "disconnect on shutdown", |line| {
            line["type"] == "disconnect"
        })
        .await;
    assert_eq!(
        disconnect["reason"], "transport close",
        "the client should reconnect by itself"
    );

    let mut config = backend.config();
    config.listen = addr;
    let restarted = TestApp::spawn(config).await;
    let second = client
        .expect(Duration::from_secs(10), "reconnect", |line| {
            line["type"] == "connect"
        })
        .await;
    assert_ne!(second["id"], first["id"]);
    let rejoined = client
        .emit("room:join", json!({"room": "darkroom:restart"}))
        .await;
    assert_eq!(rejoined["ok"], true, "{rejoined}");
    let sent = client
        .emit(
            "room:message",
            json!({"room": "darkroom:restart", "text": "back"}),
        )
        .await;
    assert_eq!(sent["ok"], true, "{sent}");

    client.close().await;
    restarted.stop().await;
    backend.stop().await;
}
