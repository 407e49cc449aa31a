//! The whole chain with the real auth-service in-process: Supabase token ->
//! bridge -> socket; logout and refresh-token reuse through auth-service
//! kick the socket via the session events it publishes.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn logout_through_auth_service_kicks_the_sockets() {
    let backend = Backend::start().await;
    let auth = backend.auth_service(Duration::from_secs(10)).await;
    let mut config = backend.config();
    config.jwks_url = auth.jwks_url();
    let app = TestApp::spawn(config).await;

    let user = uuid::Uuid::new_v4().to_string();
    let claims = supabase::claims_for(&user, &uuid::Uuid::new_v4().to_string());
    let supabase = supabase::token(&claims);
    let access = auth.bridged_with(&claims).await.access_token;
    // One tab with the backend token, one (the existing frontend) with the
    // Supabase token: both land on the same backend session.
    let mut backend_tab = connect(&app.url, &access).await;
    let mut supabase_tab = connect(&app.url, &supabase).await;
    let joined = backend_tab
        .emit("room:join", json!({"room": "darkroom:chain"}))
        .await;
    assert_eq!(joined["ok"], true, "{joined}");

    let started = Instant::now();
    let logout = auth.logout(&access, "local").await;
    assert_eq!(logout.status(), 200);
    for tab in [&mut backend_tab, &mut supabase_tab] {
        let revoked = tab.event("session:revoked").await;
        assert!(
            revoked["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{revoked}"
        );
        tab.expect(Duration::from_secs(2), "disconnect", |line| {
            line["type"] == "disconnect"
        })
        .await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );

    // The logged-out token no longer connects.
    let mut again = Client::spawn(&app.url, Auth::Payload(&access), &Options::default());
    assert_eq!(
        again.connected().await.err().as_deref(),
        Some("session_revoked")
    );

    again.close().await;
    backend_tab.close().await;
    supabase_tab.close().await;
    app.stop().await;
    auth.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_token_reuse_through_auth_service_kicks_the_socket() {
    let backend = Backend::start().await;
    let auth = backend.auth_service(Duration::from_millis(200)).await;
    let mut config = backend.config();
    config.jwks_url = auth.jwks_url();
    let app = TestApp::spawn(config).await;

    let user = uuid::Uuid::new_v4().to_string();
    let bridged = auth
        .bridged_with(&supabase::claims_for(
            &user,
            &uuid::Uuid::new_v4().to_string(),
        ))
        .await;
    let (access, refresh) = (bridged.access_token, bridged.refresh_token);
    let mut tab = connect(&app.url, &access).await;

    let rotated = auth.refresh(&refresh).await;
    assert_eq!(rotated.status(), 200);
    // Still connected after a normal rotation.
    assert_eq!(
        tab.emit("room:join", json!({"room": "darkroom:r"})).await["ok"],
        true
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    let started = Instant::now();
    let reuse = auth.refresh(&refresh).await;
    assert_eq!(reuse.status(), 401, "the superseded token is reuse");
    let revoked = tab.event("session:revoked").await;
    assert!(
        revoked["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{revoked}"
    );
    tab.expect(Duration::from_secs(2), "disconnect", |line| {
        line["type"] == "disconnect"
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );

    tab.close().await;
    app.stop().await;
    auth.stop().await;
    backend.stop().await;
}
