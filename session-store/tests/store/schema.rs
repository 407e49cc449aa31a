//! A new database gets the exact schema DESIGN.md fixes.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn new_database_gets_the_original_columns_and_the_additions() {
    let store = TestStore::spawn().await;
    let db = db(store.database_url()).await;
    let rows = db
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name IN ('user_sessions', 'refresh_tokens')",
            &[],
        )
        .await
        .unwrap();
    let columns: std::collections::HashSet<(String, String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let expect = |table: &str, column: &str, ty: &str, nullable: &str| {
        let key = (
            table.to_owned(),
            column.to_owned(),
            ty.to_owned(),
            nullable.to_owned(),
        );
        assert!(columns.contains(&key), "missing {key:?} in {columns:?}");
    };
    expect("user_sessions", "id", "text", "NO");
    expect("user_sessions", "user_id", "text", "NO");
    expect("user_sessions", "user_agent", "text", "YES");
    expect("user_sessions", "ip_address", "text", "YES");
    expect(
        "user_sessions",
        "created_at",
        "timestamp with time zone",
        "NO",
    );
    expect(
        "user_sessions",
        "last_seen_at",
        "timestamp with time zone",
        "NO",
    );
    expect(
        "user_sessions",
        "revoked_at",
        "timestamp with time zone",
        "YES",
    );
    expect("user_sessions", "supabase_session_id", "text", "YES");
    expect("user_sessions", "refresh_secret", "bytea", "YES");
    expect("user_sessions", "current_generation", "bigint", "NO");
    expect("user_sessions", "revoked_reason", "text", "YES");
    expect("refresh_tokens", "id", "text", "NO");
    expect("refresh_tokens", "session_id", "text", "NO");
    expect("refresh_tokens", "token_hash", "text", "NO");
    expect(
        "refresh_tokens",
        "created_at",
        "timestamp with time zone",
        "NO",
    );
    expect(
        "refresh_tokens",
        "rotated_at",
        "timestamp with time zone",
        "YES",
    );
    expect(
        "refresh_tokens",
        "revoked_at",
        "timestamp with time zone",
        "YES",
    );
    expect("refresh_tokens", "generation", "bigint", "YES");
    expect("refresh_tokens", "key_id", "text", "YES");
    expect(
        "refresh_tokens",
        "expires_at",
        "timestamp with time zone",
        "YES",
    );

    // The original defaults.
    let defaults = db
        .query(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_name = 'user_sessions' AND column_default LIKE 'now()%'",
            &[],
        )
        .await
        .unwrap();
    let defaults: Vec<String> = defaults.iter().map(|r| r.get(0)).collect();
    assert!(
        defaults.contains(&"created_at".to_owned())
            && defaults.contains(&"last_seen_at".to_owned())
    );
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn named_indexes_foreign_key_cascade_and_row_level_security() {
    let store = TestStore::spawn().await;
    let db = db(store.database_url()).await;
    for index in [
        "idx_user_sessions_user_id",
        "idx_user_sessions_created_at",
        "idx_refresh_tokens_token_hash",
        "user_sessions_live_supabase_session_key",
        "refresh_tokens_session_generation_key",
    ] {
        let n = db
            .query_one(
                "SELECT count(*) FROM pg_indexes WHERE indexname = $1",
                &[&index],
            )
            .await
            .unwrap()
            .get::<_, i64>(0);
        assert_eq!(n, 1, "index {index}");
    }
    let partial: String = db
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'user_sessions_live_supabase_session_key'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        partial.contains("UNIQUE") && partial.contains("revoked_at IS NULL"),
        "{partial}"
    );

    let rls = db
        .query(
            "SELECT relname::text, relrowsecurity FROM pg_class
             WHERE relname IN ('user_sessions', 'refresh_tokens') ORDER BY relname",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rls.len(), 2);
    assert!(
        rls.iter().all(|row| row.get::<_, bool>(1)),
        "RLS must be enabled on both tables"
    );

    let delete_rule: String = db
        .query_one(
            "SELECT rc.delete_rule::text FROM information_schema.referential_constraints rc
             JOIN information_schema.key_column_usage k ON k.constraint_name = rc.constraint_name
             WHERE k.table_name = 'refresh_tokens' AND k.column_name = 'session_id'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(delete_rule, "CASCADE");

    // Cascade in action: deleting a session deletes its refresh rows.
    let state = create(&store, &user()).await;
    let id = session_id(&state);
    let mut client = store.client();
    client
        .rotate_refresh_token(rotate_request(&id, 1, "token-1", "token-2", 0))
        .await
        .unwrap();
    let rows = db
        .query_one(
            "SELECT count(*) FROM refresh_tokens WHERE session_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(rows, 2);
    db.execute("DELETE FROM user_sessions WHERE id = $1", &[&id])
        .await
        .unwrap();
    let rows = db
        .query_one(
            "SELECT count(*) FROM refresh_tokens WHERE session_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(rows, 0);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_hashes_are_stored() {
    let store = TestStore::spawn().await;
    let state = create(&store, &user()).await;
    let db = db(store.database_url()).await;
    let stored: String = db
        .query_one(
            "SELECT token_hash FROM refresh_tokens WHERE session_id = $1",
            &[&session_id(&state)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, hash("token-1"));
    let secret: Vec<u8> = db
        .query_one(
            "SELECT refresh_secret FROM user_sessions WHERE id = $1",
            &[&session_id(&state)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(secret, state.refresh_secret);
    store.stop().await;
}
