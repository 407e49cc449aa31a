//! The background purge deletes only sessions dead for longer than the
//! retention, in batches, refresh rows included.

use std::time::{Duration, Instant};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn purge_deletes_only_long_dead_sessions() {
    let store = TestStore::spawn_with(|config| {
        config.purge_interval = Duration::from_millis(300);
    })
    .await;
    let db = db(store.database_url()).await;
    let alive = session_id(&create(&store, &user()).await);
    let recently_revoked = session_id(&create(&store, &user()).await);
    let long_revoked = session_id(&create(&store, &user()).await);
    let long_expired = session_id(&create(&store, &user()).await);
    db.execute(
        "UPDATE user_sessions SET revoked_at = now() - interval '1 day' WHERE id = $1",
        &[&recently_revoked],
    )
    .await
    .unwrap();
    db.execute(
        "UPDATE user_sessions SET revoked_at = now() - interval '31 days' WHERE id = $1",
        &[&long_revoked],
    )
    .await
    .unwrap();
    // Idle since 40 days: expired 33 days ago (7-day idle timeout).
    db.execute(
        "UPDATE user_sessions SET created_at = now() - interval '41 days',
                last_seen_at = now() - interval '40 days' WHERE id = $1",
        &[&long_expired],
    )
    .await
    .unwrap();
    // More long-dead sessions than one batch holds.
    db.batch_execute(
        "INSERT INTO user_sessions (id, user_id, revoked_at)
         SELECT 'bulk-' || g, 'bulk-user', now() - interval '60 days' FROM generate_series(1, 1200) g",
    )
    .await
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&db, "SELECT count(*) FROM user_sessions").await != 2 {
        assert!(Instant::now() < deadline, "purge did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let left = db
        .query("SELECT id FROM user_sessions ORDER BY id", &[])
        .await
        .unwrap();
    let mut left: Vec<String> = left.iter().map(|r| r.get(0)).collect();
    left.sort();
    let mut expected = vec![alive, recently_revoked];
    expected.sort();
    assert_eq!(left, expected);
    // The purged sessions' refresh rows went with them (the foreign key
    // cascades, schema.rs): only the two kept sessions' rows are left.
    assert_eq!(count(&db, "SELECT count(*) FROM refresh_tokens").await, 2);
    store.stop().await;
}
