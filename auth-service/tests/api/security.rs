//! CORS, the Origin rule, JSON-only bodies, rate limits, client IPs.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn cors_allows_exactly_the_configured_origins_with_credentials() {
    let env = TestEnv::spawn().await;
    let preflight = env
        .app
        .client
        .request(
            reqwest::Method::OPTIONS,
            env.app.url("/api/auth/session/bridge"),
        )
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
    assert_eq!(headers["access-control-allow-credentials"], "true");

    let evil_preflight = env
        .app
        .client
        .request(
            reqwest::Method::OPTIONS,
            env.app.url("/api/auth/session/bridge"),
        )
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        evil_preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // A write from a foreign origin is refused even with a valid bearer token.
    let token = sign_hs256(&supabase_claims(), SUPABASE_SECRET.as_bytes());
    let evil = env
        .app
        .client
        .post(env.app.url("/api/auth/session/bridge"))
        .bearer_auth(&token)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    assert_failure(evil, 403, "origin_not_allowed").await;

    // Bearer without Origin (not a browser) passes.
    let cli = env
        .app
        .client
        .post(env.app.url("/api/auth/session/bridge"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(cli.status(), 200);
    let allowed = env
        .app
        .bridge(&sign_hs256(&supabase_claims(), SUPABASE_SECRET.as_bytes()))
        .await;
    assert_eq!(allowed.headers()["access-control-allow-origin"], ORIGIN);
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_must_be_json() {
    let env = TestEnv::spawn().await;
    let form = env
        .app
        .client
        .post(env.app.url("/api/auth/session/bridge"))
        .header("Origin", ORIGIN)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("access_token=abc")
        .send()
        .await
        .unwrap();
    assert_failure(form, 415, "unsupported_media_type").await;
    let broken = env
        .app
        .client
        .post(env.app.url("/api/auth/session/bridge"))
        .header("Origin", ORIGIN)
        .header("Content-Type", "application/json")
        .body("{\"access_token\": ")
        .send()
        .await
        .unwrap();
    let body = assert_failure(broken, 400, "bad_request").await;
    assert!(body["message"].as_str().unwrap().contains("not valid JSON"));
    let wrong_shape = env
        .app
        .client
        .post(env.app.url("/api/auth/session/refresh"))
        .header("Origin", ORIGIN)
        .json(&serde_json::json!({"refresh_token": 42}))
        .send()
        .await
        .unwrap();
    assert_failure(wrong_shape, 400, "bad_request").await;
    let missing = env
        .app
        .client
        .get(env.app.url("/api/auth/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_failure(missing, 404, "not_found").await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bridge_and_refresh_are_rate_limited_per_client_ip() {
    let env = TestEnv::spawn_with(|settings| {
        settings.bridge_rate = Some(auth_service::config::RateLimit {
            per_second: 1,
            burst: 3,
        });
        settings.refresh_rate = Some(auth_service::config::RateLimit {
            per_second: 1,
            burst: 2,
        });
    })
    .await;
    let bridge_from = |ip: &'static str| {
        env.app
            .client
            .post(env.app.url("/api/auth/session/bridge"))
            .bearer_auth(sign_hs256(&supabase_claims(), SUPABASE_SECRET.as_bytes()))
            .header("X-Forwarded-For", ip)
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(bridge_from("203.0.113.1").await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 200, 429]);
    let limited = bridge_from("203.0.113.1").await.unwrap();
    assert!(limited.headers().get("retry-after").is_some());
    assert_failure(limited, 429, "rate_limited").await;
    // Another client IP behind the same trusted proxy has its own quota.
    let other = bridge_from("203.0.113.2").await.unwrap();
    assert_eq!(other.status(), 200);
    let cookies = cookies(&other);
    let refresh_token = cookies["nexus_refresh_token"].value().to_owned();

    let refresh_from = |token: String| {
        env.app
            .client
            .post(env.app.url("/api/auth/session/refresh"))
            .json(&serde_json::json!({"refresh_token": token}))
            .header("X-Forwarded-For", "203.0.113.3")
            .send()
    };
    let first = refresh_from(refresh_token).await.unwrap();
    assert_eq!(first.status(), 200);
    let token = crate::helpers::cookies(&first)["nexus_refresh_token"]
        .value()
        .to_owned();
    assert_eq!(refresh_from(token.clone()).await.unwrap().status(), 200);
    let third = refresh_from(token).await.unwrap();
    assert_failure(third, 429, "rate_limited").await;
    env.stop().await;
}
