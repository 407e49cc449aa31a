//! Refusing development secrets in production.
//!
//! `.env.example` ships working development values so `docker compose up` starts with no
//! edits. Every one of them is plainly marked (`insecure-dev-...`), and so were the older
//! `change-me-...` placeholders. A service that finds such a value while `COOKIE_SECURE`
//! is true (the production setting: cookies only over TLS) refuses to start: a copied
//! example file behind a public URL is an error at start, not a silent risk.
//!
//! `COOKIE_SECURE` is the switch because it is the one setting every deployment behind
//! TLS must have on and every plain-HTTP development stack must have off; all three
//! services read it for this check (only auth-service sets cookies).
//!
//! The value itself is never echoed: the error names the variable only.

use anyhow::bail;

use crate::config;

/// Substrings that mark a value as a published development or placeholder value
/// (compared case-insensitively).
pub const DEVELOPMENT_MARKERS: &[&str] = &["insecure-dev", "change-me", "changeme"];

/// The variable that says "this is production" (`true` by default).
pub const PRODUCTION_SWITCH: &str = "COOKIE_SECURE";

/// The first of `values` (name, value) whose value carries a development marker.
pub fn first_development_value<'a>(
    values: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<(&'a str, &'static str)> {
    values.into_iter().find_map(|(name, value)| {
        let lowered = value.to_ascii_lowercase();
        DEVELOPMENT_MARKERS
            .iter()
            .find(|marker| lowered.contains(*marker))
            .map(|marker| (name, *marker))
    })
}

/// The decision, as a pure function: an error naming the variable when `production`
/// and one of `values` is a development value.
pub fn check<'a>(
    production: bool,
    values: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> anyhow::Result<()> {
    if !production {
        return Ok(());
    }
    if let Some((name, marker)) = first_development_value(values) {
        bail!(
            "{name} holds a published development value (it contains {marker:?}) while \
             {PRODUCTION_SWITCH}=true: generate a real secret (e.g. `openssl rand -hex 32`), or \
             set {PRODUCTION_SWITCH}=false for plain-HTTP development on localhost only"
        );
    }
    Ok(())
}

/// Reads `COOKIE_SECURE` and the named variables from the environment and refuses
/// development values in production. Call it first thing in a service's config.
pub fn refuse_in_production(names: &[&str]) -> anyhow::Result<()> {
    let production = config::boolean(PRODUCTION_SWITCH, true)?;
    let values: Vec<(&str, String)> = names
        .iter()
        .filter_map(|name| config::optional(name).map(|value| (*name, value)))
        .collect();
    check(
        production,
        values.iter().map(|(name, value)| (*name, value.as_str())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_refuses_each_marker_and_names_only_the_variable() {
        let cases = [
            ("SESSION_STORE_TOKEN", "insecure-dev-session-store-token"),
            (
                "DATABASE_URL",
                "postgres://nexus_store:insecure-dev-store-db@postgres:5432/nexus",
            ),
            (
                "REFRESH_TOKEN_KEYS",
                "r1:CHANGE-ME-refresh-secret-at-least-32-bytes",
            ),
            ("DARKROOM_ALIAS_KEY", "changeme0123456789abcdef0123456789"),
        ];
        for (name, value) in cases {
            let error = check(true, [(name, value)]).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
            assert!(!error.contains(value), "the value leaked: {error}");
        }
    }

    #[test]
    fn development_mode_accepts_development_values() {
        assert!(check(false, [("SESSION_STORE_TOKEN", "insecure-dev-token")]).is_ok());
    }

    #[test]
    fn real_secrets_pass_in_production() {
        let values = [
            (
                "SESSION_STORE_TOKEN",
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15",
            ),
            (
                "AMQP_URL",
                "amqp://nexus-auth:Zr8q4WmB7yXk@rabbitmq:5672/%2f",
            ),
        ];
        assert!(check(true, values).is_ok());
    }

    #[test]
    fn the_first_offending_variable_is_named() {
        let values = [
            ("A", "fine-secret-value"),
            ("B", "insecure-dev-b"),
            ("C", "change-me-c"),
        ];
        assert_eq!(first_development_value(values), Some(("B", "insecure-dev")));
    }
}
