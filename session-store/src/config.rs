//! Configuration of session-store, read from the environment (names in DESIGN.md).
//!
//! Fields are public so tests (and `test_support`) can tweak them, e.g. short
//! lifetimes for expiry tests. `Debug` never prints the token or the database
//! password.

use std::net::SocketAddr;
use std::time::Duration;

use nexus_common::config;

use crate::db::connect::ConnectOptions;

/// Default database when `DATABASE_URL` is unset.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/nexus";
/// Default listen address when `SESSION_STORE_LISTEN` is unset.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
/// Default address of the Prometheus `/metrics` listener.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9051";

/// Everything session-store needs to run.
#[derive(Clone)]
pub struct StoreConfig {
    /// `DATABASE_URL`; `sslmode=require` switches to TLS (rustls, webpki roots).
    pub database_url: String,
    /// `SESSION_STORE_LISTEN`; port 0 binds a free port (tests).
    pub listen: SocketAddr,
    /// `SESSION_STORE_METRICS_LISTEN` (default `127.0.0.1:9051`, `off` for none): plain
    /// HTTP `/metrics` for Prometheus. `None` also keeps the process-wide recorder
    /// uninstalled (tests running session-store inside another process).
    pub metrics_listen: Option<SocketAddr>,
    /// `SESSION_STORE_TOKEN`: when set, every SessionStore call must present it.
    pub token: Option<String>,
    /// `SESSION_MAX_LIFETIME` (default 30d): absolute session lifetime.
    pub max_lifetime: Duration,
    /// `SESSION_IDLE_TIMEOUT` (default 7d): inactivity timeout.
    pub idle_timeout: Duration,
    /// `DATABASE_SSL_ROOT_CERT`: PEM file of extra CA certificates trusted for
    /// `sslmode=require` (e.g. Supabase's root for direct connections).
    pub database_ca_file: Option<std::path::PathBuf>,
    /// `DATABASE_POOL_SIZE` (default 16).
    pub pool_size: u32,
    /// `DATABASE_CONNECT_TIMEOUT` (default 2s): how long a call waits for a pooled
    /// connection before answering UNAVAILABLE; kept below callers' deadlines.
    pub connect_timeout: Duration,
    /// `DATABASE_STATEMENT_TIMEOUT` (default 2s): Postgres `statement_timeout`,
    /// below the callers' 3 s deadline so a stuck statement ends first.
    pub statement_timeout: Duration,
    /// `SESSION_PURGE_AFTER` (default 30d): how long dead sessions are kept.
    pub purge_after: Duration,
    /// `SESSION_PURGE_INTERVAL` (default 1h): how often the purge runs.
    pub purge_interval: Duration,
    /// `SESSION_MAX_PER_USER` (default 50): live sessions one user may hold;
    /// creating one more revokes the least recently seen.
    pub max_sessions_per_user: u32,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("database_url", &redact_url(&self.database_url))
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("max_lifetime", &self.max_lifetime)
            .field("idle_timeout", &self.idle_timeout)
            .field("database_ca_file", &self.database_ca_file)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("purge_after", &self.purge_after)
            .field("purge_interval", &self.purge_interval)
            .field("max_sessions_per_user", &self.max_sessions_per_user)
            .finish()
    }
}

impl StoreConfig {
    /// Reads the environment; errors name the variable at fault.
    pub fn from_env() -> anyhow::Result<Self> {
        nexus_common::dev_secrets::refuse_in_production(&["DATABASE_URL", "SESSION_STORE_TOKEN"])?;
        let pool_size = config::positive("DATABASE_POOL_SIZE", 16)?;
        Ok(Self {
            database_url: config::or_default("DATABASE_URL", DEFAULT_DATABASE_URL),
            listen: config::socket_addr("SESSION_STORE_LISTEN", DEFAULT_LISTEN)?,
            metrics_listen: metrics_listen()?,
            token: config::optional("SESSION_STORE_TOKEN"),
            database_ca_file: config::optional("DATABASE_SSL_ROOT_CERT").map(Into::into),
            max_lifetime: config::duration("SESSION_MAX_LIFETIME", "30d")?,
            idle_timeout: config::duration("SESSION_IDLE_TIMEOUT", "7d")?,
            pool_size,
            connect_timeout: config::duration("DATABASE_CONNECT_TIMEOUT", "2s")?,
            statement_timeout: config::duration("DATABASE_STATEMENT_TIMEOUT", "2s")?,
            purge_after: config::duration("SESSION_PURGE_AFTER", "30d")?,
            purge_interval: config::duration("SESSION_PURGE_INTERVAL", "1h")?,
            max_sessions_per_user: config::positive(
                "SESSION_MAX_PER_USER",
                DEFAULT_MAX_SESSIONS_PER_USER,
            )?,
        })
    }

    /// How to open database connections (statement timeout, extra CA roots).
    pub fn connect_options(&self) -> anyhow::Result<ConnectOptions> {
        let options = ConnectOptions {
            statement_timeout: Some(self.statement_timeout),
            ..ConnectOptions::default()
        };
        match &self.database_ca_file {
            Some(path) => options.with_ca_file(path),
            None => Ok(options),
        }
    }

    /// Defaults for a given database and listen address (tests, tools).
    pub fn local(database_url: impl Into<String>, listen: SocketAddr) -> Self {
        Self {
            database_url: database_url.into(),
            listen,
            metrics_listen: None,
            token: None,
            database_ca_file: None,
            max_lifetime: Duration::from_secs(30 * 86_400),
            idle_timeout: Duration::from_secs(7 * 86_400),
            pool_size: 16,
            connect_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(2),
            purge_after: Duration::from_secs(30 * 86_400),
            purge_interval: Duration::from_secs(3_600),
            max_sessions_per_user: DEFAULT_MAX_SESSIONS_PER_USER,
        }
    }
}

/// `SESSION_STORE_METRICS_LISTEN`: an address, or `off`.
fn metrics_listen() -> anyhow::Result<Option<SocketAddr>> {
    match config::optional("SESSION_STORE_METRICS_LISTEN") {
        Some(value) if value.eq_ignore_ascii_case("off") => Ok(None),
        _ => config::socket_addr("SESSION_STORE_METRICS_LISTEN", DEFAULT_METRICS_LISTEN).map(Some),
    }
}

/// Live sessions per user unless `SESSION_MAX_PER_USER` says otherwise.
pub const DEFAULT_MAX_SESSIONS_PER_USER: u32 = 50;

/// The URL with any password replaced, for logs.
pub fn redact_url(raw: &str) -> String {
    nexus_common::redact::url(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        let shown = redact_url("postgres://user:secret@db:5432/nexus");
        assert!(!shown.contains("secret"));
        assert!(shown.contains("user"));
    }
}
