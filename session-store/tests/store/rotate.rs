//! Every branch of RotateRefreshToken, and 50 concurrent rotations.

use nexus_proto::session_v1 as pb;
use pb::RotateOutcome;

use crate::helpers::*;

async fn refresh_state(store: &TestStore, id: &str) -> pb::RefreshState {
    store
        .client()
        .get_refresh_state(pb::GetRefreshStateRequest {
            session_id: id.to_owned(),
        })
        .await
        .expect("refresh state")
        .into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn presenting_the_current_generation_rotates_it() {
    let store = TestStore::spawn().await;
    let state = create(&store, &user()).await;
    let id = session_id(&state);
    let mut client = store.client();
    let rotated = client
        .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-2", 10_000))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rotated.outcome(), RotateOutcome::Rotated);
    assert_eq!(rotated.current_generation, 2);
    assert_eq!(rotated.current_key_id, "k2");
    let now = refresh_state(&store, &id).await;
    assert_eq!(now.current_generation, 2);
    assert_eq!(now.current_key_id, "k2");
    assert_eq!(now.refresh_secret, state.refresh_secret);

    // Generation 2 rotates in turn.
    let again = client
        .rotate_refresh_token(rotate_request(&id, 2, "token-2", "token-3", 10_000))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.outcome(), RotateOutcome::Rotated);
    assert_eq!(again.current_generation, 3);
    let db = db(store.database_url()).await;
    let rotated_rows = db
        .query_one(
            "SELECT count(*) FROM refresh_tokens WHERE session_id = $1 AND rotated_at IS NOT NULL",
            &[&id],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(rotated_rows, 2, "generations 1 and 2 are marked rotated");
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_just_superseded_generation_gets_the_current_one_without_rotating() {
    let store = TestStore::spawn().await;
    let id = session_id(&create(&store, &user()).await);
    let mut client = store.client();
    client
        .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-2", 10_000))
        .await
        .unwrap();
    // A second tab presents generation 1 again, within the reuse interval.
    let second = client
        .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-2b", 10_000))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.outcome(), RotateOutcome::CurrentReturned);
    assert_eq!(second.current_generation, 2);
    assert_eq!(second.current_key_id, "k2");
    assert_eq!(
        refresh_state(&store, &id).await.current_generation,
        2,
        "nothing rotated"
    );
    assert_eq!(
        status_of(&validate(&store, &id).await),
        pb::SessionStatus::Active
    );
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_old_generation_outside_the_interval_revokes_the_session() {
    let store = TestStore::spawn().await;
    let id = session_id(&create(&store, &user()).await);
    let mut client = store.client();
    client
        .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-2", 300))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let replay = client
        .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-x", 300))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replay.outcome(), RotateOutcome::ReuseDetected);
    assert_eq!(
        replay.current_generation, 0,
        "no token is handed out on reuse"
    );
    let session = replay.session.unwrap();
    assert_eq!(status_of(&session), pb::SessionStatus::Revoked);
    assert_eq!(
        session.revoked_reason.as_deref(),
        Some("refresh_token_reuse")
    );

    // Committed: the session is revoked for everyone, the current token included.
    let validated = validate(&store, &id).await;
    assert_eq!(status_of(&validated), pb::SessionStatus::Revoked);
    let current = client
        .rotate_refresh_token(rotate_request(&id, 2, "token-2", "token-3", 300))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(current.outcome(), RotateOutcome::SessionRevoked);
    let db = db(store.database_url()).await;
    let live = db
        .query_one(
            "SELECT count(*) FROM refresh_tokens WHERE session_id = $1 AND revoked_at IS NULL",
            &[&id],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(live, 0, "all refresh rows revoked");
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn zero_reuse_interval_means_no_grace() {
    let store = TestStore::spawn().await;
    let id = session_id(&create(&store, &user()).await);
    let mut client = store.client();
    client
        .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-2", 0))
        .await
        .unwrap();
    let replay = client
        .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-3", 0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replay.outcome(), RotateOutcome::ReuseDetected);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_hash_changes_nothing() {
    let store = TestStore::spawn().await;
    let id = session_id(&create(&store, &user()).await);
    let mut client = store.client();
    let forged = client
        .rotate_refresh_token(rotate_request(&id, 1, "not-the-token", "token-2", 10_000))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(forged.outcome(), RotateOutcome::TokenMismatch);
    assert_eq!(refresh_state(&store, &id).await.current_generation, 1);
    assert_eq!(
        status_of(&validate(&store, &id).await),
        pb::SessionStatus::Active
    );
    // The real token still rotates.
    let real = client
        .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-2", 10_000))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(real.outcome(), RotateOutcome::Rotated);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_sessions_and_generations_are_not_found() {
    let store = TestStore::spawn().await;
    let id = session_id(&create(&store, &user()).await);
    let mut client = store.client();
    let error = client
        .rotate_refresh_token(rotate_request(&id, 7, "token-1", "token-2", 10_000))
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::NotFound);
    let error = client
        .rotate_refresh_token(rotate_request(
            "no-such-session",
            1,
            "token-1",
            "token-2",
            10_000,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::NotFound);
    let error = client
        .get_refresh_state(pb::GetRefreshStateRequest {
            session_id: "no-such-session".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::NotFound);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_does_not_rotate_and_is_marked_revoked() {
    let store = TestStore::spawn_with(|config| {
        config.max_lifetime = std::time::Duration::from_secs(1);
    })
    .await;
    let id = session_id(&create(&store, &user()).await);
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let mut client = store.client();
    let late = client
        .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-2", 10_000))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(late.outcome(), RotateOutcome::SessionExpired);
    let session = validate(&store, &id).await;
    assert_eq!(status_of(&session), pb::SessionStatus::Revoked);
    assert_eq!(session.revoked_reason.as_deref(), Some("expired"));
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_rotations_make_exactly_one_new_generation() {
    let store = TestStore::spawn().await;
    let id = session_id(&create(&store, &user()).await);
    let calls = (0..50).map(|i| {
        let mut client = store.client();
        let request = rotate_request(&id, 1, "token-1", &format!("next-{i}"), 10_000);
        tokio::spawn(async move {
            client
                .rotate_refresh_token(request)
                .await
                .map(|r| r.into_inner())
        })
    });
    let results = futures::future::join_all(calls).await;
    let mut rotated = 0;
    let mut returned = 0;
    for result in results {
        let response = result.expect("task").expect("rotation call");
        match response.outcome() {
            RotateOutcome::Rotated => rotated += 1,
            RotateOutcome::CurrentReturned => returned += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
        assert_eq!(
            response.current_generation, 2,
            "every caller gets generation 2"
        );
        assert_eq!(response.current_key_id, "k2");
    }
    assert_eq!((rotated, returned), (1, 49));
    let db = db(store.database_url()).await;
    let generations = db
        .query_one(
            "SELECT count(*), max(generation) FROM refresh_tokens WHERE session_id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(generations.get::<_, i64>(0), 2);
    assert_eq!(generations.get::<_, Option<i64>>(1), Some(2));
    assert_eq!(refresh_state(&store, &id).await.current_generation, 2);
    store.stop().await;
}

/// Waits until some backend of this database is waiting for a row lock.
async fn until_someone_waits_for_a_lock(db: &tokio_postgres::Client) {
    for _ in 0..200 {
        let waiting = count(
            db,
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .await;
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no rotation ever waited for the session lock");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reuse_interval_is_judged_after_the_lock_on_the_database_clock() {
    // A superseded generation presented 0.1 s after its rotation, but
    // processed only after waiting 1.5 s for the session lock, is past a 1 s
    // reuse interval: reuse, not a second tab.
    let store = TestStore::spawn_with(|config| {
        config.statement_timeout = std::time::Duration::from_secs(20);
    })
    .await;
    let id = session_id(&create(&store, &user()).await);
    let mut client = store.client();
    let rotated = client
        .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-2", 1_000))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rotated.outcome(), RotateOutcome::Rotated);

    let mut holder = db(store.database_url()).await;
    let lock = holder.transaction().await.unwrap();
    lock.execute(
        "SELECT 1 FROM user_sessions WHERE id = $1 FOR UPDATE",
        &[&id],
    )
    .await
    .unwrap();
    let late = {
        let id = id.clone();
        let mut client = store.client();
        tokio::spawn(async move {
            client
                .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-2b", 1_000))
                .await
        })
    };
    let observer = db(store.database_url()).await;
    until_someone_waits_for_a_lock(&observer).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    lock.rollback().await.unwrap();

    let outcome = late.await.unwrap().unwrap().into_inner();
    assert_eq!(outcome.outcome(), RotateOutcome::ReuseDetected);
    let session = validate(&store, &id).await;
    assert_eq!(status_of(&session), pb::SessionStatus::Revoked);
    assert_eq!(
        session.revoked_reason.as_deref(),
        Some("refresh_token_reuse")
    );
    drop((holder, observer));
    store.stop().await;
}
