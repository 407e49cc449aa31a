//! Reading configuration from the environment.
//!
//! Every service reads plain environment variables (names in DESIGN.md) with
//! defaults that work on one machine. Parsing errors name the variable so an
//! operator knows what to fix; secrets are never echoed back.

use std::time::Duration;

use anyhow::{Context, bail};

/// The variable's value, or `None` when unset or blank.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// The variable's value, or `default` when unset or blank.
pub fn or_default(name: &str, default: &str) -> String {
    optional(name).unwrap_or_else(|| default.to_owned())
}

/// A human duration such as `15m`, `10s`, `30d` (humantime syntax).
pub fn duration(name: &str, default: &str) -> anyhow::Result<Duration> {
    let raw = or_default(name, default);
    parse_duration(&raw)
        .with_context(|| format!("{name}={raw:?} is not a duration like 15m or 30d"))
}

/// Parses a human duration such as `15m`, `10s`, `30d`.
pub fn parse_duration(raw: &str) -> anyhow::Result<Duration> {
    Ok(humantime::parse_duration(raw.trim())?)
}

/// A boolean: `true/false`, `1/0`, `yes/no`, `on/off`.
pub fn boolean(name: &str, default: bool) -> anyhow::Result<bool> {
    match optional(name).map(|value| value.to_ascii_lowercase()) {
        None => Ok(default),
        Some(value) => match value.as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => bail!("{name}={value:?} is not a boolean (true or false)"),
        },
    }
}

/// A comma-separated list; blank items are dropped.
pub fn list(name: &str, default: &str) -> Vec<String> {
    split_list(&or_default(name, default))
}

/// Splits a comma-separated list, trimming items and dropping blanks.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A socket address such as `127.0.0.1:8001`.
pub fn socket_addr(name: &str, default: &str) -> anyhow::Result<std::net::SocketAddr> {
    let raw = or_default(name, default);
    raw.parse()
        .with_context(|| format!("{name}={raw:?} is not a socket address like 127.0.0.1:8001"))
}

/// Default values shared by several services (DESIGN.md, "Configuration").
pub mod defaults {
    pub const SESSION_STORE_URL: &str = "http://127.0.0.1:50051";
    pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
    pub const CORS_ORIGINS: &str = "http://localhost:5173,http://localhost:8002";
    pub const TRUSTED_PROXIES: &str = "127.0.0.1/32,::1/128";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_human_units() {
        assert_eq!(parse_duration("15m").ok(), Some(Duration::from_secs(900)));
        assert_eq!(
            parse_duration("30d").ok(),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert!(parse_duration("fifteen").is_err());
    }

    #[test]
    fn lists_drop_blanks_and_whitespace() {
        assert_eq!(split_list(" a, ,b ,"), vec!["a".to_owned(), "b".to_owned()]);
    }
}
