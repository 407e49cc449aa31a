//! Health, readiness, metrics, CORS.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn health_readiness_and_metrics() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 200, "{body}");

    let sid = backend.session("mia").await;
    let mut client = connect(&app.url, &backend.jwks.token("mia", &sid, None)).await;
    client
        .emit("room:join", serde_json::json!({"room": "darkroom:m"}))
        .await;
    client
        .emit(
            "room:message",
            serde_json::json!({"room": "darkroom:m", "text": "x"}),
        )
        .await;
    let (_, metrics) = app.get("/metrics").await;
    for line in [
        "realtime_connections 1",
        "realtime_rooms 1",
        "realtime_messages_in_total 1",
    ] {
        assert!(metrics.contains(line), "{line} missing in {metrics}");
    }
    client.close().await;
    app.stop().await;
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_allows_exactly_the_configured_origins() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let http = reqwest::Client::new();
    let url = format!("{}/socket.io/?EIO=4&transport=polling", app.url);
    let allowed = http
        .get(&url)
        .header("Origin", ORIGIN)
        .send()
        .await
        .expect("GET");
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some(ORIGIN)
    );
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-credentials")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let foreign = http
        .get(&url)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .expect("GET");
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    app.stop().await;
    backend.stop().await;
}
