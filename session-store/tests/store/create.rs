//! CreateSession: first generation, idempotency per Supabase session,
//! concurrent creates, and FindBridgedSession.

use nexus_proto::session_v1 as pb;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn create_returns_generation_one_and_the_callers_secret() {
    let store = TestStore::spawn().await;
    let user_id = user();
    let request = create_request(&user_id, Some("sb-1"));
    let secret = request.refresh_secret.clone();
    let response = store
        .client()
        .create_session(request)
        .await
        .unwrap()
        .into_inner();
    assert!(response.created);
    let state = response.state.unwrap();
    assert_eq!(state.current_generation, 1);
    assert_eq!(state.current_key_id, "k1");
    assert_eq!(state.refresh_secret, secret);
    let session = state.session.unwrap();
    assert_eq!(session.user_id, user_id);
    assert_eq!(session.user_agent.as_deref(), Some("Mozilla/5.0 (test)"));
    assert_eq!(session.ip_address.as_deref(), Some("203.0.113.7"));
    assert_eq!(session.supabase_session_id.as_deref(), Some("sb-1"));
    assert_eq!(status_of(&session), pb::SessionStatus::Active);
    assert!(uuid::Uuid::parse_str(&session.id).is_ok());
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_again_for_a_live_supabase_session_returns_it() {
    let store = TestStore::spawn().await;
    let user_id = user();
    let mut client = store.client();
    let first = client
        .create_session(create_request(&user_id, Some("sb-1")))
        .await
        .unwrap()
        .into_inner();
    let first = first.state.unwrap();
    let id = session_id(&first);
    client
        .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-2", 0))
        .await
        .unwrap();

    let again = client
        .create_session(create_request(&user_id, Some("sb-1")))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.created);
    let state = again.state.unwrap();
    assert_eq!(session_id(&state), id);
    assert_eq!(
        state.refresh_secret, first.refresh_secret,
        "the stored secret, not the new one"
    );
    assert_eq!(state.current_generation, 2);
    assert_eq!(state.current_key_id, "k2");

    let found = client
        .find_bridged_session(pb::FindBridgedSessionRequest {
            user_id: user_id.clone(),
            supabase_session_id: "sb-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.id, id);

    // A revoked bridge is replaced by a new session.
    client
        .revoke_session(pb::RevokeSessionRequest {
            session_id: id.clone(),
            user_id: user_id.clone(),
            reason: "logout".into(),
        })
        .await
        .unwrap();
    let fresh = client
        .create_session(create_request(&user_id, Some("sb-1")))
        .await
        .unwrap()
        .into_inner();
    assert!(fresh.created);
    assert_ne!(session_id(fresh.state.as_ref().unwrap()), id);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_without_a_supabase_session_are_always_new() {
    let store = TestStore::spawn().await;
    let user_id = user();
    let mut client = store.client();
    let a = client
        .create_session(create_request(&user_id, None))
        .await
        .unwrap()
        .into_inner();
    let b = client
        .create_session(create_request(&user_id, None))
        .await
        .unwrap()
        .into_inner();
    assert!(a.created && b.created);
    assert_ne!(
        session_id(a.state.as_ref().unwrap()),
        session_id(b.state.as_ref().unwrap())
    );
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_creates_for_one_supabase_session_give_one_session() {
    let store = TestStore::spawn().await;
    let user_id = user();
    let calls = (0..20).map(|_| {
        let mut client = store.client();
        let request = create_request(&user_id, Some("sb-race"));
        tokio::spawn(async move { client.create_session(request).await.map(|r| r.into_inner()) })
    });
    let results = futures::future::join_all(calls).await;
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for result in results {
        let response = result.expect("task").expect("create call");
        created += usize::from(response.created);
        ids.insert(session_id(response.state.as_ref().unwrap()));
    }
    assert_eq!(ids.len(), 1, "every caller got the same session");
    assert_eq!(created, 1);
    let db = db(store.database_url()).await;
    assert_eq!(count(&db, "SELECT count(*) FROM user_sessions").await, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM refresh_tokens").await, 1);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn find_bridged_is_not_found_without_a_live_session() {
    let store = TestStore::spawn().await;
    let error = store
        .client()
        .find_bridged_session(pb::FindBridgedSessionRequest {
            user_id: user(),
            supabase_session_id: "nothing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::NotFound);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_session_more_than_the_cap_revokes_the_least_recently_seen() {
    let store = TestStore::spawn_with(|config| config.max_sessions_per_user = 3).await;
    let (user_id, other) = (user(), user());
    let mut client = store.client();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(session_id(&create(&store, &user_id).await));
    }
    let others = session_id(&create(&store, &other).await);
    // The second session has been idle longest.
    let db = db(store.database_url()).await;
    db.execute(
        "UPDATE user_sessions SET last_seen_at = now() - interval '1 hour' WHERE id = $1",
        &[&ids[1]],
    )
    .await
    .unwrap();

    // Tokens without a Supabase session_id create a session every time.
    let fourth = client
        .create_session(create_request(&user_id, None))
        .await
        .unwrap()
        .into_inner();
    assert!(fourth.created);
    let evicted: Vec<&str> = fourth.evicted.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(evicted, vec![ids[1].as_str()]);
    assert_eq!(status_of(&fourth.evicted[0]), pb::SessionStatus::Revoked);
    assert_eq!(
        fourth.evicted[0].revoked_reason.as_deref(),
        Some("session_limit")
    );
    let live = |user_id: String| {
        let mut client = store.client();
        async move {
            client
                .list_user_sessions(pb::ListUserSessionsRequest {
                    user_id,
                    include_ended: false,
                })
                .await
                .unwrap()
                .into_inner()
                .sessions
        }
    };
    assert_eq!(live(user_id.clone()).await.len(), 3);
    // Another user's sessions are not counted nor touched.
    let theirs = live(other.clone()).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].id, others);

    // A new Supabase session evicts one more; bridging it again evicts nothing.
    let bridged = client
        .create_session(create_request(&user_id, Some("sb-cap")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(bridged.evicted.len(), 1);
    let again = client
        .create_session(create_request(&user_id, Some("sb-cap")))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.created);
    assert!(again.evicted.is_empty());
    drop(db);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_creates_never_exceed_the_cap() {
    let store = TestStore::spawn_with(|config| config.max_sessions_per_user = 3).await;
    let user_id = user();
    let creates = (0..12).map(|_| {
        let mut client = store.client();
        let request = create_request(&user_id, None);
        async move { client.create_session(request).await.unwrap().into_inner() }
    });
    let responses = futures::future::join_all(creates).await;
    let evicted: usize = responses.iter().map(|r| r.evicted.len()).sum();
    assert_eq!(evicted, 9, "each of the 12 sessions beyond 3 evicted one");
    let live = store
        .client()
        .list_user_sessions(pb::ListUserSessionsRequest {
            user_id: user_id.clone(),
            include_ended: false,
        })
        .await
        .unwrap()
        .into_inner()
        .sessions;
    assert_eq!(live.len(), 3);
    store.stop().await;
}
