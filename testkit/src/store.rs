//! A real session-store on 127.0.0.1:0 over a fresh, migrated database, and
//! typed gRPC probes of what it holds.
//!
//! Other services' tests check what session-store recorded through its gRPC
//! API only (the tables are session-store's alone, DESIGN.md "Postgres");
//! session-store's own tests may also read them with SQL.

use std::net::SocketAddr;
use std::time::Duration;

use nexus_common::store_client::{self, GroupClient, StoreClient, StoreClientConfig};
use nexus_proto::session_v1 as pb;
use session_store::config::StoreConfig;
use session_store::startup::Application;
use sha2::Digest;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::database::TestDatabase;

/// A running session-store on a fresh, migrated database.
pub struct TestStore {
    url: String,
    addr: SocketAddr,
    config: StoreConfig,
    database: TestDatabase,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<anyhow::Result<()>>,
}

impl TestStore {
    /// Default configuration (no token, 30d/7d lifetimes, a pool of 8).
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Lets the test adjust the configuration (short lifetimes, a token...)
    /// before the server is built. `database_url` and `listen` are preset.
    pub async fn spawn_with(configure: impl FnOnce(&mut StoreConfig)) -> Self {
        let database = TestDatabase::create().await;
        let mut config = test_config(database.url(), ([127, 0, 0, 1], 0).into());
        configure(&mut config);
        Self::spawn_on(database, config).await
    }

    /// Serves an existing database with the given configuration (its
    /// `database_url` is replaced by the database's).
    pub async fn spawn_on(database: TestDatabase, mut config: StoreConfig) -> Self {
        config.database_url = database.url().to_owned();
        let application = Application::build(config.clone())
            .await
            .unwrap_or_else(|error| panic!("cannot build session-store: {error:#}"));
        let addr = application.local_addr();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(application.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        Self {
            url: format!("http://{addr}"),
            addr,
            config,
            database,
            shutdown,
            server,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn database_url(&self) -> &str {
        self.database.url()
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// A client presenting the configured token (if any).
    pub fn client(&self) -> StoreClient {
        self.client_with_token(self.config.token.as_deref())
    }

    /// A group client presenting the configured token (if any).
    pub fn group_client(&self) -> GroupClient {
        store_client::connect_groups_lazy(&self.client_config(self.config.token.as_deref()))
            .expect("test group client")
    }

    /// A client presenting the given token (or none).
    pub fn client_with_token(&self, token: Option<&str>) -> StoreClient {
        store_client::connect_lazy(&self.client_config(token)).expect("test store client")
    }

    fn client_config(&self, token: Option<&str>) -> StoreClientConfig {
        StoreClientConfig {
            url: self.url.clone(),
            token: token.map(str::to_owned),
            timeout: Duration::from_secs(10),
        }
    }

    /// Stops the server (draining in-flight calls) and drops the database.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        match self.server.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(error = %format!("{error:#}"), "test store failed"),
            Err(error) => tracing::warn!(%error, "test store task panicked"),
        }
        self.database.drop_database().await;
    }

    // ------------------------------------------------------ gRPC probes --

    /// `ListUserSessions`: the user's sessions, newest first; with
    /// `include_ended`, revoked and expired ones too.
    pub async fn sessions_of(&self, user_id: &str, include_ended: bool) -> Vec<pb::Session> {
        self.client()
            .list_user_sessions(pb::ListUserSessionsRequest {
                user_id: user_id.to_owned(),
                include_ended,
            })
            .await
            .expect("ListUserSessions")
            .into_inner()
            .sessions
    }

    /// How many live (neither revoked nor expired) sessions the user has.
    pub async fn live_sessions(&self, user_id: &str) -> usize {
        self.sessions_of(user_id, false).await.len()
    }

    /// The user's session `session_id` as stored (ended ones included),
    /// read without touching it (`ValidateSession` would mark it seen).
    pub async fn session(&self, user_id: &str, session_id: &str) -> pb::Session {
        self.sessions_of(user_id, true)
            .await
            .into_iter()
            .find(|session| session.id == session_id)
            .unwrap_or_else(|| panic!("session {session_id} of {user_id} is not stored"))
    }

    /// `GetRefreshState`: the session's current refresh generation and key.
    pub async fn refresh_state(&self, session_id: &str) -> pb::RefreshState {
        self.client()
            .get_refresh_state(pb::GetRefreshStateRequest {
                session_id: session_id.to_owned(),
            })
            .await
            .expect("GetRefreshState")
            .into_inner()
    }

    /// Creates a live session for `user_id` bridged from `supabase_session`
    /// (as auth-service's bridge would, with a random token hash); its id.
    pub async fn create_session(&self, user_id: &str, supabase_session: &str) -> String {
        let token_hash = hex::encode(sha2::Sha256::digest(uuid::Uuid::new_v4().as_bytes()));
        self.client()
            .create_session(pb::CreateSessionRequest {
                user_id: user_id.to_owned(),
                user_agent: Some("nexus-testkit".to_owned()),
                ip_address: Some("127.0.0.1".to_owned()),
                supabase_session_id: Some(supabase_session.to_owned()),
                refresh_secret: vec![7; 32],
                token_hash,
                key_id: "k1".to_owned(),
            })
            .await
            .expect("CreateSession")
            .into_inner()
            .state
            .and_then(|state| state.session)
            .expect("session in CreateSession's answer")
            .id
    }

    /// `RevokeSession` (session-store only: nobody publishes an event).
    pub async fn revoke(&self, user_id: &str, session_id: &str, reason: &str) {
        self.client()
            .revoke_session(pb::RevokeSessionRequest {
                session_id: session_id.to_owned(),
                user_id: user_id.to_owned(),
                reason: reason.to_owned(),
            })
            .await
            .expect("RevokeSession");
    }
}

/// The configuration tests start from: [`StoreConfig::local`] with a pool of
/// 8 (many stores run at once against one Postgres).
pub fn test_config(database_url: &str, listen: SocketAddr) -> StoreConfig {
    let mut config = StoreConfig::local(database_url, listen);
    config.pool_size = 8;
    config
}
