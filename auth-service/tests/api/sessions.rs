//! Listing, revoking and logging out.

use std::collections::HashSet;
use std::time::Duration;

use nexus_common::events::SessionEventKind;
use serde_json::{Value, json};

use crate::helpers::*;

/// Three sessions of one user (three Supabase sessions).
async fn three_sessions(app: &TestApp) -> Vec<Bridged> {
    let user = uuid::Uuid::new_v4().to_string();
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let mut claims = supabase_claims();
        claims["sub"] = json!(user);
        sessions.push(app.bridged_with(&claims).await);
    }
    sessions
}

async fn listed(app: &TestApp, access_token: &str) -> Vec<Value> {
    let response = app.sessions(access_token).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], true);
    body["sessions"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_shows_own_sessions_with_the_current_one_marked() {
    let env = TestEnv::spawn().await;
    let sessions = three_sessions(&env.app).await;
    let stranger = env.app.bridged().await;
    let list = listed(&env.app, &sessions[1].access_token).await;
    let ids: HashSet<&str> = list.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let expected: HashSet<&str> = sessions.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(ids, expected, "own sessions only");
    assert!(!ids.contains(stranger.session_id.as_str()));
    let current: Vec<&Value> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], sessions[1].session_id.as_str());
    assert_eq!(current[0]["user_agent"], "nexus-tests/1.0");

    // The access cookie works too (GET needs no Origin).
    let by_cookie = env
        .app
        .client
        .get(env.app.url("/api/auth/sessions"))
        .header(
            "Cookie",
            format!("nexus_access_token={}", sessions[0].access_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200);
    let anonymous = env
        .app
        .client
        .get(env.app.url("/api/auth/sessions"))
        .send()
        .await
        .unwrap();
    assert_failure(anonymous, 401, "not_authenticated").await;
    let bogus = env.app.sessions("not.a.token").await;
    assert_eq!(bogus.status(), 401);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_another_users_session_answers_404_and_changes_nothing() {
    let mut env = TestEnv::spawn().await;
    let mine = env.app.bridged().await;
    let theirs = env.app.bridged().await;
    let response = env
        .app
        .delete_session(&mine.access_token, &theirs.session_id)
        .await;
    assert_failure(response, 404, "session_not_found").await;
    let unknown = env
        .app
        .delete_session(&mine.access_token, &uuid::Uuid::new_v4().to_string())
        .await;
    assert_failure(unknown, 404, "session_not_found").await;
    let nonsense = env.app.delete_session(&mine.access_token, "..%2F..").await;
    assert_eq!(nonsense.status(), 404);

    // Theirs still works.
    assert_eq!(listed(&env.app, &theirs.access_token).await.len(), 1);
    assert_eq!(env.app.refresh(&theirs.refresh_token).await.status(), 200);
    let stored = env.store.session(&theirs.user_id, &theirs.session_id).await;
    assert_eq!(stored.revoked_at, None);

    // Revoking my own other session works and emits session.revoked.
    let mut claims = supabase_claims();
    claims["sub"] = json!(mine.user_id);
    let my_other = env.app.bridged_with(&claims).await;
    let own = env
        .app
        .delete_session(&mine.access_token, &my_other.session_id)
        .await;
    assert_eq!(own.status(), 200);
    let revoked = env
        .events
        .next_of(SessionEventKind::Revoked, Duration::from_secs(10))
        .await;
    assert_eq!(revoked.data.session_id, my_other.session_id);
    assert_failure(
        env.app.refresh(&my_other.refresh_token).await,
        401,
        "session_revoked",
    )
    .await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_local_ends_only_this_session_and_clears_cookies() {
    let mut env = TestEnv::spawn().await;
    let sessions = three_sessions(&env.app).await;
    let response = env.app.logout(&sessions[0].access_token, "local").await;
    assert_eq!(response.status(), 200);
    assert_cookies_cleared(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["revoked_sessions"], 1);
    assert_failure(
        env.app.refresh(&sessions[0].refresh_token).await,
        401,
        "session_revoked",
    )
    .await;
    assert_eq!(listed(&env.app, &sessions[1].access_token).await.len(), 2);
    let event = env
        .events
        .next_of(SessionEventKind::Revoked, Duration::from_secs(10))
        .await;
    assert_eq!(event.data.session_id, sessions[0].session_id);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_others_keeps_this_session_and_global_ends_all_with_one_event_each() {
    let mut env = TestEnv::spawn().await;
    let sessions = three_sessions(&env.app).await;
    let stranger = env.app.bridged().await;

    let others = env.app.logout(&sessions[0].access_token, "others").await;
    assert_eq!(others.status(), 200);
    assert!(
        cookies(&others).is_empty(),
        "the current session keeps its cookies"
    );
    let body: Value = others.json().await.unwrap();
    assert_eq!(body["revoked_sessions"], 2);
    let list = listed(&env.app, &sessions[0].access_token).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], sessions[0].session_id.as_str());
    let mut revoked = HashSet::new();
    for _ in 0..2 {
        revoked.insert(
            env.events
                .next_of(SessionEventKind::Revoked, Duration::from_secs(10))
                .await
                .data
                .session_id,
        );
    }
    assert_eq!(
        revoked,
        HashSet::from([
            sessions[1].session_id.clone(),
            sessions[2].session_id.clone()
        ])
    );

    // Global, identified by the refresh cookie alone (as after the access token expired).
    let mut claims = supabase_claims();
    claims["sub"] = json!(sessions[0].user_id);
    let fourth = env.app.bridged_with(&claims).await;
    let global = env
        .app
        .client
        .post(env.app.url("/api/auth/session/logout?scope=global"))
        .header(
            "Cookie",
            format!("nexus_refresh_token={}", fourth.refresh_token),
        )
        .header("Origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(global.status(), 200);
    assert_cookies_cleared(&global);
    let body: Value = global.json().await.unwrap();
    assert_eq!(body["revoked_sessions"], 2);
    let mut revoked = HashSet::new();
    for _ in 0..2 {
        revoked.insert(
            env.events
                .next_of(SessionEventKind::Revoked, Duration::from_secs(10))
                .await
                .data
                .session_id,
        );
    }
    assert_eq!(
        revoked,
        HashSet::from([sessions[0].session_id.clone(), fourth.session_id.clone()])
    );
    assert_failure(
        env.app.sessions(&sessions[0].access_token).await,
        401,
        "session_revoked",
    )
    .await;

    // The stranger is untouched.
    assert_eq!(listed(&env.app, &stranger.access_token).await.len(), 1);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_refuses_bad_scopes_and_cookie_requests_without_origin() {
    let env = TestEnv::spawn().await;
    let bridged = env.app.bridged().await;
    assert_failure(
        env.app.logout(&bridged.access_token, "everything").await,
        400,
        "bad_request",
    )
    .await;
    let cookie_only = env
        .app
        .client
        .post(env.app.url("/api/auth/session/logout"))
        .header(
            "Cookie",
            format!("nexus_access_token={}", bridged.access_token),
        )
        .send()
        .await
        .unwrap();
    assert_failure(cookie_only, 403, "origin_required").await;
    let nothing = env
        .app
        .client
        .post(env.app.url("/api/auth/session/logout"))
        .header("Origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_cookies_cleared(&nothing);
    assert_failure(nothing, 401, "not_authenticated").await;
    // Still logged in after all that.
    assert_eq!(listed(&env.app, &bridged.access_token).await.len(), 1);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_over_the_session_cap_loses_the_idlest_session_with_an_event() {
    let mut env = TestEnv::spawn_with_store(|config| config.max_sessions_per_user = 2).await;
    let first = env.app.bridged().await;
    let mut claims = supabase_claims();
    claims["sub"] = json!(first.user_id);
    // Tokens without a Supabase session_id create a session on every bridge.
    claims.as_object_mut().unwrap().remove("session_id");
    let second = env.app.bridged_with(&claims).await;
    let third = env.app.bridged_with(&claims).await;
    let evicted = env
        .events
        .next_of(SessionEventKind::Revoked, Duration::from_secs(10))
        .await;
    assert_eq!(evicted.data.session_id, first.session_id);
    assert_eq!(evicted.data.reason.as_deref(), Some("session_limit"));
    assert_failure(
        env.app.sessions(&first.access_token).await,
        401,
        "session_revoked",
    )
    .await;
    let list = listed(&env.app, &third.access_token).await;
    let ids: HashSet<&str> = list.iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(
        ids,
        HashSet::from([second.session_id.as_str(), third.session_id.as_str()])
    );
    env.stop().await;
}
