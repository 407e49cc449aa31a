//! JWKS, health, readiness, metrics.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn jwks_publishes_the_signing_key_and_tokens_verify_with_it() {
    let env = TestEnv::spawn().await;
    let jwks_response = env
        .app
        .client
        .get(env.app.url("/api/auth/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(jwks_response.status(), 200);
    let jwks: Value = jwks_response.json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["alg"], "EdDSA");
    assert!(key.get("d").is_none(), "no private material");

    // A verifier that only knows the published JWKS (like realtime-service) accepts the token.
    let cache =
        nexus_tokens::JwksCache::new(env.app.url("/api/auth/.well-known/jwks.json")).unwrap();
    let verifier = nexus_tokens::access::AccessTokenVerifier::from_jwks(cache);
    let bridged = env.app.bridged().await;
    let claims = verifier.verify(&bridged.access_token).await.unwrap();
    assert_eq!(claims.sid, bridged.session_id);
    assert_eq!(claims.sub, bridged.user_id);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn health_readiness_and_metrics() {
    let env = TestEnv::spawn().await;
    let health = env
        .app
        .client
        .get(env.app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // Ready once the publisher has connected to the broker.
    let mut ready = None;
    for _ in 0..50 {
        let response = env
            .app
            .client
            .get(env.app.url("/readyz"))
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            ready = Some(response.json::<Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let ready = ready.expect("ready within 5 s");
    assert_eq!(ready["session_store"], true);
    assert_eq!(ready["broker"], true);

    env.app.bridged().await;
    let metrics = env
        .app
        .client
        .get(env.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("auth_http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("route=\"/api/auth/session/bridge\""),
        "{metrics}"
    );
    assert!(metrics.contains("auth_bridge_total"), "{metrics}");
    assert!(metrics.contains("auth_events_buffered_total"), "{metrics}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_fails_while_session_store_is_down() {
    let jwks = supabase::serve_jwks().await;
    let app =
        TestApp::start(settings(&format!("http://127.0.0.1:{}", free_port()), &jwks.url).build())
            .await;
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["session_store"], false);
    app.stop().await;
}

#[test]
fn configuration_debug_output_shows_no_secret() {
    let mut settings = settings(
        "http://store-user:store-pw@127.0.0.1:1",
        "http://127.0.0.1:1/jwks",
    )
    .build();
    settings.amqp_url = "amqp://nexus:amqp-s3cret@127.0.0.1:5672/%2f".to_owned();
    settings.store.token = Some("shared-store-t0ken".to_owned());
    let shown = format!("{settings:?}");
    for secret in [
        "amqp-s3cret",
        "store-pw",
        "shared-store-t0ken",
        SUPABASE_SECRET,
        "first-refresh-key-secret",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("127.0.0.1:5672"), "{shown}");
    let publisher = auth_service::events::PublisherConfig {
        amqp_url: settings.amqp_url,
        exchange: "x".to_owned(),
        buffer: 1,
    };
    assert!(!format!("{publisher:?}").contains("amqp-s3cret"));
}
