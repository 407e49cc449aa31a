//! Admission: every way a token may arrive, and every refusal code.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn auth_token_connects_over_websocket_and_over_polling_only() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let sid = backend.session("user-ws").await;
    let token = backend.jwks.token("user-ws", &sid, None);

    let mut ws = Client::spawn(
        &app.url,
        Auth::Payload(&token),
        &Options {
            transports: Some("websocket"),
            ..Options::default()
        },
    );
    let connected = ws.connected().await.expect("websocket client connects");
    assert_eq!(connected["transport"], "websocket");
    let ack = ws
        .emit("room:join", json!({"room": "darkroom:lobby"}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");

    let mut polling = Client::spawn(
        &app.url,
        Auth::Payload(&token),
        &Options {
            transports: Some("polling"),
            ..Options::default()
        },
    );
    let connected = polling.connected().await.expect("polling client connects");
    assert_eq!(connected["transport"], "polling");
    let ack = polling
        .emit("room:join", json!({"room": "darkroom:lobby"}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    // A message over polling reaches the websocket client.
    let sent = polling
        .emit(
            "room:message",
            json!({"room": "darkroom:lobby", "text": "over polling"}),
        )
        .await;
    assert_eq!(sent["ok"], true, "{sent}");
    let received = ws.event("room:message").await;
    assert_eq!(received["text"], "over polling");
    assert_eq!(received["id"], sent["id"]);

    ws.close().await;
    polling.close().await;
    app.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_header_and_cookie_with_allowed_origin_connect() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let sid = backend.session("user-h").await;
    let token = backend.jwks.token("user-h", &sid, None);

    let mut bearer = Client::spawn(&app.url, Auth::Bearer(&token), &Options::default());
    bearer.connected().await.expect("bearer header is accepted");

    for transports in ["websocket", "polling"] {
        let mut cookie = Client::spawn(
            &app.url,
            Auth::Cookie(&token),
            &Options {
                origin: Some(ORIGIN),
                transports: Some(transports),
                ..Options::default()
            },
        );
        cookie
            .connected()
            .await
            .unwrap_or_else(|error| panic!("cookie + allowed Origin over {transports}: {error}"));
        cookie.close().await;
    }

    // The cookie alone (no Origin, or a foreign one) is not enough.
    for origin in [None, Some("https://evil.example")] {
        let mut cookie = Client::spawn(
            &app.url,
            Auth::Cookie(&token),
            &Options {
                origin,
                transports: Some("websocket"),
                ..Options::default()
            },
        );
        assert_eq!(
            cookie.connected().await.err().as_deref(),
            Some("unauthorized"),
            "{origin:?}"
        );
        cookie.close().await;
    }

    bearer.close().await;
    app.stop().await;
    backend.stop().await;
}

/// The default polling-first handshake of a page on the gateway's origin:
/// the browser sends the cookie and `Sec-Fetch-Site: same-origin` but no
/// `Origin`. That (and only `same-origin`) proves the origin.
#[tokio::test(flavor = "multi_thread")]
async fn cookie_with_sec_fetch_site_same_origin_and_no_origin_connects() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let sid = backend.session("user-sfs").await;
    let token = backend.jwks.token("user-sfs", &sid, None);
    let attempt = |site: &'static str| {
        let url = app.url.clone();
        let token = token.clone();
        async move {
            let mut client = Client::spawn(
                &url,
                Auth::Cookie(&token),
                &Options {
                    sec_fetch_site: Some(site),
                    transports: Some("polling,websocket"),
                    ..Options::default()
                },
            );
            let outcome = client.connected().await.map(|_| ());
            client.close().await;
            outcome
        }
    };
    assert_eq!(attempt("same-origin").await, Ok(()));
    for site in ["same-site", "cross-site", "none"] {
        assert_eq!(
            attempt(site).await,
            Err("unauthorized".to_owned()),
            "Sec-Fetch-Site: {site}"
        );
    }
    app.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_carry_the_code_and_are_counted() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let sid = backend.session("user-r").await;

    let refused = |auth: Auth<'_>| {
        let url = app.url.clone();
        let mut client = Client::spawn(&url, auth, &Options::default());
        async move {
            let outcome = client.connected().await;
            client.close().await;
            outcome.err()
        }
    };
    assert_eq!(refused(Auth::None).await.as_deref(), Some("unauthorized"));
    assert_eq!(
        refused(Auth::Payload("not-a-jwt")).await.as_deref(),
        Some("unauthorized")
    );
    // A token for a session that does not exist.
    let ghost = backend.jwks.token("user-r", "no-such-session", None);
    assert_eq!(
        refused(Auth::Payload(&ghost)).await.as_deref(),
        Some("unauthorized")
    );
    // A valid session of another user.
    let stolen = backend.jwks.token("someone-else", &sid, None);
    assert_eq!(
        refused(Auth::Payload(&stolen)).await.as_deref(),
        Some("unauthorized")
    );
    // A revoked session.
    backend.revoke_silently("user-r", &sid).await;
    let revoked = backend.jwks.token("user-r", &sid, None);
    assert_eq!(
        refused(Auth::Payload(&revoked)).await.as_deref(),
        Some("session_revoked")
    );

    let (status, metrics) = app.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("realtime_auth_refusals_total{code=\"unauthorized\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("realtime_auth_refusals_total{code=\"session_revoked\"} 1"),
        "{metrics}"
    );

    app.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn session_store_down_is_unavailable_not_unauthorized() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let sid = backend.session("user-u").await;
    let token = backend.jwks.token("user-u", &sid, None);
    // Warm the JWKS cache so only session-store is missing.
    connect(&app.url, &token).await.close().await;

    let Backend {
        store,
        session_exchange,
        rooms_exchange,
        ..
    } = backend;
    store.stop().await;
    let mut client = Client::spawn(&app.url, Auth::Payload(&token), &Options::default());
    assert_eq!(
        client.connected().await.err().as_deref(),
        Some("unavailable")
    );
    client.close().await;
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    app.stop().await;
    delete_exchanges(&[&session_exchange, &rooms_exchange]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn supabase_token_maps_to_the_bridged_session() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let user = uuid::Uuid::new_v4().to_string();
    let supabase_session = uuid::Uuid::new_v4().to_string();
    let sid = backend.bridged_session(&user, &supabase_session).await;

    let mut client = connect(&app.url, &supabase_token(&user, &supabase_session)).await;
    let ack = client
        .emit("hangout:create", json!({"name": "Supabase hangout"}))
        .await;
    let room = ack["room"].as_str().expect("room").to_owned();
    let ack = client.emit("room:join", json!({"room": room})).await;
    assert_eq!(ack["members"][0]["id"], user.as_str(), "{ack}");
    assert_eq!(ack["members"][0]["name"], "Ada Lovelace", "{ack}");

    // Revoking the bridged backend session kicks the socket opened with
    // the Supabase token too.
    backend
        .publish(
            nexus_common::events::SessionEventKind::Revoked,
            &user,
            &sid,
            Some("logout"),
        )
        .await;
    let revoked = client.event("session:revoked").await;
    assert_eq!(revoked["reason"], "logout");
    client.close().await;

    // A Supabase session nobody bridged is refused.
    let mut stranger = Client::spawn(
        &app.url,
        Auth::Payload(&supabase_token(&user, &uuid::Uuid::new_v4().to_string())),
        &Options::default(),
    );
    assert_eq!(
        stranger.connected().await.err().as_deref(),
        Some("unauthorized")
    );
    stranger.close().await;

    tokio::time::sleep(Duration::from_millis(10)).await;
    app.stop().await;
    backend.stop().await;
}
