//! The repository: every SQL statement session-store runs, in diesel
//! (sessions, refresh tokens, and group chats in `groups`).
//!
//! It speaks domain types in and plain rows out and knows nothing of gRPC or
//! prost. Each use case that changes more than one row is ONE transaction;
//! rotation and revocation lock the session row (`SELECT ... FOR UPDATE`) so
//! concurrent calls for one session serialise.

mod error;
mod groups;
mod purge;
mod rotate;
mod rows;
mod sessions;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::pooled_connection::bb8::PooledConnection;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

pub use error::RepositoryError;
pub use groups::{
    GroupError, GroupRow, GroupWithMembers, MAX_GROUPS_OWNED, MAX_MEMBERS_PER_GROUP,
    MAX_MEMBERSHIP_CHECKS, MemberRow,
};
pub use rotate::{RotateOutcome, RotationRequest, RotationResult};
pub use rows::{RefreshState, SessionRow};
pub use sessions::{Created, NewSession, VALIDATE_BATCH_MAX};

use crate::db::DbPool;
use crate::db::prepared::Prepared;
use crate::db::schema::{refresh_tokens, user_sessions};
use crate::domain::{Lifetimes, RecordedReason};

/// Access to the tables through the pool.
#[derive(Clone)]
pub struct Repository {
    pool: DbPool,
    lifetimes: Lifetimes,
    max_sessions_per_user: u32,
}

impl Repository {
    pub fn new(pool: DbPool, lifetimes: Lifetimes) -> Self {
        Self {
            pool,
            lifetimes,
            max_sessions_per_user: crate::config::DEFAULT_MAX_SESSIONS_PER_USER,
        }
    }

    /// Caps the live sessions of one user (at least 1).
    pub fn with_max_sessions_per_user(mut self, max: u32) -> Self {
        self.max_sessions_per_user = max.max(1);
        self
    }

    pub fn lifetimes(&self) -> Lifetimes {
        self.lifetimes
    }

    async fn conn(&self) -> Result<PooledConnection<'_, AsyncPgConnection>, RepositoryError> {
        let started = std::time::Instant::now();
        let checkout = self.pool.get().await;
        let timed_out = matches!(
            checkout,
            Err(diesel_async::pooled_connection::bb8::RunError::TimedOut)
        );
        crate::metrics::pool_checkout(started.elapsed(), timed_out);
        checkout.map_err(RepositoryError::from_pool)
    }
}

/// Revokes the given sessions (those not yet revoked) and their refresh rows;
/// returns the sessions this call revoked.
async fn revoke_ids(
    conn: &mut AsyncPgConnection,
    ids: &[String],
    reason: &RecordedReason,
    now: DateTime<Utc>,
) -> QueryResult<Vec<SessionRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let revoked = Prepared(
        diesel::update(
            user_sessions::table
                .filter(user_sessions::id.eq_any(ids))
                .filter(user_sessions::revoked_at.is_null()),
        )
        .set((
            user_sessions::revoked_at.eq(Some(now)),
            user_sessions::revoked_reason.eq(Some(reason.as_str())),
        ))
        .returning(SessionRow::as_returning()),
    )
    .get_results(conn)
    .await?;
    revoke_refresh_rows(conn, ids, now).await?;
    Ok(revoked)
}

async fn revoke_refresh_rows(
    conn: &mut AsyncPgConnection,
    ids: &[String],
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    Prepared(
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::session_id.eq_any(ids))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(Some(now))),
    )
    .execute(conn)
    .await
}
