//! `session-store` serves the gRPC API; `session-store migrate` only creates
//! the database if needed and applies the migrations; `session-store health` is
//! the container health check (exit 0 when the running instance reports SERVING).

use anyhow::Context;
use session_store::config::StoreConfig;
use session_store::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("health") {
        // Quiet and independent of the rest of the configuration: it only needs the port.
        let listen = nexus_common::config::socket_addr(
            "SESSION_STORE_LISTEN",
            session_store::config::DEFAULT_LISTEN,
        )?;
        return session_store::health_probe::check(listen).await;
    }
    nexus_common::telemetry::init("session-store");
    let config = StoreConfig::from_env().context("invalid configuration")?;
    match std::env::args().nth(1).as_deref() {
        Some("migrate") => {
            let options = config.connect_options()?;
            session_store::db::connect::ensure_database(&config.database_url, &options).await?;
            let applied =
                session_store::db::migrations::run(&config.database_url, &options).await?;
            tracing::info!(applied, "migrations applied");
            Ok(())
        }
        None | Some("serve") => {
            let application = Application::build(config).await?;
            application
                .run_until_stopped(nexus_common::shutdown::signal())
                .await
        }
        Some(other) => {
            anyhow::bail!("unknown command {other:?}; use `migrate`, `serve`, `health` or nothing")
        }
    }
}
