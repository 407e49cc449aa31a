//! A fresh, uniquely named Postgres database per test.
//!
//! Creation goes through session-store's own `ensure_database` (the function
//! its startup uses, TLS included). Dropping is test-only, so it lives here:
//! a plain connection to the admin database (`TEST_DATABASE_ADMIN_URL`, a
//! loopback server in tests and CI).

/// Admin URL used when `TEST_DATABASE_ADMIN_URL` is unset.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// `TEST_DATABASE_ADMIN_URL` or [`DEFAULT_ADMIN_URL`].
pub fn admin_url() -> String {
    nexus_common::config::or_default("TEST_DATABASE_ADMIN_URL", DEFAULT_ADMIN_URL)
}

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
        let admin_url = admin_url();
        let name = format!("nexus_test_{}", uuid::Uuid::new_v4().simple());
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_ADMIN_URL is not a URL");
        url.set_path(&format!("/{name}"));
        let url = url.to_string();
        session_store::db::connect::ensure_database(
            &url,
            &session_store::db::connect::ConnectOptions::default(),
        )
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
        if let Err(error) = drop_database(&self.admin_url, &self.name).await {
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
                Ok(runtime) => runtime.block_on(drop_database(&admin_url, &name)),
                Err(error) => Err(error.into()),
            }
        });
        if let Ok(Err(error)) = cleanup.join() {
            tracing::warn!(database = %self.name, error = %format!("{error:#}"), "cannot drop test database");
        }
    }
}

/// A plain connection to `database_url` (loopback test servers only).
pub async fn connect(database_url: &str) -> anyhow::Result<tokio_postgres::Client> {
    use anyhow::Context;
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls)
        .await
        .context("cannot connect to the test Postgres")?;
    tokio::spawn(connection);
    Ok(client)
}

/// `DROP DATABASE ... WITH (FORCE)`: terminates its connections first.
async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    let client = connect(admin_url).await?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
        .await
        .with_context(|| format!("cannot drop database {name:?}"))
}
