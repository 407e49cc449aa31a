//! Logout acts for a user, so it needs a live session: a superseded refresh
//! token is reuse (handled as rotation handles it), an access token of a
//! revoked session is refused, and nothing is revoked on a dead credential.

use std::time::Duration;

use nexus_common::events::SessionEventKind;
use serde_json::Value;

use crate::helpers::*;

/// The user's live sessions, as session-store answers over gRPC.
async fn live_sessions(env: &TestEnv, user_id: &str) -> usize {
    env.store.live_sessions(user_id).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_superseded_refresh_token_cannot_log_anyone_out_and_counts_as_reuse() {
    let mut env = TestEnv::spawn_with(|settings| {
        settings.refresh_reuse_interval = Duration::from_millis(300);
    })
    .await;
    let victim = env.app.bridged().await;
    let mut claims = supabase_claims();
    claims["sub"] = serde_json::json!(victim.user_id);
    let other_device = env.app.bridged_with(&claims).await;
    let rotated = env.app.refresh(&victim.refresh_token).await;
    assert_eq!(rotated.status(), 200);
    tokio::time::sleep(Duration::from_millis(600)).await;

    // The stolen, superseded token, in the body, with no Origin.
    let response = env
        .app
        .logout_with_refresh_token(&victim.refresh_token, "global")
        .await;
    assert_failure(response, 401, "refresh_token_reuse").await;

    // Reuse ended the leaked session (as rotation would), and nothing else.
    assert_eq!(live_sessions(&env, &victim.user_id).await, 1);
    let other = env.app.sessions(&other_device.access_token).await;
    assert_eq!(other.status(), 200, "the other device stays signed in");
    let event = env
        .events
        .next_of(SessionEventKind::ReuseDetected, Duration::from_secs(10))
        .await;
    assert_eq!(event.data.session_id, victim.session_id);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_just_superseded_token_still_logs_out_like_a_second_tab_refreshing() {
    let env = TestEnv::spawn().await;
    let bridged = env.app.bridged().await;
    assert_eq!(env.app.refresh(&bridged.refresh_token).await.status(), 200);
    // Within the reuse interval the previous generation is a concurrent tab.
    let response = env
        .app
        .logout_with_refresh_token(&bridged.refresh_token, "local")
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["revoked_sessions"], 1);
    assert_eq!(live_sessions(&env, &bridged.user_id).await, 0);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_access_token_of_a_revoked_session_cannot_log_out_other_sessions() {
    let env = TestEnv::spawn().await;
    let first = env.app.bridged().await;
    let mut claims = supabase_claims();
    claims["sub"] = serde_json::json!(first.user_id);
    let second = env.app.bridged_with(&claims).await;
    // The first device logs out; its access token stays cryptographically
    // valid for up to 15 minutes.
    assert_eq!(
        env.app.logout(&first.access_token, "local").await.status(),
        200
    );
    let response = env.app.logout(&first.access_token, "global").await;
    assert_cookies_cleared(&response);
    assert_failure(response, 401, "session_revoked").await;
    assert_eq!(live_sessions(&env, &first.user_id).await, 1);
    assert_eq!(env.app.sessions(&second.access_token).await.status(), 200);
    // A revoked session's refresh token cannot either.
    let response = env
        .app
        .logout_with_refresh_token(&first.refresh_token, "others")
        .await;
    assert_failure(response, 401, "session_revoked").await;
    assert_eq!(live_sessions(&env, &first.user_id).await, 1);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_with_the_current_refresh_token_works_after_the_access_token_expired() {
    let env = TestEnv::spawn().await;
    let bridged = env.app.bridged().await;
    let rotated = env.app.refresh(&bridged.refresh_token).await;
    let current = cookies(&rotated)["nexus_refresh_token"].value().to_owned();
    let response = env.app.logout_with_refresh_token(&current, "global").await;
    assert_eq!(response.status(), 200);
    assert_cookies_cleared(&response);
    assert_eq!(live_sessions(&env, &bridged.user_id).await, 0);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cross_site_logout_is_refused_before_it_touches_anything() {
    let env = TestEnv::spawn().await;
    let bridged = env.app.bridged().await;
    // A form on another site posts with whatever cookies the browser holds,
    // valid or not: it must not even clear them.
    for cookie in [
        "nexus_refresh_token=garbage".to_owned(),
        format!("nexus_access_token={}", bridged.access_token),
    ] {
        let response = env
            .app
            .client
            .post(env.app.url("/api/auth/session/logout?scope=global"))
            .header("Origin", "https://evil.example")
            .header("Cookie", cookie)
            .header("Content-Type", "text/plain")
            .body("x")
            .send()
            .await
            .unwrap();
        assert!(
            response.headers().get("set-cookie").is_none(),
            "no cookie touched"
        );
        assert_failure(response, 403, "origin_not_allowed").await;
    }
    assert_eq!(live_sessions(&env, &bridged.user_id).await, 1);
    env.stop().await;
}
