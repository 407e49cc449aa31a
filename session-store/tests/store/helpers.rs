//! Request builders and database probes of session-store's own tests (the
//! harness itself is `nexus_testkit`; only these tests read the tables with SQL).

use nexus_proto::session_v1 as pb;
use sha2::{Digest, Sha256};

pub use nexus_testkit::{TestDatabase, TestStore};

/// SHA-256 hex of a (pretend) refresh token, as auth-service would send it.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random 32-byte secret.
pub fn secret() -> Vec<u8> {
    let mut bytes = uuid::Uuid::new_v4().as_bytes().to_vec();
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes
}

pub fn user() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn create_request(
    user_id: &str,
    supabase_session_id: Option<&str>,
) -> pb::CreateSessionRequest {
    pb::CreateSessionRequest {
        user_id: user_id.to_owned(),
        user_agent: Some("Mozilla/5.0 (test)".to_owned()),
        ip_address: Some("203.0.113.7".to_owned()),
        supabase_session_id: supabase_session_id.map(str::to_owned),
        refresh_secret: secret(),
        token_hash: hash("token-1"),
        key_id: "k1".to_owned(),
    }
}

/// Creates a session bridged from a new Supabase session; returns its state.
pub async fn create(store: &TestStore, user_id: &str) -> pb::RefreshState {
    let supabase = uuid::Uuid::new_v4().to_string();
    let response = store
        .client()
        .create_session(create_request(user_id, Some(&supabase)))
        .await
        .expect("create session")
        .into_inner();
    assert!(response.created);
    response.state.expect("state")
}

pub fn session_id(state: &pb::RefreshState) -> String {
    state.session.as_ref().expect("session").id.clone()
}

pub fn rotate_request(
    session_id: &str,
    generation: u64,
    presented: &str,
    next: &str,
    reuse_interval_ms: u64,
) -> pb::RotateRefreshTokenRequest {
    pb::RotateRefreshTokenRequest {
        session_id: session_id.to_owned(),
        presented_generation: generation,
        presented_token_hash: hash(presented),
        next_token_hash: hash(next),
        next_key_id: "k2".to_owned(),
        reuse_interval_ms,
    }
}

pub async fn validate(store: &TestStore, session_id: &str) -> pb::Session {
    store
        .client()
        .validate_session(pb::ValidateSessionRequest {
            session_id: session_id.to_owned(),
        })
        .await
        .expect("validate")
        .into_inner()
}

pub fn status_of(session: &pb::Session) -> pb::SessionStatus {
    pb::SessionStatus::try_from(session.status).expect("known status")
}

/// A direct database connection for probing what the service wrote.
pub async fn db(database_url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls)
        .await
        .expect("connect to test db");
    tokio::spawn(connection);
    client
}

pub async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .expect(sql)
        .get::<_, i64>(0)
}

/// Makes a test database look like a Supabase project's, as far as the
/// migrations and the data API care: the cluster-wide roles `anon`,
/// `authenticated` and `service_role` (created only if missing, tolerating a
/// concurrent test doing the same), `auth.uid()` reading the request's JWT
/// claims exactly as Supabase's does, and Supabase's default privileges
/// (every role may do everything on new public tables; RLS and column
/// grants are what restrict them).
pub async fn emulate_supabase(client: &tokio_postgres::Client) {
    for (role, options) in [
        ("anon", "NOLOGIN NOINHERIT"),
        ("authenticated", "NOLOGIN NOINHERIT"),
        ("service_role", "NOLOGIN NOINHERIT BYPASSRLS"),
    ] {
        let statement = format!(
            "DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                    CREATE ROLE {role} {options};
                END IF;
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
             END $$;"
        );
        client.batch_execute(&statement).await.expect("create role");
    }
    client
        .batch_execute(
            "CREATE SCHEMA auth;
             CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
                SELECT coalesce(
                    nullif(current_setting('request.jwt.claim.sub', true), ''),
                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
                )::uuid
             $$;
             GRANT USAGE ON SCHEMA auth, public TO anon, authenticated, service_role;
             GRANT EXECUTE ON FUNCTION auth.uid() TO anon, authenticated, service_role;
             ALTER DEFAULT PRIVILEGES IN SCHEMA public
                GRANT ALL ON TABLES TO anon, authenticated, service_role;",
        )
        .await
        .expect("emulate supabase");
}

/// Runs `sql` as Supabase's data API would for a request: in a transaction,
/// as `role`, with the JWT claims of `user` (if any); rolled back after.
pub async fn as_role(
    client: &mut tokio_postgres::Client,
    role: &str,
    user: Option<&str>,
    sql: &str,
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    let transaction = client.transaction().await.expect("begin");
    transaction
        .batch_execute(&format!("SET LOCAL ROLE {role}"))
        .await
        .expect("set role");
    let claims = serde_json::json!({"sub": user, "role": role}).to_string();
    transaction
        .execute(
            "SELECT set_config('request.jwt.claims', $1, true)",
            &[&claims],
        )
        .await
        .expect("set claims");
    let rows = transaction.query(sql, &[]).await;
    transaction.rollback().await.expect("rollback");
    rows
}
