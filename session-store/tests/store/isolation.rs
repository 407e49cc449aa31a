//! User A cannot list, find or revoke user B's sessions through any argument;
//! someone else's session looks exactly like an unknown one.

use nexus_proto::session_v1 as pb;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn one_user_cannot_touch_another_users_sessions() {
    let store = TestStore::spawn().await;
    let mut client = store.client();
    let alice = user();
    let bob = user();
    let alice_request = create_request(&alice, Some("sb-alice"));
    let alice_state = client
        .create_session(alice_request)
        .await
        .unwrap()
        .into_inner()
        .state
        .unwrap();
    let alice_session = session_id(&alice_state);
    let bob_session = session_id(&create(&store, &bob).await);

    // Revoke by id, as Bob: NOT_FOUND, same message as an unknown id.
    let foreign = client
        .revoke_session(pb::RevokeSessionRequest {
            session_id: alice_session.clone(),
            user_id: bob.clone(),
            reason: "logout".into(),
        })
        .await
        .unwrap_err();
    let unknown = client
        .revoke_session(pb::RevokeSessionRequest {
            session_id: uuid::Uuid::new_v4().to_string(),
            user_id: bob.clone(),
            reason: "logout".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), tonic::Code::NotFound);
    assert_eq!(
        (foreign.code(), foreign.message()),
        (unknown.code(), unknown.message())
    );

    // Revoke-all as Bob, even naming Alice's session as the one to keep.
    let revoked = client
        .revoke_user_sessions(pb::RevokeUserSessionsRequest {
            user_id: bob.clone(),
            except_session_id: Some(alice_session.clone()),
            reason: "logout_global".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let revoked_ids: Vec<String> = revoked.revoked.iter().map(|s| s.id.clone()).collect();
    assert_eq!(revoked_ids, vec![bob_session.clone()]);

    // Listing and finding as Bob never shows Alice's session.
    for include_ended in [false, true] {
        let listed = client
            .list_user_sessions(pb::ListUserSessionsRequest {
                user_id: bob.clone(),
                include_ended,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            listed
                .sessions
                .iter()
                .all(|s| s.user_id == bob && s.id != alice_session)
        );
    }
    let found = client
        .find_bridged_session(pb::FindBridgedSessionRequest {
            user_id: bob.clone(),
            supabase_session_id: "sb-alice".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(found.code(), tonic::Code::NotFound);

    // Alice is untouched.
    assert_eq!(
        status_of(&validate(&store, &alice_session).await),
        pb::SessionStatus::Active
    );
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn revoke_all_but_one_and_list_newest_first() {
    let store = TestStore::spawn().await;
    let mut client = store.client();
    let alice = user();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(session_id(&create(&store, &alice).await));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let listed = client
        .list_user_sessions(pb::ListUserSessionsRequest {
            user_id: alice.clone(),
            include_ended: false,
        })
        .await
        .unwrap()
        .into_inner();
    let listed: Vec<String> = listed.sessions.iter().map(|s| s.id.clone()).collect();
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first);

    let keep = ids[1].clone();
    let revoked = client
        .revoke_user_sessions(pb::RevokeUserSessionsRequest {
            user_id: alice.clone(),
            except_session_id: Some(keep.clone()),
            reason: "logout_others".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut revoked_ids: Vec<String> = revoked.revoked.iter().map(|s| s.id.clone()).collect();
    revoked_ids.sort();
    let mut expected = vec![ids[0].clone(), ids[2].clone()];
    expected.sort();
    assert_eq!(revoked_ids, expected);
    assert!(
        revoked
            .revoked
            .iter()
            .all(|s| s.revoked_reason.as_deref() == Some("logout_others"))
    );

    let live = client
        .list_user_sessions(pb::ListUserSessionsRequest {
            user_id: alice.clone(),
            include_ended: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        live.sessions
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>(),
        vec![keep.clone()]
    );
    let all = client
        .list_user_sessions(pb::ListUserSessionsRequest {
            user_id: alice.clone(),
            include_ended: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.sessions.len(), 3);

    // Revoking again revokes nothing more.
    let again = client
        .revoke_user_sessions(pb::RevokeUserSessionsRequest {
            user_id: alice,
            except_session_id: Some(keep),
            reason: "logout_others".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(again.revoked.is_empty());
    store.stop().await;
}
