//! ValidateSessions: the batched ValidateSession of the realtime re-check.
//! Same answers as one call per session (status, owner, the throttled
//! touch), unknown ids listed, and bad batches refused as a whole.

use nexus_proto::session_v1 as pb;

use crate::helpers::*;

async fn validate_many(store: &TestStore, ids: Vec<String>) -> pb::ValidateSessionsResponse {
    store
        .client()
        .validate_sessions(pb::ValidateSessionsRequest { session_ids: ids })
        .await
        .expect("ValidateSessions")
        .into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_reports_every_state_touches_only_live_sessions_and_lists_unknown_ids() {
    let store = TestStore::spawn().await;
    let owner = user();
    let active = session_id(&create(&store, &owner).await);
    let idle = session_id(&create(&store, &owner).await);
    let revoked = session_id(&create(&store, &owner).await);
    let expired = session_id(&create(&store, &user()).await);
    store
        .client()
        .revoke_session(pb::RevokeSessionRequest {
            session_id: revoked.clone(),
            user_id: owner.clone(),
            reason: "logout".into(),
        })
        .await
        .expect("revoke");
    let db = db(store.database_url()).await;
    // Two minutes since last seen: due for a touch. Ten years old: expired.
    for (id, sql) in [
        (
            &idle,
            "UPDATE user_sessions SET last_seen_at = now() - interval '2 minutes' WHERE id = $1",
        ),
        (
            &expired,
            "UPDATE user_sessions SET created_at = now() - interval '10 years', \
             last_seen_at = now() - interval '2 minutes' WHERE id = $1",
        ),
        (
            &revoked,
            "UPDATE user_sessions SET last_seen_at = now() - interval '2 minutes' WHERE id = $1",
        ),
    ] {
        db.execute(sql, &[id]).await.expect("age the session");
    }
    let unknown = uuid::Uuid::new_v4().to_string();

    let response = validate_many(
        &store,
        vec![
            active.clone(),
            idle.clone(),
            unknown.clone(),
            revoked.clone(),
            expired.clone(),
            active.clone(),
        ],
    )
    .await;
    assert_eq!(response.unknown_ids, vec![unknown]);
    assert_eq!(response.sessions.len(), 4, "duplicates count once");
    let by_id = |id: &str| {
        response
            .sessions
            .iter()
            .find(|session| session.id == id)
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    assert_eq!(status_of(by_id(&active)), pb::SessionStatus::Active);
    assert_eq!(by_id(&active).user_id, owner);
    assert_eq!(status_of(by_id(&idle)), pb::SessionStatus::Active);
    assert_eq!(status_of(by_id(&revoked)), pb::SessionStatus::Revoked);
    assert_eq!(by_id(&revoked).revoked_reason.as_deref(), Some("logout"));
    assert_eq!(status_of(by_id(&expired)), pb::SessionStatus::Expired);

    // The idle one was touched (now), the revoked and expired ones were not.
    let now = chrono::Utc::now().timestamp();
    let touched = by_id(&idle).last_seen_at.expect("last seen").seconds;
    assert!((now - touched).abs() <= 2, "touched to now");
    for id in [&revoked, &expired] {
        let seconds: i64 = db
            .query_one(
                "SELECT extract(epoch FROM now() - last_seen_at)::bigint FROM user_sessions \
                 WHERE id = $1",
                &[id],
            )
            .await
            .expect("read")
            .get(0);
        assert!(seconds >= 110, "{id} was touched ({seconds}s ago)");
    }

    // The batch agrees with one ValidateSession per session.
    for id in [&active, &idle, &revoked, &expired] {
        let single = validate(&store, id).await;
        assert_eq!(single.status, by_id(id).status, "{id}");
        assert_eq!(single.user_id, by_id(id).user_id, "{id}");
    }
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_batch_of_1000_is_one_call_and_an_empty_one_is_fine() {
    let store = TestStore::spawn().await;
    let known = session_id(&create(&store, &user()).await);
    let mut ids: Vec<String> = (0..999).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    ids.push(known.clone());
    let response = validate_many(&store, ids).await;
    assert_eq!(response.sessions.len(), 1);
    assert_eq!(response.sessions[0].id, known);
    assert_eq!(response.unknown_ids.len(), 999);
    let empty = validate_many(&store, Vec::new()).await;
    assert!(empty.sessions.is_empty() && empty.unknown_ids.is_empty());
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_and_malformed_batches_are_invalid_arguments_that_say_why() {
    let store = TestStore::spawn().await;
    let known = session_id(&create(&store, &user()).await);
    let too_many: Vec<String> = (0..1001).map(|n| format!("s{n}")).collect();
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        ("1001 ids", too_many, "at most 1000 ids per call"),
        (
            "an empty id",
            vec![known.clone(), String::new()],
            "session_ids[1]: must not be empty",
        ),
        (
            "whitespace",
            vec!["a b".into()],
            "session_ids[0]: must contain only A-Z, a-z, 0-9, - and _",
        ),
        (
            "a control character",
            vec![known.clone(), known.clone(), "a\u{0}b".into()],
            "session_ids[2]: must contain only A-Z, a-z, 0-9, - and _",
        ),
        (
            "256 characters",
            vec!["x".repeat(256)],
            "session_ids[0]: must be at most 255 characters",
        ),
    ];
    for (name, ids, message) in cases {
        let status = store
            .client()
            .validate_sessions(pb::ValidateSessionsRequest { session_ids: ids })
            .await
            .expect_err(name);
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{name}");
        assert!(
            status.message().contains(message),
            "{name}: {:?}",
            status.message()
        );
    }
    // Refused as a whole: the valid id in a bad batch was not touched either,
    // and the store still answers.
    assert_eq!(
        status_of(&validate(&store, &known).await),
        pb::SessionStatus::Active
    );
    store.stop().await;
}
