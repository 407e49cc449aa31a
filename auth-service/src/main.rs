//! auth-service entry point: `auth-service` serves, `auth-service dev-token`
//! prints a development Supabase token.

use anyhow::Context;
use auth_service::config::Settings;
use auth_service::dev_token::{self, DevTokenOptions};
use auth_service::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("dev-token") {
        let options = DevTokenOptions::parse(&args[1..])?;
        let secret = nexus_common::config::optional("SUPABASE_JWT_SECRET")
            .context("dev-token signs with SUPABASE_JWT_SECRET, which is not set")?;
        let issuer = nexus_common::config::optional("SUPABASE_URL")
            .map(|url| format!("{}/auth/v1", url.trim_end_matches('/')));
        let token = dev_token::sign(&options, &secret, issuer.as_deref())?;
        #[allow(clippy::print_stdout)]
        {
            println!("{token}");
        }
        return Ok(());
    }
    nexus_common::telemetry::init("auth-service");
    let settings = Settings::from_env().context("auth-service configuration")?;
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await
}
