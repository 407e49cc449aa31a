//! Room behaviour as users see it: dark-room anonymity, hangout presence,
//! group grants, history, and bad payloads answered without losing the socket.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn dark_room_chat_uses_stable_aliases_and_never_shows_user_ids() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let (alice, bob) = ("alice-7f3a9c", "bob-42d1e8");
    let sid_a = backend.session(alice).await;
    let sid_b = backend.session(bob).await;
    let wire = Options {
        wire: true,
        ..Options::default()
    };
    let mut a = Client::spawn(
        &app.url,
        Auth::Payload(&backend.jwks.token(alice, &sid_a, Some("Alice"))),
        &wire,
    );
    let mut b = Client::spawn(
        &app.url,
        Auth::Payload(&backend.jwks.token(bob, &sid_b, Some("Bob"))),
        &wire,
    );
    a.connected().await.expect("alice connects");
    b.connected().await.expect("bob connects");

    let joined_a = a
        .emit("room:join", json!({"room": "darkroom:midnight"}))
        .await;
    assert_eq!(joined_a["ok"], true, "{joined_a}");
    let alias_a = joined_a["members"][0]["name"]
        .as_str()
        .expect("alias")
        .to_owned();
    let joined_b = b
        .emit("room:join", json!({"room": "darkroom:midnight"}))
        .await;
    assert_eq!(
        joined_b["members"].as_array().map(Vec::len),
        Some(2),
        "{joined_b}"
    );

    let presence = a.event("room:presence").await;
    let alias_b = presence["joined"]["name"]
        .as_str()
        .expect("alias")
        .to_owned();
    assert_ne!(alias_a, alias_b);
    assert!(presence["joined"].get("id").is_none(), "{presence}");

    let sent = a
        .emit(
            "room:message",
            json!({"room": "darkroom:midnight", "text": "who's here?"}),
        )
        .await;
    assert_eq!(sent["ok"], true, "{sent}");
    let got = b.event("room:message").await;
    assert_eq!(got["from"], json!({"name": alias_a}));
    assert_eq!(got["text"], "who's here?");
    b.emit(
        "room:message",
        json!({"room": "darkroom:midnight", "text": "me"}),
    )
    .await;
    assert_eq!(
        a.event("room:message").await["from"],
        json!({"name": alias_b})
    );

    // Stable in the room (a second join answers the same alias), different
    // in another room.
    let again = a
        .emit("room:join", json!({"room": "darkroom:midnight"}))
        .await;
    assert!(
        again["members"]
            .as_array()
            .expect("members")
            .contains(&json!({"name": alias_a}))
    );
    let elsewhere = a.emit("room:join", json!({"room": "darkroom:other"})).await;
    assert_ne!(
        elsewhere["members"][0]["name"],
        Value::from(alias_a.clone())
    );

    let mut everything = a.close().await;
    everything.extend(b.close().await);
    let dump = serde_json::to_string(&everything).expect("json");
    assert!(dump.contains("\"wire\""), "raw packets were recorded");
    for secret in [alice, bob, "Alice", "Bob"] {
        assert!(!dump.contains(secret), "{secret} reached a client: {dump}");
    }
    app.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hangout_create_join_presence_and_history() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let sid_a = backend.session("ann").await;
    let sid_b = backend.session("ben").await;
    let mut a = connect(&app.url, &backend.jwks.token("ann", &sid_a, Some("Ann"))).await;
    let mut b = connect(&app.url, &backend.jwks.token("ben", &sid_b, Some("Ben"))).await;

    let created = a
        .emit("hangout:create", json!({"name": "Friday drinks"}))
        .await;
    assert_eq!(created["ok"], true, "{created}");
    assert_eq!(created["name"], "Friday drinks");
    let room = created["room"].as_str().expect("room").to_owned();
    assert!(room.starts_with("hangout:"));

    a.emit("room:join", json!({"room": room})).await;
    a.emit("room:message", json!({"room": room, "text": "first!"}))
        .await;
    let joined = b.emit("room:join", json!({"room": room})).await;
    assert_eq!(joined["history"][0]["text"], "first!", "{joined}");
    assert_eq!(
        joined["history"][0]["from"],
        json!({"id": "ann", "name": "Ann"})
    );

    let presence = a.event("room:presence").await;
    assert_eq!(presence["room"], room.as_str());
    assert_eq!(presence["joined"], json!({"id": "ben", "name": "Ben"}));
    assert_eq!(
        presence["members"],
        json!([{"id": "ann", "name": "Ann"}, {"id": "ben", "name": "Ben"}])
    );

    let left = b.emit("room:leave", json!({"room": room})).await;
    assert_eq!(left["ok"], true, "{left}");
    let presence = a.event("room:presence").await;
    assert_eq!(presence["left"], json!({"id": "ben", "name": "Ben"}));
    assert_eq!(presence["members"], json!([{"id": "ann", "name": "Ann"}]));

    // After leaving, Ben no longer receives the room's messages.
    a.emit("room:message", json!({"room": room, "text": "bye ben"}))
        .await;
    assert!(
        b.maybe(Duration::from_millis(500), |line| line["event"]
            == "room:message")
            .await
            .is_none(),
        "a socket that left still got a message"
    );
    a.close().await;
    b.close().await;
    app.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn group_room_is_refused_without_a_grant_and_admitted_with_one() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let sid = backend.session("gina").await;
    let mut client = connect(&app.url, &backend.jwks.token("gina", &sid, None)).await;

    let refused = client
        .emit("room:join", json!({"room": "group:team-1"}))
        .await;
    assert_eq!(
        error_code(&refused).as_deref(),
        Some("grant_required"),
        "{refused}"
    );
    let wrong_room = client
        .emit(
            "room:join",
            json!({"room": "group:team-1", "grant": grant("gina", "group:team-2")}),
        )
        .await;
    assert_eq!(
        error_code(&wrong_room).as_deref(),
        Some("forbidden"),
        "{wrong_room}"
    );
    let other_user = client
        .emit(
            "room:join",
            json!({"room": "group:team-1", "grant": grant("mallory", "group:team-1")}),
        )
        .await;
    assert_eq!(error_code(&other_user).as_deref(), Some("forbidden"));
    let forged = client
        .emit(
            "room:join",
            json!({"room": "group:team-1", "grant": "eyJhbGciOiJIUzI1NiJ9.e30.x"}),
        )
        .await;
    assert_eq!(error_code(&forged).as_deref(), Some("grant_invalid"));

    // A valid grant admits a member of the group (session-store decides).
    let not_member = client
        .emit(
            "room:join",
            json!({"room": "group:team-1", "grant": grant("gina", "group:team-1")}),
        )
        .await;
    assert_eq!(error_code(&not_member).as_deref(), Some("not_a_member"));
    let team = format!(
        "group:{}",
        crate::groups::create_group(&backend, "gina").await
    );
    let admitted = client
        .emit(
            "room:join",
            json!({"room": team, "grant": grant("gina", &team)}),
        )
        .await;
    assert_eq!(admitted["ok"], true, "{admitted}");
    client.close().await;
    app.stop().await;

    // Without ROOM_GRANT_KEYS group rooms are closed, with a clear code.
    let mut config = backend.config();
    config.grant_keys = realtime_service::domain::grant::GrantKeys::default();
    let closed = TestApp::spawn(config).await;
    let mut client = connect(&closed.url, &backend.jwks.token("gina", &sid, None)).await;
    let ack = client
        .emit(
            "room:join",
            json!({"room": "group:team-1", "grant": grant("gina", "group:team-1")}),
        )
        .await;
    assert_eq!(
        error_code(&ack).as_deref(),
        Some("group_rooms_closed"),
        "{ack}"
    );
    client.close().await;
    closed.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_payloads_get_error_acks_and_the_socket_keeps_working() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.limits.max_text_chars = 50;
    config.limits.rooms_per_socket = 2;
    config.limits.hangouts_per_user = 1;
    let app = TestApp::spawn(config).await;
    let sid = backend.session("bad").await;
    let mut client = connect(&app.url, &backend.jwks.token("bad", &sid, None)).await;

    let cases: Vec<(&str, &str, Value, &str)> = vec![
        ("no room", "room:join", json!({}), "bad_request"),
        (
            "room not a string",
            "room:join",
            json!({"room": 5}),
            "bad_request",
        ),
        (
            "private room",
            "room:join",
            json!({"room": "user:someone"}),
            "invalid_room",
        ),
        (
            "session room",
            "room:join",
            json!({"room": "session:abc"}),
            "invalid_room",
        ),
        (
            "bad charset",
            "room:join",
            json!({"room": "darkroom:a b"}),
            "invalid_room",
        ),
        (
            "too long",
            "room:join",
            json!({"room": format!("hangout:{}", "x".repeat(65))}),
            "invalid_room",
        ),
        (
            "not joined",
            "room:message",
            json!({"room": "darkroom:x", "text": "hi"}),
            "not_in_room",
        ),
        (
            "empty text",
            "room:message",
            json!({"room": "darkroom:x", "text": "  "}),
            "invalid_text",
        ),
        (
            "long text",
            "room:message",
            json!({"room": "darkroom:x", "text": "y".repeat(51)}),
            "invalid_text",
        ),
        (
            "leave not joined",
            "room:leave",
            json!({"room": "darkroom:x"}),
            "not_in_room",
        ),
        (
            "hangout without name",
            "hangout:create",
            json!({"name": ""}),
            "invalid_text",
        ),
        ("unknown event", "room:explode", json!({}), "unknown_event"),
    ];
    for (name, event, data, code) in cases {
        let ack = client.emit(event, data).await;
        assert_eq!(error_code(&ack).as_deref(), Some(code), "{name}: {ack}");
    }
    let not_an_object = client.emit_raw("room:join", json!(["darkroom:x"])).await;
    assert_eq!(
        error_code(&not_an_object).as_deref(),
        Some("bad_request"),
        "{not_an_object}"
    );
    let no_payload = client.emit_raw("room:join", json!([])).await;
    assert_eq!(
        error_code(&no_payload).as_deref(),
        Some("bad_request"),
        "{no_payload}"
    );

    // Limits: rooms per socket, hangouts per user.
    assert_eq!(
        client
            .emit("room:join", json!({"room": "darkroom:a"}))
            .await["ok"],
        true
    );
    assert_eq!(
        client
            .emit("room:join", json!({"room": "darkroom:b"}))
            .await["ok"],
        true
    );
    let third = client
        .emit("room:join", json!({"room": "darkroom:c"}))
        .await;
    assert_eq!(error_code(&third).as_deref(), Some("too_many_rooms"));
    assert_eq!(
        client.emit("hangout:create", json!({"name": "one"})).await["ok"],
        true
    );
    let second = client.emit("hangout:create", json!({"name": "two"})).await;
    assert_eq!(error_code(&second).as_deref(), Some("hangout_limit"));

    // Still connected and useful.
    let sent = client
        .emit(
            "room:message",
            json!({"room": "darkroom:a", "text": "still here"}),
        )
        .await;
    assert_eq!(sent["ok"], true, "{sent}");
    let lines = client.close().await;
    assert!(
        !lines
            .iter()
            .any(|line| line["type"] == "disconnect" && line["reason"] != "io client disconnect"),
        "the server dropped the socket: {lines:?}"
    );
    app.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn flooding_is_rate_limited_per_socket() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.limits.events_per_second = 1;
    config.limits.event_burst = 3;
    let app = TestApp::spawn(config).await;
    let sid = backend.session("flood").await;
    let mut client = connect(&app.url, &backend.jwks.token("flood", &sid, None)).await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(error_code(
            &client
                .emit("room:join", json!({"room": "darkroom:f"}))
                .await,
        ));
    }
    assert_eq!(codes[..3], [None, None, None], "{codes:?}");
    assert_eq!(codes[4].as_deref(), Some("rate_limited"), "{codes:?}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        client
            .emit("room:join", json!({"room": "darkroom:f"}))
            .await["ok"],
        true
    );
    client.close().await;
    app.stop().await;
    backend.stop().await;
}
