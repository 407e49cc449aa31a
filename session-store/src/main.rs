//! `session-store` serves the gRPC API; `session-store migrate` only creates
//! the database if needed and applies the migrations.

use anyhow::Context;
use session_store::config::StoreConfig;
use session_store::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
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
            anyhow::bail!("unknown command {other:?}; use `migrate`, `serve` or nothing")
        }
    }
}
