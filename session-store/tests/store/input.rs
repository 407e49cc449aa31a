//! Bad input answers INVALID_ARGUMENT with a message naming the field.

use nexus_proto::session_v1 as pb;

use crate::helpers::*;

fn assert_invalid(
    result: Result<tonic::Response<impl std::fmt::Debug>, tonic::Status>,
    field: &str,
) {
    let status = result.expect_err("must be rejected");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains(field),
        "message {:?} names {field}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_create_requests_are_rejected() {
    let store = TestStore::spawn().await;
    let mut client = store.client();
    let good = || create_request(&user(), Some("sb"));
    let cases: Vec<(&str, pb::CreateSessionRequest)> = vec![
        (
            "user_id",
            pb::CreateSessionRequest {
                user_id: String::new(),
                ..good()
            },
        ),
        (
            "user_id",
            pb::CreateSessionRequest {
                user_id: "u".repeat(256),
                ..good()
            },
        ),
        (
            "user_id",
            pb::CreateSessionRequest {
                user_id: "bad\nid".into(),
                ..good()
            },
        ),
        (
            "refresh_secret",
            pb::CreateSessionRequest {
                refresh_secret: vec![1; 16],
                ..good()
            },
        ),
        (
            "refresh_secret",
            pb::CreateSessionRequest {
                refresh_secret: Vec::new(),
                ..good()
            },
        ),
        (
            "token_hash",
            pb::CreateSessionRequest {
                token_hash: "raw-token".into(),
                ..good()
            },
        ),
        (
            "token_hash",
            pb::CreateSessionRequest {
                token_hash: hash("x").to_uppercase(),
                ..good()
            },
        ),
        (
            "key_id",
            pb::CreateSessionRequest {
                key_id: String::new(),
                ..good()
            },
        ),
        (
            "key_id",
            pb::CreateSessionRequest {
                key_id: "k".repeat(65),
                ..good()
            },
        ),
        (
            "ip_address",
            pb::CreateSessionRequest {
                ip_address: Some("999.1.1.1".into()),
                ..good()
            },
        ),
        (
            "supabase_session_id",
            pb::CreateSessionRequest {
                supabase_session_id: Some("s".repeat(300)),
                ..good()
            },
        ),
    ];
    for (field, request) in cases {
        assert_invalid(client.create_session(request).await, field);
    }
    let db = db(store.database_url()).await;
    assert_eq!(
        count(&db, "SELECT count(*) FROM user_sessions").await,
        0,
        "nothing stored"
    );
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_ids_hashes_and_generations_are_rejected() {
    let store = TestStore::spawn().await;
    let mut client = store.client();
    let id = session_id(&create(&store, &user()).await);
    let good = || rotate_request(&id, 1, "token-1", "token-2", 10_000);
    assert_invalid(
        client
            .rotate_refresh_token(pb::RotateRefreshTokenRequest {
                presented_generation: 0,
                ..good()
            })
            .await,
        "presented_generation",
    );
    assert_invalid(
        client
            .rotate_refresh_token(pb::RotateRefreshTokenRequest {
                presented_token_hash: "zz".into(),
                ..good()
            })
            .await,
        "presented_token_hash",
    );
    assert_invalid(
        client
            .rotate_refresh_token(pb::RotateRefreshTokenRequest {
                next_token_hash: String::new(),
                ..good()
            })
            .await,
        "next_token_hash",
    );
    assert_invalid(
        client
            .rotate_refresh_token(pb::RotateRefreshTokenRequest {
                next_key_id: String::new(),
                ..good()
            })
            .await,
        "next_key_id",
    );
    assert_invalid(
        client
            .rotate_refresh_token(pb::RotateRefreshTokenRequest {
                session_id: String::new(),
                ..good()
            })
            .await,
        "session_id",
    );
    assert_invalid(
        client
            .validate_session(pb::ValidateSessionRequest {
                session_id: "x".repeat(256),
            })
            .await,
        "session_id",
    );
    assert_invalid(
        client
            .get_refresh_state(pb::GetRefreshStateRequest {
                session_id: String::new(),
            })
            .await,
        "session_id",
    );
    assert_invalid(
        client
            .revoke_session(pb::RevokeSessionRequest {
                session_id: id.clone(),
                user_id: String::new(),
                reason: "logout".into(),
            })
            .await,
        "user_id",
    );
    assert_invalid(
        client
            .revoke_session(pb::RevokeSessionRequest {
                session_id: id.clone(),
                user_id: user(),
                reason: "r".repeat(65),
            })
            .await,
        "reason",
    );
    assert_invalid(
        client
            .list_user_sessions(pb::ListUserSessionsRequest {
                user_id: String::new(),
                include_ended: true,
            })
            .await,
        "user_id",
    );
    assert_invalid(
        client
            .find_bridged_session(pb::FindBridgedSessionRequest {
                user_id: user(),
                supabase_session_id: String::new(),
            })
            .await,
        "supabase_session_id",
    );
    // Nothing changed for the session.
    assert_eq!(
        status_of(&validate(&store, &id).await),
        pb::SessionStatus::Active
    );
    store.stop().await;
}
