//! Embedded migrations (`session-store/migrations`), run at start and by the
//! `migrate` subcommand.
//!
//! Diesel's migration runner is synchronous; it runs on a blocking thread
//! through `AsyncConnectionWrapper`, which works on both multi-thread and
//! current-thread runtimes (`AsyncMigrationHarness` would need `block_in_place`,
//! which panics on a current-thread runtime such as a plain `#[tokio::test]`).

use std::time::Duration;

use anyhow::Context;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::connect::ConnectOptions;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Applies pending migrations; returns how many ran.
pub async fn run(database_url: &str, options: &ConnectOptions) -> anyhow::Result<usize> {
    let options = ConnectOptions {
        statement_timeout: Some(Duration::from_secs(120)),
        ..options.clone()
    };
    let connection = super::connect::establish(database_url, &options)
        .await
        .context("cannot connect to the database to migrate")?;
    let mut wrapper: AsyncConnectionWrapper<AsyncPgConnection> =
        AsyncConnectionWrapper::from(connection);
    tokio::task::spawn_blocking(move || {
        wrapper
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.len())
            .map_err(|error| anyhow::anyhow!("migration failed: {error}"))
    })
    .await
    .context("migration task failed")?
}
