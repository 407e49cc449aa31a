//! session-store unreachable: 503 in the envelope, and recovery without a restart.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn store_down_is_503_and_the_service_recovers_when_it_returns() {
    let port = free_port();
    let jwks = supabase::serve_jwks().await;
    let app =
        TestApp::start(settings(&format!("http://127.0.0.1:{port}"), &jwks.url).build()).await;

    let token = sign_hs256(&supabase_claims(), SUPABASE_SECRET.as_bytes());
    let response = app.bridge(&token).await;
    let body = assert_failure(response, 503, "service_unavailable").await;
    assert!(
        !body["message"].as_str().unwrap().contains("127.0.0.1"),
        "no internals in the message"
    );

    // session-store comes up on that port; the same auth-service recovers.
    let database = TestDatabase::create().await;
    let mut config =
        session_store::config::StoreConfig::local(database.url(), ([127, 0, 0, 1], port).into());
    config.pool_size = 4;
    let store = TestStore::spawn_on(database, config).await;
    let mut status = 0;
    for _ in 0..100 {
        status = app.bridge(&token).await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "recovered without restarting auth-service");
    let bridged = app.bridged().await;
    let refreshed = app.refresh(&bridged.refresh_token).await;
    assert_eq!(refreshed.status(), 200);

    // And down again: a refresh is 503 (not 500), and the cookies are kept.
    let refreshed_token = cookies(&refreshed)["nexus_refresh_token"]
        .value()
        .to_owned();
    let _: Value = refreshed.json().await.unwrap();
    store.stop().await;
    let down = app.refresh(&refreshed_token).await;
    assert!(
        cookies(&down).is_empty(),
        "a dependency failure does not log the user out"
    );
    assert_failure(down, 503, "service_unavailable").await;
    app.stop().await;
}
