//! A database that cannot be reached answers UNAVAILABLE, and the service
//! recovers by itself when it comes back. The shared Postgres is never
//! stopped: the test closes its own database to connections instead.

use std::time::{Duration, Instant};

use nexus_proto::session_v1 as pb;
use session_store::config::StoreConfig;
use session_store::startup::Application;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn build_fails_clearly_when_postgres_is_unreachable() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = StoreConfig::local(
        format!("postgres://postgres@127.0.0.1:{port}/nexus"),
        ([127, 0, 0, 1], 0).into(),
    );
    let error = match Application::build(config).await {
        Ok(_) => panic!("must not start without a database"),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("cannot prepare database"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_are_unavailable_while_the_database_refuses_and_recover_after() {
    let store = TestStore::spawn_with(|config| {
        config.connect_timeout = Duration::from_millis(500);
    })
    .await;
    let user_id = user();
    let id = session_id(&create(&store, &user_id).await);
    let admin = db(&nexus_testkit::database::admin_url()).await;
    let name = store.database_url().rsplit('/').next().unwrap().to_owned();

    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS false"
        ))
        .await
        .unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap();

    let mut client = store.client();
    // Stale pooled connections may fail first; every call fails, as UNAVAILABLE.
    for _ in 0..12 {
        let status = client
            .validate_session(pb::ValidateSessionRequest {
                session_id: id.clone(),
            })
            .await
            .expect_err("database is closed to connections");
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    }

    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS true"
        ))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match client
            .validate_session(pb::ValidateSessionRequest {
                session_id: id.clone(),
            })
            .await
        {
            Ok(session) => {
                assert_eq!(session.into_inner().user_id, user_id);
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
                assert!(Instant::now() < deadline, "did not recover: {status:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    store.stop().await;
}
