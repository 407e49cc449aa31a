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

/// The group tables pass the same checks: a signed-in user reads the groups
/// they belong to and their own member rows, writes nothing, and `anon`
/// reads nothing.
#[tokio::test(flavor = "multi_thread")]
async fn signed_in_users_read_only_their_groups_and_their_member_rows() {
    use nexus_proto::session_v1 as pb;

    let database = TestDatabase::create().await;
    let mut admin = db(database.url()).await;
    emulate_supabase(&admin).await;
    let config = StoreConfig::local(database.url(), ([127, 0, 0, 1], 0).into());
    let store = TestStore::spawn_on(database, config).await;
    let (alice, bob, carol) = (user(), user(), user());
    let mut groups = store.group_client();
    let shared = groups
        .create_group(pb::CreateGroupRequest {
            user_id: alice.clone(),
            name: "shared".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap()
        .id;
    groups
        .add_group_member(pb::AddGroupMemberRequest {
            group_id: shared.clone(),
            actor_user_id: alice.clone(),
            user_id: bob.clone(),
        })
        .await
        .unwrap();
    groups
        .create_group(pb::CreateGroupRequest {
            user_id: carol.clone(),
            name: "carol's".into(),
        })
        .await
        .unwrap();

    let seen = as_role(
        &mut admin,
        "authenticated",
        Some(&bob),
        "SELECT id, name, created_by, created_at FROM chat_groups",
    )
    .await
    .expect("bob reads his groups");
    assert_eq!(seen.len(), 1, "only the group bob is in");
    assert_eq!(seen[0].get::<_, String>("id"), shared);
    let rows = as_role(
        &mut admin,
        "authenticated",
        Some(&bob),
        "SELECT group_id, user_id, role, added_at FROM chat_group_members",
    )
    .await
    .expect("bob reads his member rows");
    assert_eq!(rows.len(), 1, "his own row only");
    assert_eq!(rows[0].get::<_, String>("user_id"), bob);
    let none = as_role(
        &mut admin,
        "authenticated",
        Some(&user()),
        "SELECT id FROM chat_groups",
    )
    .await
    .expect("a stranger's query runs");
    assert!(none.is_empty(), "a stranger sees no group");

    for sql in [
        "INSERT INTO chat_groups (id, name, created_by) VALUES ('x', 'x', 'x') RETURNING id",
        "UPDATE chat_groups SET name = 'hijacked' RETURNING id",
        "DELETE FROM chat_group_members RETURNING user_id",
        "INSERT INTO chat_group_members (group_id, user_id, role) VALUES ('x', 'x', 'owner') \
         RETURNING user_id",
    ] {
        denied(
            as_role(&mut admin, "authenticated", Some(&bob), sql).await,
            sql,
        );
    }
    for sql in [
        "SELECT id FROM chat_groups",
        "SELECT user_id FROM chat_group_members",
    ] {
        denied(as_role(&mut admin, "anon", None, sql).await, sql);
    }
    let service = as_role(
        &mut admin,
        "service_role",
        None,
        "SELECT user_id FROM chat_group_members",
    )
    .await
    .expect("service role reads every member row");
    assert_eq!(service.len(), 3);
    drop(admin);
    store.stop().await;
}
