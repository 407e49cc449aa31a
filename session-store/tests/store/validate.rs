//! ValidateSession: status, revocation, expiry by lifetime and by idleness,
//! and the throttled `last_seen_at` touch.

use std::time::Duration;

use nexus_proto::session_v1 as pb;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn unknown_session_is_not_found() {
    let store = TestStore::spawn().await;
    let error = store
        .client()
        .validate_session(pb::ValidateSessionRequest {
            session_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::NotFound);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_session_validates_as_revoked() {
    let store = TestStore::spawn().await;
    let user_id = user();
    let state = create(&store, &user_id).await;
    let id = session_id(&state);
    let active = validate(&store, &id).await;
    assert_eq!(status_of(&active), pb::SessionStatus::Active);
    assert_eq!(active.user_id, user_id);
    let revoked = store
        .client()
        .revoke_session(pb::RevokeSessionRequest {
            session_id: id.clone(),
            user_id: user_id.clone(),
            reason: "logout".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(revoked.revoked);
    let session = validate(&store, &id).await;
    assert_eq!(status_of(&session), pb::SessionStatus::Revoked);
    assert_eq!(session.revoked_reason.as_deref(), Some("logout"));
    assert!(session.revoked_at.is_some());
    // Revoking twice is not an error, and says it did nothing.
    let again = store
        .client()
        .revoke_session(pb::RevokeSessionRequest {
            session_id: id,
            user_id,
            reason: "logout".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!again.revoked);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_expire_at_their_absolute_lifetime() {
    let store = TestStore::spawn_with(|config| config.max_lifetime = Duration::from_secs(2)).await;
    let user_id = user();
    let supabase = uuid::Uuid::new_v4().to_string();
    let mut client = store.client();
    let first = client
        .create_session(create_request(&user_id, Some(&supabase)))
        .await
        .unwrap()
        .into_inner()
        .state
        .unwrap();
    let id = session_id(&first);
    let session = validate(&store, &id).await;
    assert_eq!(status_of(&session), pb::SessionStatus::Active);
    let created = session.created_at.unwrap().seconds;
    assert!((session.expires_at.unwrap().seconds - created - 2).abs() <= 1);

    tokio::time::sleep(Duration::from_millis(2_200)).await;
    assert_eq!(
        status_of(&validate(&store, &id).await),
        pb::SessionStatus::Expired
    );
    let error = client
        .find_bridged_session(pb::FindBridgedSessionRequest {
            user_id: user_id.clone(),
            supabase_session_id: supabase.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::NotFound);

    // Bridging again replaces the expired session, which is marked revoked.
    let second = client
        .create_session(create_request(&user_id, Some(&supabase)))
        .await
        .unwrap()
        .into_inner();
    assert!(second.created);
    assert_ne!(session_id(second.state.as_ref().unwrap()), id);
    let old = validate(&store, &id).await;
    assert_eq!(status_of(&old), pb::SessionStatus::Revoked);
    assert_eq!(old.revoked_reason.as_deref(), Some("expired"));
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn activity_keeps_a_session_alive_and_idleness_ends_it() {
    let store = TestStore::spawn_with(|config| config.idle_timeout = Duration::from_secs(3)).await;
    let id = session_id(&create(&store, &user()).await);
    // Validating every 1.5 s keeps it alive past the 3 s idle timeout.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(
            status_of(&validate(&store, &id).await),
            pb::SessionStatus::Active
        );
    }
    tokio::time::sleep(Duration::from_millis(3_300)).await;
    assert_eq!(
        status_of(&validate(&store, &id).await),
        pb::SessionStatus::Expired
    );
    // Validating an expired session does not revive it.
    assert_eq!(
        status_of(&validate(&store, &id).await),
        pb::SessionStatus::Expired
    );
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn last_seen_is_written_at_most_once_a_minute() {
    let store = TestStore::spawn().await;
    let id = session_id(&create(&store, &user()).await);
    let db = db(store.database_url()).await;
    // Pretend the session was last seen 10 s ago: fresh enough, no write.
    db.execute(
        "UPDATE user_sessions SET last_seen_at = now() - interval '10 seconds' WHERE id = $1",
        &[&id],
    )
    .await
    .unwrap();
    let before = validate(&store, &id).await.last_seen_at.unwrap();
    let after = validate(&store, &id).await.last_seen_at.unwrap();
    assert_eq!(before, after);
    let stored: i64 = db
        .query_one(
            "SELECT extract(epoch FROM now() - last_seen_at)::bigint FROM user_sessions WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(stored >= 9, "not touched while fresh ({stored}s ago)");
    // Two minutes ago: the next validation writes it.
    db.execute(
        "UPDATE user_sessions SET last_seen_at = now() - interval '2 minutes' WHERE id = $1",
        &[&id],
    )
    .await
    .unwrap();
    let touched = validate(&store, &id).await.last_seen_at.unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!((now - touched.seconds).abs() <= 2, "touched to now");
    store.stop().await;
}
