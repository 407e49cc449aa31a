//! `sslmode=require` connects through rustls with the webpki roots: against
//! the local Postgres (TLS on, self-signed "snakeoil" certificate) the
//! handshake happens and the certificate is refused, which proves TLS is
//! negotiated and verified; without sslmode the same server connects in
//! plain text. A server without TLS fails these tests (they require it).

use session_store::db::connect::{self, ConnectOptions};

#[tokio::test(flavor = "multi_thread")]
async fn sslmode_require_negotiates_and_verifies_tls() {
    let admin = db_admin();
    let plain = connect::establish(&admin, &ConnectOptions::default()).await;
    assert!(plain.is_ok(), "plain connection: {:?}", plain.err());

    let secure = format!("{admin}?sslmode=require");
    let error = match connect::establish(&secure, &ConnectOptions::default()).await {
        Ok(_) => panic!("a self-signed server certificate must not pass webpki verification"),
        Err(error) => error.to_string(),
    };
    // Only a refused certificate proves the handshake happened: a server
    // without TLS must fail this test, not pass it.
    assert!(
        error.contains("certificate"),
        "expected a TLS certificate verification failure, got: {error}"
    );

    let error = connect::ensure_database(
        "postgres://postgres@127.0.0.1:5432/nexus_never_created?sslmode=require",
        &ConnectOptions::default(),
    )
    .await
    .expect_err("maintenance connection uses TLS too");
    let error = format!("{error:#}");
    assert!(
        error.contains("certificate"),
        "expected a TLS certificate verification failure, got: {error}"
    );
}

fn db_admin() -> String {
    nexus_testkit::database::admin_url()
}

/// With the server's CA trusted through `DATABASE_SSL_ROOT_CERT`, the service
/// runs over a verified TLS connection (the local server's certificate is a
/// self-signed one for `localhost`).
#[tokio::test(flavor = "multi_thread")]
async fn a_configured_root_certificate_gives_a_verified_tls_connection() {
    let ca = std::path::Path::new("/etc/ssl/certs/ssl-cert-snakeoil.pem");
    assert!(
        ca.exists(),
        "the local Postgres' certificate is expected at {}",
        ca.display()
    );
    let database = crate::helpers::TestDatabase::create().await;
    let tls_url = format!(
        "postgres://postgres@localhost:5432/{}?sslmode=require",
        database.name()
    );
    let mut config =
        session_store::config::StoreConfig::local(&tls_url, ([127, 0, 0, 1], 0).into());
    config.database_ca_file = Some(ca.to_path_buf());
    let application = session_store::startup::Application::build(config)
        .await
        .expect("migrations over TLS");
    drop(application);

    let options = ConnectOptions::default().with_ca_file(ca).unwrap();
    let mut connection = connect::establish(&tls_url, &options)
        .await
        .expect("verified TLS");
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }
    let row: Ssl = diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result(&mut connection)
        .await
        .unwrap();
    assert!(row.ssl, "the connection is encrypted");
    drop(connection);
    database.drop_database().await;
}
