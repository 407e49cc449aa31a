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
        settings.rate_limits.bridge.per_client = Some(auth_service::config::RateLimit {
            per_second: 1,
            burst: 3,
        });
        settings.rate_limits.refresh.per_client = Some(auth_service::config::RateLimit {
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

#[tokio::test(flavor = "multi_thread")]
async fn ipv6_clients_share_one_quota_per_64() {
    let env = TestEnv::spawn_with(|settings| {
        settings.rate_limits.bridge.per_client = Some(auth_service::config::RateLimit {
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
    assert_eq!(bridge_from("2001:db8:1:2::1").await.unwrap().status(), 200);
    assert_eq!(bridge_from("2001:db8:1:2::2").await.unwrap().status(), 200);
    // Any other address of the same /64 is the same client.
    let same_net = bridge_from("2001:db8:1:2:ffff::99").await.unwrap();
    assert_failure(same_net, 429, "rate_limited").await;
    // The neighbouring /64 is someone else.
    assert_eq!(bridge_from("2001:db8:1:3::1").await.unwrap().status(), 200);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_origin_is_refused_before_authentication_on_every_write() {
    let env = TestEnv::spawn().await;
    let evil = |method: reqwest::Method, path: &str| {
        env.app
            .client
            .request(method, env.app.url(path))
            .header("Origin", "https://evil.example")
            .bearer_auth("not-a-token")
            .send()
    };
    for (method, path) in [
        (reqwest::Method::POST, "/api/auth/session/bridge"),
        (reqwest::Method::POST, "/api/auth/session/refresh"),
        (reqwest::Method::POST, "/api/auth/session/logout"),
        (
            reqwest::Method::DELETE,
            "/api/auth/sessions/3f1c0b9e-2a4d-4f7e-9a1b-0c2d3e4f5a6b",
        ),
    ] {
        let response = evil(method.clone(), path).await.unwrap();
        assert!(response.headers().get("set-cookie").is_none(), "{path}");
        assert_failure(response, 403, "origin_not_allowed").await;
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_that_carry_or_clear_tokens_are_never_cached() {
    let env = TestEnv::spawn().await;
    let bridge = env
        .app
        .bridge(&sign_hs256(&supabase_claims(), SUPABASE_SECRET.as_bytes()))
        .await;
    assert_eq!(bridge.headers()["cache-control"], "no-store");
    let refresh_token = cookies(&bridge)["nexus_refresh_token"].value().to_owned();
    let refresh = env.app.refresh(&refresh_token).await;
    assert_eq!(refresh.status(), 200);
    assert_eq!(refresh.headers()["cache-control"], "no-store");
    let access = cookies(&refresh)["nexus_access_token"].value().to_owned();
    let failed = env.app.refresh("nxr1.bogus").await;
    assert_eq!(failed.headers()["cache-control"], "no-store");
    let logout = env.app.logout(&access, "local").await;
    assert_eq!(logout.status(), 200);
    assert_eq!(logout.headers()["cache-control"], "no-store");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secure_cookies_carry_the_host_and_secure_prefixes_and_old_names_still_work() {
    let env = TestEnv::spawn().await;
    let bridge = env
        .app
        .bridge(&sign_hs256(&supabase_claims(), SUPABASE_SECRET.as_bytes()))
        .await;
    let set = raw_cookies(&bridge);
    let access = &set["__Host-nexus_access_token"];
    assert_eq!(access.path(), Some("/"));
    assert_eq!(access.secure(), Some(true));
    assert_eq!(access.domain(), None);
    let refresh = &set["__Secure-nexus_refresh_token"];
    assert_eq!(refresh.path(), Some("/api/auth"));
    assert_eq!(refresh.secure(), Some(true));
    assert!(!set.contains_key("nexus_access_token"));
    assert!(!set.contains_key("nexus_refresh_token"));

    // The prefixed name is read back...
    let rotated = env
        .app
        .client
        .post(env.app.url("/api/auth/session/refresh"))
        .header(
            "Cookie",
            format!("__Secure-nexus_refresh_token={}", refresh.value()),
        )
        .header("Origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 200);
    let current = raw_cookies(&rotated)["__Secure-nexus_refresh_token"]
        .value()
        .to_owned();
    // ...and so is the bare name a browser kept from before the deploy.
    let old_name = env.app.refresh(&current).await;
    assert_eq!(old_name.status(), 200);
    let access = raw_cookies(&old_name)["__Host-nexus_access_token"]
        .value()
        .to_owned();
    let listed = env
        .app
        .client
        .get(env.app.url("/api/auth/sessions"))
        .header("Cookie", format!("__Host-nexus_access_token={access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);

    // Logout clears both generations of names.
    let logout = env.app.logout(&access, "local").await;
    let cleared = raw_cookies(&logout);
    for name in [
        "__Host-nexus_access_token",
        "__Secure-nexus_refresh_token",
        "nexus_access_token",
        "nexus_refresh_token",
    ] {
        assert_eq!(cleared[name].value(), "", "{name}");
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_development_keeps_the_bare_cookie_names() {
    let env = TestEnv::spawn_with(|settings| settings.cookie_secure = false).await;
    let bridge = env
        .app
        .bridge(&sign_hs256(&supabase_claims(), SUPABASE_SECRET.as_bytes()))
        .await;
    let set = raw_cookies(&bridge);
    assert!(set.contains_key("nexus_access_token"));
    assert!(set.contains_key("nexus_refresh_token"));
    assert_eq!(set["nexus_access_token"].secure(), None);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_is_rate_limited_per_client_and_all_endpoints_have_a_global_ceiling() {
    let env = TestEnv::spawn_with(|settings| {
        settings.rate_limits.logout.per_client = Some(auth_service::config::RateLimit {
            per_second: 1,
            burst: 2,
        });
        settings.rate_limits.bridge.global = Some(auth_service::config::RateLimit {
            per_second: 1,
            burst: 2,
        });
    })
    .await;
    let logout_from = |ip: &'static str| {
        env.app
            .client
            .post(env.app.url("/api/auth/session/logout"))
            .header("X-Forwarded-For", ip)
            .send()
    };
    assert_eq!(logout_from("203.0.113.5").await.unwrap().status(), 401);
    assert_eq!(logout_from("203.0.113.5").await.unwrap().status(), 401);
    assert_failure(
        logout_from("203.0.113.5").await.unwrap(),
        429,
        "rate_limited",
    )
    .await;
    assert_eq!(logout_from("203.0.113.6").await.unwrap().status(), 401);

    // Many addresses together still meet the global ceiling.
    let mut statuses = Vec::new();
    for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let response = env
            .app
            .client
            .post(env.app.url("/api/auth/session/bridge"))
            .bearer_auth(sign_hs256(&supabase_claims(), SUPABASE_SECRET.as_bytes()))
            .header("X-Forwarded-For", ip)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 429]);
    env.stop().await;
}
