//! realtime-service configuration, read once at start from the environment
//! (names and defaults in DESIGN.md, "Configuration").
//!
//! Tests build a [`RealtimeConfig`] by hand (port 0, their own exchange names,
//! short intervals) instead of touching process-wide environment variables.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use nexus_common::client_ip::TrustedProxies;
use nexus_common::config::{self, defaults, number};
use nexus_common::events::SESSION_EXCHANGE;
use nexus_common::store_client::StoreClientConfig;
use nexus_tokens::supabase::SupabaseConfig;

use crate::domain::alias::AliasKey;
use crate::domain::grant::GrantKeys;
use crate::faults::Faults;

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
    /// Injected pauses and delays (tests only; never from the environment).
    pub faults: Faults,
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
    /// Largest WebSocket frame and message (bytes), refused before it is
    /// buffered whole.
    pub ws_max_message: usize,
    /// How long an Engine.IO session may stay without a Socket.IO CONNECT.
    pub connect_timeout: Duration,
    /// Packets queued per socket before further broadcasts to it are
    /// dropped (and counted).
    pub socket_queue: usize,
    /// How long written data may stay unacknowledged (a client that stopped
    /// reading) before the kernel drops the connection (`TCP_USER_TIMEOUT`).
    pub write_stall_timeout: Duration,
    /// Engine.IO sessions per client IP that have not sent CONNECT yet.
    pub pending_handshakes_per_ip: usize,
    /// Simultaneous sockets per client IP.
    pub connections_per_ip: usize,
    /// Simultaneous sockets per user (all sessions) on one instance.
    pub sockets_per_user: usize,
    /// Handshakes per second per client IP, and the burst allowed above it.
    pub connects_per_second: u32,
    pub connect_burst: u32,
    /// Rooms one socket may be in at once (besides its private rooms).
    pub rooms_per_socket: usize,
    /// Hangouts one user may create per hour (per instance).
    pub hangouts_per_user: u32,
    /// Sustained events per second per socket, and the burst allowed above it.
    pub events_per_second: u32,
    pub event_burst: u32,
    /// Longest chat message, in characters and in UTF-8 bytes.
    pub max_text_chars: usize,
    pub max_text_bytes: usize,
    /// How long a broker operation (publish, bind, unbind) may take before
    /// it is given up; nothing a client waits for waits longer.
    pub relay_deadline: Duration,
    /// Messages a plain `room:join` returns (the room's latest), and the bytes
    /// a room's buffer holds at most.
    pub history_len: usize,
    pub history_bytes: usize,
    /// How long a room's history outlives its last local member (dropping it
    /// starts a new epoch, so keep it at least `recovery_window`).
    pub history_grace: Duration,
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
            ws_max_message: 64 * 1024,
            connect_timeout: Duration::from_secs(10),
            socket_queue: 128,
            write_stall_timeout: Duration::from_secs(30),
            pending_handshakes_per_ip: 20,
            connections_per_ip: 200,
            sockets_per_user: 50,
            connects_per_second: 20,
            connect_burst: 60,
            rooms_per_socket: 20,
            hangouts_per_user: 10,
            events_per_second: 10,
            event_burst: 30,
            max_text_chars: 2000,
            max_text_bytes: 8 * 1024,
            relay_deadline: Duration::from_secs(2),
            history_len: 50,
            history_bytes: 256 * 1024,
            history_grace: Duration::from_secs(300),
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
        limits.pending_handshakes_per_ip = number(
            "REALTIME_PENDING_HANDSHAKES_PER_IP",
            limits.pending_handshakes_per_ip,
        )?;
        limits.sockets_per_user = number("REALTIME_SOCKETS_PER_USER", limits.sockets_per_user)?;
        limits.connects_per_second = number(
            "REALTIME_CONNECTS_PER_SECOND_PER_IP",
            limits.connects_per_second,
        )?;
        limits.connect_burst = number("REALTIME_CONNECT_BURST", limits.connect_burst)?;
        limits.write_stall_timeout = config::duration("REALTIME_WRITE_STALL_TIMEOUT", "30s")?;
        limits.history_grace = config::duration("REALTIME_HISTORY_GRACE", "5m")?;
        limits.relay_deadline = config::duration("REALTIME_RELAY_DEADLINE", "2s")?;
        limits.events_per_second = number("REALTIME_EVENTS_PER_SECOND", limits.events_per_second)?;
        limits.event_burst = number("REALTIME_EVENT_BURST", limits.event_burst)?;
        limits.recovery_messages = number("REALTIME_RECOVERY_MESSAGES", limits.recovery_messages)?;
        limits.recovery_window = config::duration("REALTIME_RECOVERY_WINDOW", "2m")?;
        if limits.history_grace < limits.recovery_window {
            anyhow::bail!(
                "REALTIME_HISTORY_GRACE ({:?}) must be at least REALTIME_RECOVERY_WINDOW ({:?}): \
                 dropping an empty room's history starts a new epoch, so a shorter grace \
                 would end recovery early",
                limits.history_grace,
                limits.recovery_window
            );
        }
        Ok(Self {
            listen: config::socket_addr("REALTIME_LISTEN", "127.0.0.1:8003")?,
            store: StoreClientConfig::from_env(),
            amqp_url: config::or_default("AMQP_URL", defaults::AMQP_URL),
            session_exchange: config::or_default("SESSION_EVENTS_EXCHANGE", SESSION_EXCHANGE),
            rooms_exchange: config::or_default("ROOMS_EXCHANGE", ROOMS_EXCHANGE),
            jwks_url: config::or_default("AUTH_JWKS_URL", nexus_tokens::access::DEFAULT_JWKS_URL),
            supabase,
            cors_origins: config::origins("CORS_ORIGINS", defaults::CORS_ORIGINS),
            trusted_proxies: TrustedProxies::from_env()?,
            grant_keys,
            alias_key,
            recheck_interval: config::duration("REALTIME_RECHECK_INTERVAL", "30s")?,
            presence_snapshot_interval: Duration::from_secs(10),
            limits,
            faults: Faults::default(),
        })
    }
}
