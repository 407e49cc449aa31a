use std::time::Duration;

use actix_web::cookie::SameSite;
use nexus_common::events::SessionEventKind;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn bridge_creates_a_session_sets_cookies_and_emits_created() {
    let mut env = TestEnv::spawn().await;
    let claims = supabase_claims();
    let token = sign_hs256(&claims, SUPABASE_SECRET.as_bytes());
    let response = env
        .app
        .client
        .post(env.app.url("/api/auth/session/bridge"))
        .bearer_auth(&token)
        .header("Origin", ORIGIN)
        .header("User-Agent", "Mozilla/5.0 nexus-test")
        .header("X-Forwarded-For", "198.51.100.23")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let cookies = cookies(&response);
    let access = &cookies["nexus_access_token"];
    assert_eq!(access.http_only(), Some(true));
    assert_eq!(access.secure(), Some(true));
    assert_eq!(access.path(), Some("/"));
    assert_eq!(access.same_site(), Some(SameSite::Lax));
    let refresh = &cookies["nexus_refresh_token"];
    assert_eq!(refresh.http_only(), Some(true));
    assert_eq!(refresh.secure(), Some(true));
    assert_eq!(refresh.path(), Some("/api/auth"));
    assert_eq!(refresh.same_site(), Some(SameSite::Strict));

    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], true);
    assert_eq!(body["user"]["id"], claims["sub"]);
    assert_eq!(body["user"]["name"], "Ada Lovelace");
    assert_eq!(body["access_token"].as_str(), Some(access.value()));
    assert!(body["expires_at"].is_string());
    assert!(
        body.get("refresh_token").is_none(),
        "the refresh token stays in its httpOnly cookie"
    );
    let session_id = body["session"]["id"].as_str().unwrap().to_owned();

    // The access token is ours, names the session and carries the display name.
    let header = jsonwebtoken::decode_header(access.value()).unwrap();
    let jwks: Value = env
        .app
        .client
        .get(env.app.url("/api/auth/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"].as_str(), header.kid.as_deref());
    let claims_part = access.value().split('.').nth(1).unwrap();
    let access_claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            claims_part,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(access_claims["sid"], session_id.as_str());
    assert_eq!(access_claims["sub"], claims["sub"]);
    assert_eq!(access_claims["name"], "Ada Lovelace");

    // session-store recorded the user agent and the client IP from the
    // trusted proxy's header. (That it stores only a SHA-256 of the refresh
    // token is its own contract: it refuses any other `token_hash`,
    // session-store/tests/store/input.rs.)
    let user_id = claims["sub"].as_str().unwrap();
    let stored = env.store.session(user_id, &session_id).await;
    assert_eq!(stored.user_id, user_id);
    assert_eq!(stored.user_agent.as_deref(), Some("Mozilla/5.0 nexus-test"));
    assert_eq!(stored.ip_address.as_deref(), Some("198.51.100.23"));
    assert_eq!(
        env.store
            .refresh_state(&session_id)
            .await
            .current_generation,
        1
    );

    let event = env.events.next(Duration::from_secs(10)).await;
    assert_eq!(event.kind(), Some(SessionEventKind::Created));
    assert_eq!(event.specversion, "1.0");
    assert_eq!(event.source, "auth-service");
    assert_eq!(event.data.session_id, session_id);
    assert_eq!(event.data.user_id, claims["sub"].as_str().unwrap());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bridging_the_same_supabase_session_twice_keeps_one_backend_session() {
    let mut env = TestEnv::spawn().await;
    let claims = supabase_claims();
    let first = env.app.bridged_with(&claims).await;
    let second = env.app.bridged_with(&claims).await;
    assert_eq!(first.session_id, second.session_id);
    assert_eq!(
        first.refresh_token, second.refresh_token,
        "the current refresh token is handed out again"
    );
    assert_eq!(first.body["created"], true);
    assert_eq!(second.body["created"], false);
    assert_eq!(env.store.sessions_of(&first.user_id, true).await.len(), 1);

    // After a rotation, bridging again returns the rotated (current) token.
    let rotated = env.app.refresh(&first.refresh_token).await;
    assert_eq!(rotated.status(), 200);
    let rotated_token = cookies(&rotated)["nexus_refresh_token"].value().to_owned();
    let third = env.app.bridged_with(&claims).await;
    assert_eq!(third.session_id, first.session_id);
    assert_eq!(third.refresh_token, rotated_token);

    // Exactly one session.created for the one session.
    let created = env
        .events
        .next_of(SessionEventKind::Created, Duration::from_secs(10))
        .await;
    assert_eq!(created.data.session_id, first.session_id);
    let refreshed = env
        .events
        .next_of(SessionEventKind::Refreshed, Duration::from_secs(10))
        .await;
    assert_eq!(refreshed.data.session_id, first.session_id);
    env.events.assert_quiet(Duration::from_millis(500)).await;

    // Another Supabase session of the same user gets its own backend session.
    let mut other = supabase_claims();
    other["sub"] = claims["sub"].clone();
    let fourth = env.app.bridged_with(&other).await;
    assert_ne!(fourth.session_id, first.session_id);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bridge_accepts_the_token_in_a_json_body_and_jwks_signed_tokens() {
    let env = TestEnv::spawn_with_rsa().await;
    let claims = supabase_claims();
    let response = env
        .app
        .client
        .post(env.app.url("/api/auth/session/bridge"))
        .json(&serde_json::json!({"access_token": sign_es256(&claims, EC_KID)}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "ES256 via JWKS in a JSON body, no Origin (not a cookie credential)"
    );
    let rs = env
        .app
        .bridge(&sign_rs256(&supabase_claims(), RSA_KID))
        .await;
    assert_eq!(rs.status(), 200, "RS256 via JWKS");
    env.stop().await;
}
