//! Harness for integration tests of session-store AND of the services that
//! call it (auth-service, realtime-service): a fresh database per test on the
//! real Postgres, and a real session-store on 127.0.0.1:0.
//!
//! Always compiled (other crates' tests use it), kept small. Failures panic
//! with a message: these run only in tests.

use nexus_common::store_client::{self, GroupClient, StoreClient, StoreClientConfig};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::StoreConfig;
use crate::db::connect;
use crate::startup::Application;

/// Admin URL used when `TEST_DATABASE_ADMIN_URL` is unset.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A uniquely named, empty database; drop it with [`TestDatabase::drop_database`].
/// If a test panics before that, `Drop` removes it anyway (on a helper thread
/// with its own runtime), so failing tests do not leak databases.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
    dropped: bool,
}

impl TestDatabase {
    /// Creates `nexus_test_<uuid>` on `TEST_DATABASE_ADMIN_URL`'s server.
    pub async fn create() -> Self {
        let admin_url =
            nexus_common::config::or_default("TEST_DATABASE_ADMIN_URL", DEFAULT_ADMIN_URL);
        let name = format!("nexus_test_{}", uuid::Uuid::new_v4().simple());
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_ADMIN_URL is not a URL");
        url.set_path(&format!("/{name}"));
        let url = url.to_string();
        connect::ensure_database(&url, &connect::ConnectOptions::default())
            .await
            .unwrap_or_else(|error| panic!("cannot create test database {name}: {error:#}"));
        Self {
            name,
            url,
            admin_url,
            dropped: false,
        }
    }

    /// `postgres://.../nexus_test_<uuid>`
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, closing any connections still open to it.
    pub async fn drop_database(mut self) {
        self.dropped = true;
        if let Err(error) = connect::drop_database(&self.admin_url, &self.name).await {
            tracing::warn!(database = %self.name, error = %format!("{error:#}"), "cannot drop test database");
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside a runtime (a panicking test): block a separate
        // thread, never this one's runtime.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(runtime) => runtime.block_on(connect::drop_database(&admin_url, &name)),
                Err(error) => Err(error.into()),
            }
        });
        if let Ok(Err(error)) = cleanup.join() {
            tracing::warn!(database = %self.name, error = %format!("{error:#}"), "cannot drop test database");
        }
    }
}

/// A running session-store on a fresh, migrated database.
pub struct TestStore {
    url: String,
    addr: std::net::SocketAddr,
    config: StoreConfig,
    database: TestDatabase,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<anyhow::Result<()>>,
}

impl TestStore {
    /// Default configuration (no token, 30d/7d lifetimes).
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Lets the test adjust the configuration (short lifetimes, a token...)
    /// before the server is built. `database_url` and `listen` are preset.
    pub async fn spawn_with(configure: impl FnOnce(&mut StoreConfig)) -> Self {
        let database = TestDatabase::create().await;
        let mut config = StoreConfig::local(database.url(), ([127, 0, 0, 1], 0).into());
        config.pool_size = 8;
        configure(&mut config);
        Self::spawn_on(database, config).await
    }

    /// Serves an existing database with the given configuration.
    pub async fn spawn_on(database: TestDatabase, mut config: StoreConfig) -> Self {
        config.database_url = database.url().to_owned();
        let application = Application::build(config.clone())
            .await
            .unwrap_or_else(|error| panic!("cannot build session-store: {error:#}"));
        let addr = application.local_addr();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(application.run_until_stopped(stop_signal(stopped)));
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

    pub fn addr(&self) -> std::net::SocketAddr {
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
        store_client::connect_groups_lazy(&StoreClientConfig {
            url: self.url.clone(),
            token: self.config.token.clone(),
            timeout: std::time::Duration::from_secs(10),
        })
        .expect("test group client")
    }

    /// A client presenting the given token (or none).
    pub fn client_with_token(&self, token: Option<&str>) -> StoreClient {
        store_client::connect_lazy(&StoreClientConfig {
            url: self.url.clone(),
            token: token.map(str::to_owned),
            timeout: std::time::Duration::from_secs(10),
        })
        .expect("test store client")
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
}

async fn stop_signal(stopped: oneshot::Receiver<()>) {
    let _ = stopped.await;
}
