//! Migrations are idempotent and adopt the old Node backend's tables.

use nexus_proto::session_v1 as pb;
use session_store::config::StoreConfig;
use session_store::db::migrations;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn migrations_run_twice_and_their_sql_is_idempotent() {
    let database = TestDatabase::create().await;
    assert_eq!(
        migrations::run(database.url(), &Default::default())
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        migrations::run(database.url(), &Default::default())
            .await
            .unwrap(),
        0
    );
    // Re-run every statement, not just the bookkeeping: forget what ran.
    let db = db(database.url()).await;
    db.batch_execute("DELETE FROM __diesel_schema_migrations")
        .await
        .unwrap();
    assert_eq!(
        migrations::run(database.url(), &Default::default())
            .await
            .unwrap(),
        4
    );
    drop(db);
    database.drop_database().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_adopt_the_old_backend_tables() {
    let database = TestDatabase::create().await;
    let db = db(database.url()).await;
    // The original migration of the Node backend (uuid ids on refresh_tokens,
    // expires_at required).
    db.batch_execute(
        "CREATE TABLE user_sessions (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            user_agent TEXT,
            ip_address TEXT,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            revoked_at TIMESTAMPTZ
         );
         CREATE TABLE refresh_tokens (
            id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
            session_id TEXT NOT NULL REFERENCES user_sessions(id) ON DELETE CASCADE,
            token_hash TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            expires_at TIMESTAMPTZ NOT NULL,
            rotated_at TIMESTAMPTZ,
            revoked_at TIMESTAMPTZ
         );
         CREATE INDEX idx_user_sessions_user_id ON user_sessions(user_id);
         CREATE INDEX idx_user_sessions_created_at ON user_sessions(created_at);
         CREATE INDEX idx_refresh_tokens_token_hash ON refresh_tokens(token_hash);
         ALTER TABLE user_sessions ENABLE ROW LEVEL SECURITY;
         INSERT INTO user_sessions (id, user_id) VALUES ('old-session', 'old-user');
         INSERT INTO refresh_tokens (session_id, token_hash, expires_at)
            VALUES ('old-session', 'oldhash', now() + interval '7 days');",
    )
    .await
    .unwrap();

    assert_eq!(
        migrations::run(database.url(), &Default::default())
            .await
            .unwrap(),
        4
    );

    // Old data kept, old refresh tokens revoked, new columns present.
    let revoked = count(
        &db,
        "SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NOT NULL",
    )
    .await;
    assert_eq!(revoked, 1);
    let generation: i64 = db
        .query_one(
            "SELECT current_generation FROM user_sessions WHERE id = 'old-session'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(generation, 0);
    let id_type: String = db
        .query_one(
            "SELECT data_type::text FROM information_schema.columns
             WHERE table_name = 'refresh_tokens' AND column_name = 'id'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(id_type, "uuid", "the adopted table keeps its own id type");

    // The service works on the adopted tables.
    let config = StoreConfig::local(database.url(), ([127, 0, 0, 1], 0).into());
    let store = TestStore::spawn_on(database, config).await;
    let mut client = store.client();
    let state = create(&store, "old-user").await;
    let id = session_id(&state);
    let rotated = client
        .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-2", 0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rotated.outcome(), pb::RotateOutcome::Rotated);
    let listed = client
        .list_user_sessions(pb::ListUserSessionsRequest {
            user_id: "old-user".into(),
            include_ended: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.sessions.len(), 2, "old and new session both listed");
    // The adopted session has no refresh secret: refresh state is refused clearly.
    let error = client
        .get_refresh_state(pb::GetRefreshStateRequest {
            session_id: "old-session".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::FailedPrecondition);
    drop(db);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_are_created_where_supabase_roles_and_auth_uid_exist() {
    let database = TestDatabase::create().await;
    let db = db(database.url()).await;
    emulate_supabase(&db).await;
    migrations::run(database.url(), &Default::default())
        .await
        .unwrap();
    let policies = db
        .query(
            "SELECT policyname::text FROM pg_policies ORDER BY policyname",
            &[],
        )
        .await
        .unwrap();
    let names: Vec<String> = policies.iter().map(|r| r.get(0)).collect();
    assert_eq!(
        names,
        vec![
            "Members can view their groups",
            "Service role can manage all chat group members",
            "Service role can manage all chat groups",
            "Service role can manage all refresh tokens",
            "Service role can manage all sessions",
            "Users can view own group memberships",
            "Users can view own refresh tokens",
            "Users can view own sessions",
        ]
    );
    // And again: no duplicates, no error.
    db.batch_execute("DELETE FROM __diesel_schema_migrations")
        .await
        .unwrap();
    migrations::run(database.url(), &Default::default())
        .await
        .unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM pg_policies").await, 8);

    // A plain database (no auth.uid()) gets no policies but RLS enabled.
    let plain = TestDatabase::create().await;
    migrations::run(plain.url(), &Default::default())
        .await
        .unwrap();
    let plain_db = crate::helpers::db(plain.url()).await;
    assert_eq!(
        count(&plain_db, "SELECT count(*) FROM pg_policies").await,
        0
    );
    drop(plain_db);
    drop(db);
    plain.drop_database().await;
    database.drop_database().await;
}
