//! On a Supabase database, what a signed-in user's JWT may read through the
//! data API: the seed's columns of their own rows, never the refresh secret,
//! key ids or generations.

use session_store::config::StoreConfig;

use crate::helpers::*;

/// SQLSTATE `insufficient_privilege`.
const DENIED: &str = "42501";

fn denied(result: Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>, what: &str) {
    match result {
        Ok(rows) => panic!(
            "{what}: expected permission denied, read {} rows",
            rows.len()
        ),
        Err(error) => assert_eq!(
            error.code().map(|code| code.code()),
            Some(DENIED),
            "{what}: {error}"
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_in_users_read_only_the_seed_columns_of_their_own_rows() {
    let database = TestDatabase::create().await;
    let mut admin = db(database.url()).await;
    emulate_supabase(&admin).await;
    let config = StoreConfig::local(database.url(), ([127, 0, 0, 1], 0).into());
    let store = TestStore::spawn_on(database, config).await;
    let (alice, bob) = (user(), user());
    let alice_session = session_id(&create(&store, &alice).await);
    create(&store, &bob).await;

    // The seed's columns of one's own rows: readable, and only one's own.
    let own = as_role(
        &mut admin,
        "authenticated",
        Some(&alice),
        "SELECT id, user_id, user_agent, ip_address, created_at, last_seen_at, revoked_at \
         FROM user_sessions",
    )
    .await
    .expect("seed columns of user_sessions");
    assert_eq!(own.len(), 1, "only alice's session");
    assert_eq!(own[0].get::<_, String>("id"), alice_session);
    let tokens = as_role(
        &mut admin,
        "authenticated",
        Some(&alice),
        "SELECT id::text, session_id, token_hash, created_at, expires_at, rotated_at, revoked_at \
         FROM refresh_tokens",
    )
    .await
    .expect("seed columns of refresh_tokens");
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].get::<_, String>("session_id"), alice_session);

    // Everything that derives or identifies tokens: refused, even for one's own rows.
    for sql in [
        "SELECT refresh_secret FROM user_sessions",
        "SELECT current_generation FROM user_sessions",
        "SELECT * FROM user_sessions",
        "SELECT generation FROM refresh_tokens",
        "SELECT key_id FROM refresh_tokens",
        "SELECT * FROM refresh_tokens",
    ] {
        denied(
            as_role(&mut admin, "authenticated", Some(&alice), sql).await,
            sql,
        );
    }
    // No writes through the data API either.
    denied(
        as_role(
            &mut admin,
            "authenticated",
            Some(&alice),
            "UPDATE user_sessions SET revoked_at = NULL RETURNING id",
        )
        .await,
        "update",
    );
    // Signed-out visitors read nothing.
    denied(
        as_role(&mut admin, "anon", None, "SELECT id FROM user_sessions").await,
        "anon",
    );
    // The service role keeps full access (its own policy, all rows).
    let service = as_role(
        &mut admin,
        "service_role",
        None,
        "SELECT refresh_secret FROM user_sessions",
    )
    .await
    .expect("service role reads the secret");
    assert_eq!(service.len(), 2);
    drop(admin);
    store.stop().await;
}
