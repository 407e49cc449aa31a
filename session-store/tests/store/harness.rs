//! The test harness every crate's tests rely on (`nexus_testkit`) cleans up
//! after itself.

use crate::helpers::*;

async fn exists(name: &str) -> bool {
    let admin = db(&nexus_testkit::database::admin_url()).await;
    admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .expect("look up pg_database")
        .is_some()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_database_is_dropped_even_when_a_test_bails_out() {
    let database = TestDatabase::create().await;
    let name = database.name().to_owned();
    assert!(exists(&name).await);
    drop(database); // what unwinding after a failed assertion does
    assert!(!exists(&name).await, "database {name} leaked");

    let store = TestStore::spawn().await;
    let name = store.database_url().rsplit('/').next().unwrap().to_owned();
    create(&store, &user()).await;
    drop(store); // server still running with pooled connections
    assert!(!exists(&name).await, "database {name} leaked");
}

#[tokio::test]
async fn the_harness_works_on_a_current_thread_runtime() {
    let store = TestStore::spawn().await;
    let state = create(&store, &user()).await;
    assert_eq!(
        status_of(&validate(&store, &session_id(&state)).await),
        nexus_proto::session_v1::SessionStatus::Active
    );
    store.stop().await;
}
