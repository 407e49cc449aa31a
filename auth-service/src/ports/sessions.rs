//! The session-store port: the calls the use cases make on sessions and
//! refresh tokens, and the values they exchange.
//!
//! session-store owns the rules that need a row lock (rotation, the per-user
//! cap, revocation in one transaction); this trait is how a use case asks for
//! them. `store` implements it over gRPC.

use nexus_domain::RevokeReason;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::Serialize;

use crate::domain::{Generation, RefreshSecret, SessionId, TokenHash, UserId};

/// What went wrong talking to session-store.
#[derive(Debug, thiserror::Error)]
pub enum StoreCallError {
    #[error("the session store is unavailable")]
    Unavailable(String),
    #[error("not found")]
    NotFound,
    #[error("the session store refused the request: {0}")]
    Rejected(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Whether a session may still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Active,
    Revoked,
    Expired,
}

/// A backend session as auth-service shows it.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: SessionId,
    pub user_id: UserId,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
    pub status: SessionStatus,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What refresh tokens of a session are derived from.
#[derive(Debug, Clone)]
pub struct RefreshState {
    pub session: SessionView,
    pub secret: RefreshSecret,
    pub generation: Generation,
    pub key_id: String,
}

/// What CreateSession did: the (new or existing) session's refresh state,
/// and the sessions of the same user it revoked to stay within the per-user
/// cap (`SESSION_MAX_PER_USER` of session-store), to be announced.
#[derive(Debug, Clone)]
pub struct CreatedSession {
    pub state: RefreshState,
    pub created: bool,
    pub evicted: Vec<SessionView>,
}

/// A new session to create.
#[derive(Debug)]
pub struct NewSession<'a> {
    pub user: &'a UserId,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub supabase_session_id: Option<String>,
    pub secret: &'a RefreshSecret,
    pub token_hash: TokenHash,
    pub key_id: &'a str,
}

/// A rotation to attempt: the presented generation and hash, and the hash of
/// the token that replaces it if the presented one is current.
#[derive(Debug)]
pub struct RotationRequest<'a> {
    pub session: &'a SessionId,
    pub generation: Generation,
    pub presented_hash: &'a TokenHash,
    pub next_hash: TokenHash,
    pub next_key_id: &'a str,
    pub reuse_interval: Duration,
}

/// What session-store decided about a [`RotationRequest`].
#[derive(Debug)]
pub enum RotationOutcome {
    /// Hand out `generation` (under `key_id`): freshly rotated, or the current
    /// one to a concurrent refresh within the reuse interval.
    Current {
        session: SessionView,
        generation: Generation,
        key_id: String,
        rotated: bool,
    },
    /// A superseded token outside the reuse interval: session-store has
    /// revoked the session.
    ReuseDetected(Option<SessionView>),
    Revoked,
    Expired,
    Mismatch,
}

/// The session-store calls the use cases make.
pub trait SessionStorePort: Send + Sync + std::fmt::Debug {
    /// Whether session-store answers its health check (readiness).
    fn is_healthy(&self) -> BoxFuture<'_, bool>;

    /// Creates (or returns the live) session; see [`CreatedSession`].
    fn create_session<'a>(
        &'a self,
        new: NewSession<'a>,
    ) -> BoxFuture<'a, Result<CreatedSession, StoreCallError>>;

    /// The session's refresh secret, current generation and key id.
    fn refresh_state<'a>(
        &'a self,
        session: &'a SessionId,
    ) -> BoxFuture<'a, Result<RefreshState, StoreCallError>>;

    /// Rotates under session-store's row lock; see [`RotationOutcome`].
    fn rotate<'a>(
        &'a self,
        rotation: RotationRequest<'a>,
    ) -> BoxFuture<'a, Result<RotationOutcome, StoreCallError>>;

    /// The session as it is now (active, revoked or expired).
    fn validate<'a>(
        &'a self,
        session: &'a SessionId,
    ) -> BoxFuture<'a, Result<SessionView, StoreCallError>>;

    /// Revokes one session of `user`: whether this call revoked it, and the
    /// session; `NotFound` for another user's session.
    fn revoke<'a>(
        &'a self,
        session: &'a SessionId,
        user: &'a UserId,
        reason: RevokeReason,
    ) -> BoxFuture<'a, Result<(bool, SessionView), StoreCallError>>;

    /// Revokes every live session of `user` except `keep`; returns those it revoked.
    fn revoke_all<'a>(
        &'a self,
        user: &'a UserId,
        keep: Option<&'a SessionId>,
        reason: RevokeReason,
    ) -> BoxFuture<'a, Result<Vec<SessionView>, StoreCallError>>;

    /// The live sessions of `user`.
    fn list<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<SessionView>, StoreCallError>>;
}
