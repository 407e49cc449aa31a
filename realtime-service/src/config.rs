//! realtime-service configuration, read once at start from the environment
//! (names and defaults in DESIGN.md, "Configuration").
//!
//! Tests build a [`RealtimeConfig`] by hand (port 0, their own exchange names,
//! short intervals) instead of touching process-wide environment variables.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use nexus_common::client_ip::TrustedProxies;
use nexus_common::config::{self, defaults};
use nexus_common::events::SESSION_EXCHANGE;
use nexus_common::store_client::StoreClientConfig;
use nexus_tokens::supabase::SupabaseConfig;

use crate::domain::alias::AliasKey;
use crate::domain::grant::GrantKeys;

/// Default name of the transient exchange that relays room traffic.
pub const ROOMS_EXCHANGE: &str = "nexus.rooms";

/// Everything the service needs to run.
#[derive(Clone)]
pub struct RealtimeConfig {
    pub listen: SocketAddr,
    pub store: StoreClientConfig,
    pub amqp_url: String,
    /// Topic exchange carrying session events (`nexus.sessions`).
    pub session_exchange: String,
    /// Transient exchange relaying rooms between instances (`nexus.rooms`).
    pub rooms_exchange: String,
    pub jwks_url: String,
    /// `None` when no Supabase key source is configured: then only backend
    /// tokens are accepted.
    pub supabase: Option<SupabaseConfig>,
    pub cors_origins: Vec<String>,
    pub trusted_proxies: TrustedProxies,
    pub grant_keys: GrantKeys,
    pub alias_key: AliasKey,
    pub recheck_interval: Duration,
    /// How often each instance republishes its local presence (remote
    /// presence older than three intervals is dropped).
    pub presence_snapshot_interval: Duration,
    pub limits: Limits,
}

impl std::fmt::Debug for RealtimeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealtimeConfig")
            .field("listen", &self.listen)
            .field("session_exchange", &self.session_exchange)
            .field("rooms_exchange", &self.rooms_exchange)
            .field("jwks_url", &self.jwks_url)
            .field("supabase", &self.supabase)
            .field("cors_origins", &self.cors_origins)
            .field("recheck_interval", &self.recheck_interval)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Abuse limits (see the README's table).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest Engine.IO payload accepted (bytes).
    pub max_payload: u64,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    /// Simultaneous sockets per client IP.
    pub connections_per_ip: usize,
    /// Rooms one socket may be in at once (besides its private rooms).
    pub rooms_per_socket: usize,
    /// Hangouts one user may create per hour (per instance).
    pub hangouts_per_user: u32,
    /// Sustained events per second per socket, and the burst allowed above it.
    pub events_per_second: u32,
    pub event_burst: u32,
    /// Longest chat message, in characters.
    pub max_text_chars: usize,
    /// Messages a plain `room:join` returns (the room's latest).
    pub history_len: usize,
    /// Connection-state recovery: at most this many missed messages are
    /// recovered (`REALTIME_RECOVERY_MESSAGES`)...
    pub recovery_messages: usize,
    /// ...none older than this (`REALTIME_RECOVERY_WINDOW`).
    pub recovery_window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_payload: 64 * 1024,
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            connections_per_ip: 200,
            rooms_per_socket: 20,
            hangouts_per_user: 10,
            events_per_second: 10,
            event_burst: 30,
            max_text_chars: 2000,
            history_len: 50,
            recovery_messages: 100,
            recovery_window: Duration::from_secs(120),
        }
    }
}

impl RealtimeConfig {
    /// From the environment; errors name the variable at fault.
    pub fn from_env() -> anyhow::Result<Self> {
        nexus_common::dev_secrets::refuse_in_production(&[
            "SESSION_STORE_TOKEN",
            "AMQP_URL",
            "SUPABASE_JWT_SECRET",
            "DARKROOM_ALIAS_KEY",
            "ROOM_GRANT_KEYS",
        ])?;
        let supabase = match SupabaseConfig::from_env() {
            Ok(config) => Some(config),
            Err(_) => {
                tracing::warn!(
                    "no SUPABASE_URL, SUPABASE_JWKS_URL or SUPABASE_JWT_SECRET: only backend \
                     access tokens are accepted at connect"
                );
                None
            }
        };
        let grant_keys = GrantKeys::parse(config::optional("ROOM_GRANT_KEYS").as_deref())
            .context("ROOM_GRANT_KEYS")?;
        let alias_key = match config::optional("DARKROOM_ALIAS_KEY") {
            Some(key) => AliasKey::new(key.as_bytes()).context("DARKROOM_ALIAS_KEY")?,
            None => {
                tracing::warn!(
                    "DARKROOM_ALIAS_KEY is unset: using a development key. Dark-room aliases \
                     are guessable by anyone who reads the source; set a random secret shared \
                     by all realtime instances"
                );
                AliasKey::development()
            }
        };
        let mut limits = Limits::default();
        limits.connections_per_ip =
            number("REALTIME_CONNECTIONS_PER_IP", limits.connections_per_ip)?;
        limits.events_per_second = number("REALTIME_EVENTS_PER_SECOND", limits.events_per_second)?;
        limits.event_burst = number("REALTIME_EVENT_BURST", limits.event_burst)?;
        limits.recovery_messages = number("REALTIME_RECOVERY_MESSAGES", limits.recovery_messages)?;
        limits.recovery_window = config::duration("REALTIME_RECOVERY_WINDOW", "2m")?;
        Ok(Self {
            listen: config::socket_addr("REALTIME_LISTEN", "127.0.0.1:8003")?,
            store: StoreClientConfig::from_env(),
            amqp_url: config::or_default("AMQP_URL", defaults::AMQP_URL),
            session_exchange: config::or_default("SESSION_EVENTS_EXCHANGE", SESSION_EXCHANGE),
            rooms_exchange: config::or_default("ROOMS_EXCHANGE", ROOMS_EXCHANGE),
            jwks_url: config::or_default("AUTH_JWKS_URL", nexus_tokens::access::DEFAULT_JWKS_URL),
            supabase,
            cors_origins: config::list("CORS_ORIGINS", defaults::CORS_ORIGINS),
            trusted_proxies: TrustedProxies::from_env()?,
            grant_keys,
            alias_key,
            recheck_interval: config::duration("REALTIME_RECHECK_INTERVAL", "30s")?,
            presence_snapshot_interval: Duration::from_secs(10),
            limits,
        })
    }
}

/// A whole number from the environment, or `default`.
fn number<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match config::optional(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={raw:?} is not a whole number")),
    }
}
