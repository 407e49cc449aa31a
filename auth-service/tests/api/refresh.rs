//! Refresh-token rotation, concurrent tabs, reuse detection, forgeries and
//! key rotation.

use std::collections::HashSet;
use std::time::Duration;

use nexus_common::events::SessionEventKind;
use serde_json::Value;

use crate::helpers::*;

async fn refreshed_token(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    let token = cookies(&response)["nexus_refresh_token"].value().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], true);
    assert!(body["access_token"].is_string());
    token
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_rotates_the_token_and_issues_a_new_access_token() {
    let mut env = TestEnv::spawn().await;
    let bridged = env.app.bridged().await;
    let response = env.app.refresh(&bridged.refresh_token).await;
    assert_eq!(response.status(), 200);
    let set = cookies(&response);
    let second = set["nexus_refresh_token"].value().to_owned();
    let new_access = set["nexus_access_token"].value().to_owned();
    assert_ne!(second, bridged.refresh_token);
    assert_ne!(new_access, bridged.access_token);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["session"]["id"], bridged.session_id.as_str());

    // The new token rotates again: the session is at generation 3.
    let third = refreshed_token(env.app.refresh(&second).await).await;
    assert_ne!(third, second);
    let state = env.store.refresh_state(&bridged.session_id).await;
    assert_eq!(state.current_generation, 3);

    // The new access token works for the session list.
    let list = env.app.sessions(&new_access).await;
    assert_eq!(list.status(), 200);

    let created = env.events.next(Duration::from_secs(10)).await;
    assert_eq!(created.kind(), Some(SessionEventKind::Created));
    for _ in 0..2 {
        let refreshed = env.events.next(Duration::from_secs(10)).await;
        assert_eq!(refreshed.kind(), Some(SessionEventKind::Refreshed));
        assert_eq!(refreshed.data.session_id, bridged.session_id);
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_parallel_refreshes_with_one_cookie_all_get_the_same_new_token() {
    let env = TestEnv::spawn().await;
    let bridged = env.app.bridged().await;
    let requests = (0..20).map(|_| env.app.refresh(&bridged.refresh_token));
    let responses = futures::future::join_all(requests).await;
    let mut tokens = HashSet::new();
    for response in responses {
        tokens.insert(refreshed_token(response).await);
    }
    assert_eq!(tokens.len(), 1, "every tab received the same current token");
    assert!(!tokens.contains(&bridged.refresh_token));
    let state = env.store.refresh_state(&bridged.session_id).await;
    assert_eq!(state.current_generation, 2, "exactly one rotation happened");
    // And the shared new token rotates normally.
    let next = env.app.refresh(tokens.iter().next().unwrap()).await;
    assert_eq!(next.status(), 200);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_old_token_after_the_reuse_interval_revokes_the_session_and_emits_reuse_detected() {
    let mut env = TestEnv::spawn_with(|settings| {
        settings.refresh_reuse_interval = Duration::from_millis(300);
    })
    .await;
    let bridged = env.app.bridged().await;
    let second = refreshed_token(env.app.refresh(&bridged.refresh_token).await).await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    let reuse = env.app.refresh(&bridged.refresh_token).await;
    assert_cookies_cleared(&reuse);
    assert_failure(reuse, 401, "refresh_token_reuse").await;

    // The whole session is gone: the current token no longer works either.
    let after = env.app.refresh(&second).await;
    assert_cookies_cleared(&after);
    assert_failure(after, 401, "session_revoked").await;
    let stored = env
        .store
        .session(&bridged.user_id, &bridged.session_id)
        .await;
    assert!(stored.revoked_at.is_some(), "{stored:?}");
    let access = env.app.sessions(&bridged.access_token).await;
    assert_failure(access, 401, "session_revoked").await;

    let event = env
        .events
        .next_of(SessionEventKind::ReuseDetected, Duration::from_secs(10))
        .await;
    assert_eq!(event.data.session_id, bridged.session_id);
    assert_eq!(event.data.user_id, bridged.user_id);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_refresh_tokens_are_refused_without_reaching_session_store() {
    // No session-store at all: any call would be a 503.
    let jwks = supabase::serve_jwks().await;
    let app =
        TestApp::start(settings(&format!("http://127.0.0.1:{}", free_port()), &jwks.url).build())
            .await;
    let genuine_keys = auth_service::keys::refresh::RefreshKeyring::parse(REFRESH_KEY_1).unwrap();
    let sid = auth_service::domain::SessionId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
    let secret = auth_service::domain::RefreshSecret::random();
    let genuine =
        genuine_keys.derive_current(&sid, auth_service::domain::Generation::FIRST, &secret);
    let raw = genuine.expose();
    let forged_generation = raw.replacen(".1.", ".9.", 1);
    let other_key = auth_service::keys::refresh::RefreshKeyring::parse(
        "k1:an-attackers-guess-at-the-secret-0123456789",
    )
    .unwrap()
    .derive_current(&sid, auth_service::domain::Generation::FIRST, &secret);
    let unknown_kid = auth_service::keys::refresh::RefreshKeyring::parse(
        "zz:an-attackers-own-key-secret-0123456789ab",
    )
    .unwrap()
    .derive_current(&sid, auth_service::domain::Generation::FIRST, &secret);
    // A key id nobody retired may be one another replica already holds: 503
    // (retry), decided before any gRPC call, the cookies kept.
    let unknown = app.refresh(unknown_kid.expose()).await;
    assert!(unknown.headers().get("set-cookie").is_none());
    assert_failure(unknown, 503, "refresh_key_unknown").await;
    for forged in [
        forged_generation.as_str(),
        other_key.expose(),
        "nxr1.k1.x.1.y.z",
        "garbage",
        &raw[..raw.len() - 4],
    ] {
        let response = app.refresh(forged).await;
        assert_cookies_cleared(&response);
        assert_failure(response, 401, "invalid_refresh_token").await;
    }
    // The genuine token does reach session-store, which is down: 503, proving the
    // 401s above were decided before any gRPC call.
    let genuine_response = app.refresh(raw).await;
    assert_failure(genuine_response, 503, "service_unavailable").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_of_the_previous_key_still_works_after_key_rotation() {
    let env = TestEnv::spawn().await;
    let bridged = env.app.bridged().await;
    assert!(bridged.refresh_token.starts_with("nxr1.k1."));

    // A new deployment: k2 signs new tokens, k1 still verifies.
    let mut rotated = settings(env.store.url(), &env.jwks.url).build();
    rotated.refresh_keys = std::sync::Arc::new(
        auth_service::keys::refresh::RefreshKeyring::parse(&format!(
            "{REFRESH_KEY_2},{REFRESH_KEY_1}"
        ))
        .unwrap(),
    );
    let new_app = TestApp::start(rotated).await;
    let next = refreshed_token(new_app.refresh(&bridged.refresh_token).await).await;
    assert!(next.starts_with("nxr1.k2."), "rotated onto the new key");
    let again = refreshed_token(new_app.refresh(&next).await).await;
    assert!(again.starts_with("nxr1.k2."));

    // A deployment that dropped k1 and never saw k2 cannot read either.
    let mut foreign = settings(env.store.url(), &env.jwks.url).build();
    foreign.refresh_keys = std::sync::Arc::new(
        auth_service::keys::refresh::RefreshKeyring::parse(
            "k3:third-refresh-key-secret-0123456789abcdef",
        )
        .unwrap(),
    );
    let foreign_app = TestApp::start(foreign).await;
    // It does not know k2, which nobody retired: a configuration it has not
    // caught up with, so "retry later", never "you are logged out".
    let unknown = foreign_app.refresh(&again).await;
    assert!(unknown.headers().get("set-cookie").is_none());
    assert_failure(unknown, 503, "refresh_key_unknown").await;
    foreign_app.stop().await;
    new_app.stop().await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_without_a_token_or_with_a_wrong_origin_is_refused() {
    let env = TestEnv::spawn().await;
    let bridged = env.app.bridged().await;
    let none = env
        .app
        .client
        .post(env.app.url("/api/auth/session/refresh"))
        .header("Origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_cookies_cleared(&none);
    assert_failure(none, 401, "not_authenticated").await;

    // Cookie without Origin: a browser would always send one, so refuse.
    let no_origin = env
        .app
        .client
        .post(env.app.url("/api/auth/session/refresh"))
        .header(
            "Cookie",
            format!("nexus_refresh_token={}", bridged.refresh_token),
        )
        .send()
        .await
        .unwrap();
    assert_failure(no_origin, 403, "origin_required").await;
    let evil = env
        .app
        .client
        .post(env.app.url("/api/auth/session/refresh"))
        .header(
            "Cookie",
            format!("nexus_refresh_token={}", bridged.refresh_token),
        )
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_failure(evil, 403, "origin_not_allowed").await;

    // The token in a JSON body (not a cookie) needs no Origin, and the refused
    // attempts above did not consume it.
    let body = env
        .app
        .client
        .post(env.app.url("/api/auth/session/refresh"))
        .json(&serde_json::json!({"refresh_token": bridged.refresh_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(body.status(), 200);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_cannot_be_refreshed_and_its_cookies_are_cleared() {
    let env =
        TestEnv::spawn_with_store(|config| config.idle_timeout = Duration::from_secs(1)).await;
    let bridged = env.app.bridged().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let response = env.app.refresh(&bridged.refresh_token).await;
    assert_cookies_cleared(&response);
    assert_failure(response, 401, "session_expired").await;
    assert_failure(
        env.app.sessions(&bridged.access_token).await,
        401,
        "session_expired",
    )
    .await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_behind_on_refresh_keys_answers_503_and_logs_nobody_out() {
    let env = TestEnv::spawn().await;
    // Rolling change of REFRESH_TOKEN_KEYS: the new replica derives with k2,
    // the old one (env.app) still knows only k1.
    let mut rolled = settings(env.store.url(), &env.jwks.url).build();
    rolled.refresh_keys = std::sync::Arc::new(
        auth_service::keys::refresh::RefreshKeyring::parse(&format!(
            "{REFRESH_KEY_2},{REFRESH_KEY_1}"
        ))
        .unwrap(),
    );
    let new_replica = TestApp::start(rolled).await;
    let claims = supabase_claims();
    let bridged = new_replica.bridged_with(&claims).await;
    assert!(bridged.refresh_token.starts_with("nxr1.k2."));

    let refresh = env.app.refresh(&bridged.refresh_token).await;
    assert!(
        refresh.headers().get("set-cookie").is_none(),
        "cookies kept"
    );
    assert_failure(refresh, 503, "refresh_key_unknown").await;
    let bridge = env
        .app
        .bridge(&sign_hs256(&claims, SUPABASE_SECRET.as_bytes()))
        .await;
    assert!(bridge.headers().get("set-cookie").is_none());
    assert_failure(bridge, 503, "refresh_key_unknown").await;

    // Nothing was revoked: the session lives on and refreshes on the new replica.
    assert_eq!(env.store.live_sessions(&bridged.user_id).await, 1);
    let next = refreshed_token(new_replica.refresh(&bridged.refresh_token).await).await;
    assert!(next.starts_with("nxr1.k2."));
    new_replica.stop().await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_key_listed_as_retired_ends_sessions() {
    let mut env = TestEnv::spawn().await;
    let claims = supabase_claims();
    let bridged = env.app.bridged_with(&claims).await;
    assert!(bridged.refresh_token.starts_with("nxr1.k1."));

    // k1 leaked: the operator replaces it with k2 and lists k1 as retired.
    let mut retiring = settings(env.store.url(), &env.jwks.url).build();
    retiring.refresh_keys = std::sync::Arc::new(
        auth_service::keys::refresh::RefreshKeyring::parse(REFRESH_KEY_2)
            .unwrap()
            .with_retired(&["k1".to_owned()])
            .unwrap(),
    );
    retiring.events_exchange = env.app.exchange.clone();
    let app = TestApp::start(retiring).await;
    let refused = app.refresh(&bridged.refresh_token).await;
    assert_cookies_cleared(&refused);
    assert_failure(refused, 401, "invalid_refresh_token").await;

    // Bridging the same Supabase session replaces the unrefreshable session.
    let replaced = app.bridged_with(&claims).await;
    assert_ne!(replaced.session_id, bridged.session_id);
    assert!(replaced.refresh_token.starts_with("nxr1.k2."));
    let revoked = env
        .events
        .next_of(SessionEventKind::Revoked, Duration::from_secs(10))
        .await;
    assert_eq!(revoked.data.session_id, bridged.session_id);
    assert_eq!(revoked.data.reason.as_deref(), Some("refresh_key_retired"));
    app.stop().await;
    env.stop().await;
}
