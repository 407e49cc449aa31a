//! auth-service configuration, read once at start from the environment
//! (names in DESIGN.md, "Configuration").
//!
//! Everything that can be wrong is found here, before the server binds: a
//! missing way to verify Supabase tokens, unreadable key files, short refresh
//! secrets. Development fallbacks (generated keys, insecure cookies) are loud.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use nexus_common::client_ip::TrustedProxies;
use nexus_common::config::{self, number};
use nexus_common::events::SESSION_EXCHANGE;
use nexus_common::store_client::StoreClientConfig;
use nexus_tokens::supabase::SupabaseConfig;

use crate::keys::access::AccessKeys;
use crate::keys::refresh::RefreshKeyring;
use crate::keys::room_grant::RoomGrantSigner;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8001";

/// A rate: `per_second` sustained, `burst` at once. `None` (a rate of 0)
/// disables the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// The limits of one endpoint: per client (IPv4 address or IPv6 /64) and a
/// global ceiling over all clients, which holds when an attacker spreads over
/// many addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndpointRate {
    pub per_client: Option<RateLimit>,
    pub global: Option<RateLimit>,
}

impl EndpointRate {
    /// From `AUTH_<NAME>_RATE_PER_SECOND`/`_BURST` (per client) and
    /// `AUTH_<NAME>_GLOBAL_RATE_PER_SECOND`/`_BURST`.
    fn from_env(name: &str, per_client: (u32, u32), global: (u32, u32)) -> anyhow::Result<Self> {
        Ok(Self {
            per_client: RateLimit::from_env(
                &format!("AUTH_{name}_RATE"),
                per_client.0,
                per_client.1,
            )?,
            global: RateLimit::from_env(&format!("AUTH_{name}_GLOBAL_RATE"), global.0, global.1)?,
        })
    }

    /// No limits (tests, benchmarks).
    pub fn unlimited() -> Self {
        Self::default()
    }
}

/// Rate limits of the endpoints that mint or end sessions, and of the group
/// writes (create, add, remove, delete, grant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimits {
    pub bridge: EndpointRate,
    pub refresh: EndpointRate,
    pub logout: EndpointRate,
    pub groups: EndpointRate,
}

impl RateLimit {
    fn from_env(prefix: &str, per_second: u32, burst: u32) -> anyhow::Result<Option<Self>> {
        let per_second = number(&format!("{prefix}_PER_SECOND"), per_second)?;
        let burst = number(&format!("{prefix}_BURST"), burst)?;
        Ok((per_second > 0).then_some(Self {
            per_second,
            burst: burst.max(1),
        }))
    }
}

/// Everything auth-service needs to run. `Debug` shows no secret.
#[derive(Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub store: StoreClientConfig,
    pub amqp_url: String,
    /// Topic exchange for session events (`SESSION_EVENTS_EXCHANGE`).
    pub events_exchange: String,
    /// Events waiting for the broker at most (`SESSION_EVENTS_BUFFER`).
    pub events_buffer: usize,
    pub supabase: SupabaseConfig,
    pub cors_origins: Vec<String>,
    pub trusted_proxies: TrustedProxies,
    pub cookie_secure: bool,
    pub access_keys: Arc<AccessKeys>,
    pub refresh_keys: Arc<RefreshKeyring>,
    pub access_token_ttl: Duration,
    pub refresh_reuse_interval: Duration,
    /// `AUTH_{BRIDGE,REFRESH,LOGOUT,GROUPS}_[GLOBAL_]RATE_{PER_SECOND,BURST}`.
    pub rate_limits: RateLimits,
    /// Signs group room grants (`ROOM_GRANT_KEYS`, first key; `ROOM_GRANT_TTL`).
    /// `None`: `POST /api/groups/{id}/grant` answers 503.
    pub room_grants: Option<Arc<RoomGrantSigner>>,
    /// Sessions whose refresh secret is kept in memory (`REFRESH_SECRET_CACHE_SIZE`).
    pub secret_cache_size: u64,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        nexus_common::dev_secrets::refuse_in_production(&[
            "SESSION_STORE_TOKEN",
            "AMQP_URL",
            "SUPABASE_JWT_SECRET",
            "REFRESH_TOKEN_KEYS",
            "ROOM_GRANT_KEYS",
        ])?;
        let supabase = SupabaseConfig::from_env()?;
        let access_keys = match config::optional("ACCESS_TOKEN_KEYS") {
            Some(raw) => AccessKeys::from_pem_files(&config::split_list(&raw))?,
            None => {
                tracing::warn!(
                    "ACCESS_TOKEN_KEYS is not set: signing access tokens with a key generated for \
                     this process only. Every restart invalidates all access tokens issued before \
                     it (clients must refresh), and several replicas would reject each other's \
                     tokens. Configure a PEM key for anything but local development."
                );
                AccessKeys::generate_dev()?
            }
        };
        let retired = config::optional("REFRESH_TOKEN_RETIRED_KEYS")
            .map(|raw| config::split_list(&raw))
            .unwrap_or_default();
        let refresh_keys = match config::optional("REFRESH_TOKEN_KEYS") {
            Some(raw) => RefreshKeyring::parse(&raw)?.with_retired(&retired)?,
            None => {
                tracing::warn!(
                    "REFRESH_TOKEN_KEYS is not set: deriving refresh tokens with a key generated for \
                     this process only. Every session's refresh token stops working when it \
                     restarts, and several replicas would reject each other's tokens."
                );
                RefreshKeyring::generate_dev()
            }
        };
        Ok(Self {
            listen: config::socket_addr("AUTH_LISTEN", DEFAULT_LISTEN)?,
            store: StoreClientConfig::from_env(),
            amqp_url: config::or_default("AMQP_URL", config::defaults::AMQP_URL),
            events_exchange: config::or_default("SESSION_EVENTS_EXCHANGE", SESSION_EXCHANGE),
            events_buffer: number::<u32>("SESSION_EVENTS_BUFFER", 10_000)? as usize,
            supabase,
            cors_origins: config::list("CORS_ORIGINS", config::defaults::CORS_ORIGINS),
            trusted_proxies: TrustedProxies::from_env()?,
            cookie_secure: config::boolean("COOKIE_SECURE", true)?,
            access_keys: Arc::new(access_keys),
            refresh_keys: Arc::new(refresh_keys),
            access_token_ttl: config::duration("ACCESS_TOKEN_TTL", "15m")?,
            refresh_reuse_interval: config::duration("REFRESH_REUSE_INTERVAL", "10s")?,
            rate_limits: RateLimits {
                bridge: EndpointRate::from_env("BRIDGE", (5, 30), (300, 600))?,
                refresh: EndpointRate::from_env("REFRESH", (10, 60), (1_000, 2_000))?,
                logout: EndpointRate::from_env("LOGOUT", (5, 30), (300, 600))?,
                groups: EndpointRate::from_env("GROUPS", (10, 60), (1_000, 2_000))?,
            },
            room_grants: RoomGrantSigner::parse(
                config::optional("ROOM_GRANT_KEYS").as_deref(),
                config::duration("ROOM_GRANT_TTL", "5m")?,
            )
            .context("ROOM_GRANT_KEYS / ROOM_GRANT_TTL")?
            .map(Arc::new),
            secret_cache_size: u64::from(number::<u32>("REFRESH_SECRET_CACHE_SIZE", 100_000)?),
        })
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use nexus_common::redact;
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("store", &self.store)
            .field("amqp_url", &redact::url(&self.amqp_url))
            .field("events_exchange", &self.events_exchange)
            .field("events_buffer", &self.events_buffer)
            .field("supabase", &self.supabase)
            .field("cors_origins", &self.cors_origins)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("cookie_secure", &self.cookie_secure)
            .field("access_keys", &self.access_keys)
            .field("refresh_keys", &self.refresh_keys)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_reuse_interval", &self.refresh_reuse_interval)
            .field("rate_limits", &self.rate_limits)
            .field("room_grants", &self.room_grants)
            .field("secret_cache_size", &self.secret_cache_size)
            .finish()
    }
}
