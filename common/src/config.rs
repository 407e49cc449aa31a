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

/// A comma-separated list of origins (`CORS_ORIGINS`), in the form browsers
/// send them: no trailing `/` (`http_credentials::normalise_origin`).
pub fn origins(name: &str, default: &str) -> Vec<String> {
    list(name, default)
        .iter()
        .map(|origin| crate::http_credentials::normalise_origin(origin).to_owned())
        .collect()
}

/// Splits a comma-separated list, trimming items and dropping blanks.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A whole number (any integer type), or `default` when unset or blank.
pub fn number<T>(name: &str, default: T) -> anyhow::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    optional(name).map_or(Ok(default), |raw| parse_number(name, &raw))
}

/// A whole number of at least 1, or `default` when unset or blank (counts
/// and sizes where 0 would mean "nothing works").
pub fn positive(name: &str, default: u32) -> anyhow::Result<u32> {
    optional(name).map_or(Ok(default), |raw| parse_positive(name, &raw))
}

/// Parses `raw` (the value of `name`) as a whole number; the error names
/// the variable and keeps the parser's reason as its cause.
pub fn parse_number<T>(name: &str, raw: &str) -> anyhow::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    raw.trim()
        .parse()
        .with_context(|| format!("{name}={raw:?} is not a whole number"))
}

/// Parses `raw` (the value of `name`) as a whole number of at least 1.
pub fn parse_positive(name: &str, raw: &str) -> anyhow::Result<u32> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|value| *value > 0)
        .with_context(|| format!("{name}={raw:?} is not a positive integer"))
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
    fn the_default_origins_do_not_allow_the_null_origin() {
        let defaults = split_list(defaults::CORS_ORIGINS);
        assert!(!crate::http_credentials::origin_allowed(&defaults, "null"));
    }

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
    fn numbers_name_the_variable_when_refused() {
        assert_eq!(parse_number::<u32>("N", "42").ok(), Some(42));
        assert_eq!(parse_number::<u32>("N", " 7 ").ok(), Some(7));
        assert_eq!(parse_number::<usize>("N", "0").ok(), Some(0));
        for bad in ["", "-1", "1.5", "ten", "4294967296"] {
            let error = parse_number::<u32>("MY_VAR", bad).expect_err(bad);
            assert_eq!(
                error.to_string(),
                format!("MY_VAR={bad:?} is not a whole number"),
                "{bad}"
            );
            assert_eq!(error.chain().count(), 2, "the parser's reason is kept");
        }
        assert_eq!(parse_number::<u64>("N", "4294967296").ok(), Some(1 << 32));
    }

    #[test]
    fn positive_numbers_refuse_zero() {
        assert_eq!(parse_positive("N", "1").ok(), Some(1));
        assert_eq!(
            parse_positive("POOL", "0").expect_err("zero").to_string(),
            "POOL=\"0\" is not a positive integer"
        );
        assert!(parse_positive("N", "-3").is_err());
        assert!(parse_positive("N", "x").is_err());
    }

    #[test]
    fn lists_drop_blanks_and_whitespace() {
        assert_eq!(split_list(" a, ,b ,"), vec!["a".to_owned(), "b".to_owned()]);
    }
}
