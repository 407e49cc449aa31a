//! `auth-service dev-token`: a Supabase-shaped HS256 access token signed with
//! `SUPABASE_JWT_SECRET`, for local use (curl, the demo page) without a
//! Supabase project. It is exactly what a legacy HS256 project would issue.

use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

/// Options of the subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevTokenOptions {
    pub sub: String,
    pub session_id: String,
    pub email: String,
    pub name: Option<String>,
    pub ttl: Duration,
}

impl DevTokenOptions {
    /// Parses `[--sub UUID] [--session-id UUID] [--email E] [--name N] [--ttl 1h]`.
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut options = Self {
            sub: uuid::Uuid::new_v4().to_string(),
            session_id: uuid::Uuid::new_v4().to_string(),
            email: "dev@example.com".to_owned(),
            name: None,
            ttl: Duration::from_secs(3600),
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--sub" => options.sub = uuid_arg(value()?, "--sub")?,
                "--session-id" => options.session_id = uuid_arg(value()?, "--session-id")?,
                "--email" => options.email = value()?.clone(),
                "--name" => options.name = Some(value()?.clone()),
                "--ttl" => {
                    let raw = value()?;
                    options.ttl = nexus_common::config::parse_duration(raw)
                        .with_context(|| format!("--ttl {raw:?} is not a duration like 1h"))?;
                }
                other => bail!(
                    "unknown option {other:?}; usage: auth-service dev-token [--sub UUID] [--session-id UUID] [--email E] [--name N] [--ttl 1h]"
                ),
            }
        }
        Ok(options)
    }
}

fn uuid_arg(raw: &str, flag: &str) -> anyhow::Result<String> {
    uuid::Uuid::parse_str(raw)
        .map(|id| id.to_string())
        .with_context(|| format!("{flag} must be a UUID"))
}

/// Signs the token. `issuer` is `<SUPABASE_URL>/auth/v1` when known.
pub fn sign(
    options: &DevTokenOptions,
    secret: &str,
    issuer: Option<&str>,
) -> anyhow::Result<String> {
    let now = Utc::now().timestamp();
    let ttl = i64::try_from(options.ttl.as_secs()).context("--ttl is too long")?;
    let mut user_metadata = serde_json::Map::new();
    if let Some(name) = &options.name {
        user_metadata.insert("full_name".to_owned(), json!(name));
    }
    let claims = json!({
        "iss": issuer.unwrap_or("http://localhost:54321/auth/v1"),
        "sub": options.sub,
        "aud": "authenticated",
        "exp": now + ttl,
        "iat": now,
        "email": options.email,
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": user_metadata,
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": options.session_id,
        "is_anonymous": false,
    });
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("JWT".to_owned());
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .context("cannot sign")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn options_parse_and_refuse_garbage() {
        let sub = "3f1c0b9e-2a4d-4f7e-9a1b-0c2d3e4f5a6b";
        let options =
            DevTokenOptions::parse(&args(&["--sub", sub, "--name", "Ada", "--ttl", "5m"]))
                .expect("parses");
        assert_eq!(options.sub, sub);
        assert_eq!(options.name.as_deref(), Some("Ada"));
        assert_eq!(options.ttl, Duration::from_secs(300));
        assert!(DevTokenOptions::parse(&args(&["--sub", "nope"])).is_err());
        assert!(DevTokenOptions::parse(&args(&["--ttl"])).is_err());
        assert!(DevTokenOptions::parse(&args(&["--what"])).is_err());
    }

    #[tokio::test]
    async fn dev_tokens_pass_the_supabase_verifier() {
        let options = DevTokenOptions::parse(&args(&["--name", "Ada"])).expect("parses");
        let token = sign(
            &options,
            "super-secret-jwt-token-with-at-least-32-characters",
            None,
        )
        .expect("signs");
        let config = nexus_tokens::supabase::SupabaseConfig::from_values(
            None,
            None,
            Some("super-secret-jwt-token-with-at-least-32-characters".to_owned()),
        )
        .expect("config");
        let verifier = nexus_tokens::supabase::SupabaseVerifier::new(&config).expect("verifier");
        let claims = verifier.verify(&token).await.expect("valid");
        assert_eq!(claims.sub, options.sub);
        assert_eq!(
            claims.session_id.as_deref(),
            Some(options.session_id.as_str())
        );
        assert_eq!(claims.display_name().as_deref(), Some("Ada"));
    }
}
