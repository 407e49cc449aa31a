//! What every handler and background task of one instance shares.
//!
//! `AppState` only aggregates the low-level components (limits, registries,
//! room state, the store adapter, the relay link); none of them names it
//! back. The modules that take `Arc<AppState>` are the handlers and tasks
//! on top: `connection`, `events`, `membership`, `groups`, `kick`,
//! `dispatch`, `recheck`, `http`, `startup`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nexus_common::client_ip::TrustedProxies;

use crate::auth::Authenticator;
use crate::broker::relay::Relay;
use crate::config::Limits;
use crate::domain::alias::AliasKey;
use crate::domain::grant::GrantKeys;
use crate::domain::hangout_id::HangoutIds;
use crate::faults::Faults;
use crate::handshakes::PendingHandshakes;
use crate::limits::{ConnectRate, IpLimiter, UserLimiter};
use crate::metrics::Metrics;
use crate::rooms::group_state::GroupState;
use crate::rooms::hangouts::Hangouts;
use crate::rooms::history::History;
use crate::rooms::locks::RoomLocks;
use crate::rooms::presence::Presence;
use crate::rooms::quota::HangoutQuota;
use crate::rooms::vacancy::Vacancies;
use crate::sessions::{EndedSessions, SessionRegistry};
use crate::store::SessionStore;

/// Shared state of one realtime instance (held as `Arc<AppState>`).
pub struct AppState {
    /// Unique per process start; the relay skips its own messages by it.
    pub instance_id: String,
    pub authenticator: Authenticator,
    /// session-store (sessions, group memberships, health).
    pub store: SessionStore,
    pub limits: Limits,
    pub cors_origins: Vec<String>,
    pub trusted_proxies: TrustedProxies,
    pub grant_keys: GrantKeys,
    pub alias_key: AliasKey,
    pub metrics: Arc<Metrics>,
    pub ip_limiter: Arc<IpLimiter>,
    pub user_limiter: Arc<UserLimiter>,
    pub connect_rate: ConnectRate,
    pub pending_handshakes: Arc<PendingHandshakes>,
    pub sessions: SessionRegistry,
    /// Sessions that ended recently (admission checks it; see `connection`).
    pub ended_sessions: EndedSessions,
    pub room_locks: RoomLocks,
    pub vacancies: Vacancies,
    pub faults: Faults,
    pub presence: Presence,
    pub history: History,
    pub hangout_quota: HangoutQuota,
    /// Hangouts created here or announced by other instances.
    pub hangouts: Hangouts,
    pub hangout_ids: HangoutIds,
    /// The outbound port of the relay link (publish, bind, unbind).
    pub relay: Arc<Relay>,
    /// Group rooms' grant expiries and recent removals.
    pub groups: GroupState,
    /// Whether the session-event consumer is attached to the broker.
    pub session_events_up: AtomicBool,
}

impl AppState {
    /// Both broker links are up (for `/readyz`).
    pub fn broker_connected(&self) -> bool {
        self.session_events_up.load(Ordering::Relaxed) && self.relay.is_connected()
    }
}
