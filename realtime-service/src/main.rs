//! realtime-service entry point: configuration, telemetry, run until SIGTERM.

use realtime_service::config::RealtimeConfig;
use realtime_service::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    nexus_common::telemetry::init("realtime-service");
    let config = RealtimeConfig::from_env()?;
    let application = Application::build(config).await?;
    application
        .run_until_stopped(nexus_common::shutdown::signal())
        .await
}
