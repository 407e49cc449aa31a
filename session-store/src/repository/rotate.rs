//! Refresh-token rotation: one transaction under a row lock on the session.
//!
//! The lock makes concurrent rotations of one generation (several tabs, or a
//! retried request) queue up: the first rotates, the others then see a
//! generation superseded a moment ago and get the current one back, so
//! exactly one new generation exists however many callers raced.
//!
//! Hot path: BEGIN, one statement to lock and read, one statement for the
//! three writes, COMMIT (statements kept prepared).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::sessions::current_key_id;
use super::{Repository, SessionRow, StoreError, revoke_ids};
use crate::db::prepared::Prepared;
use crate::domain::{
    Generation, KeyId, Lifetimes, RevokeReason, SessionId, SessionStatus, TokenHash,
};

/// A validated RotateRefreshToken request.
#[derive(Debug, Clone)]
pub struct RotateRequest {
    pub session_id: SessionId,
    pub presented_generation: Generation,
    pub presented_hash: TokenHash,
    pub next_hash: TokenHash,
    pub next_key_id: KeyId,
    pub reuse_interval: chrono::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    Rotated,
    CurrentReturned,
    ReuseDetected,
    SessionRevoked,
    SessionExpired,
    TokenMismatch,
}

/// The outcome, the session after it, and (rotated / current returned) the
/// generation to hand out with its key id.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub outcome: RotateOutcome,
    pub session: SessionRow,
    pub current: Option<(Generation, String)>,
}

impl Rotation {
    fn without_token(outcome: RotateOutcome, session: SessionRow) -> Self {
        Self {
            outcome,
            session,
            current: None,
        }
    }
}

impl Repository {
    pub async fn rotate(&self, request: &RotateRequest) -> Result<Rotation, StoreError> {
        let lifetimes = self.lifetimes;
        let now = Utc::now();
        let mut conn = self.conn().await?;
        conn.transaction::<_, StoreError, _>(async |conn| {
            rotate_in_transaction(conn, request, lifetimes, now).await
        })
        .await
    }
}

/// The session row, locked, with the presented generation's refresh row.
#[derive(QueryableByName)]
struct Locked {
    #[diesel(embed)]
    session: SessionRow,
    #[diesel(sql_type = Nullable<Text>)]
    presented_hash: Option<String>,
}

/// One round trip: lock the session row (only it: `FOR UPDATE OF s`) and read
/// the presented generation's hash.
const LOCK_SESSION: &str = "SELECT s.id, s.user_id, s.user_agent, s.ip_address, s.created_at, \
     s.last_seen_at, s.revoked_at, s.revoked_reason, s.supabase_session_id, s.current_generation, \
     r.token_hash AS presented_hash \
     FROM user_sessions s \
     LEFT JOIN refresh_tokens r ON r.session_id = s.id AND r.generation = $2 \
     WHERE s.id = $1 \
     FOR UPDATE OF s";

/// A non-current generation's row, read under the session lock, with the
/// reuse-interval decision made by Postgres' clock at that moment.
const SUPERSEDED_ROW: &str = "SELECT token_hash, \
         (rotated_at IS NOT NULL \
          AND clock_timestamp() - rotated_at < make_interval(secs => $3::float8 / 1000)) \
         AS within_reuse_interval \
     FROM refresh_tokens WHERE session_id = $1 AND generation = $2";

#[derive(QueryableByName)]
struct Superseded {
    #[diesel(sql_type = Text)]
    token_hash: String,
    #[diesel(sql_type = Bool)]
    within_reuse_interval: bool,
}

/// One round trip for the three writes of a rotation: mark the presented
/// generation rotated (on the database's clock, which the reuse-interval
/// check reads too), insert the next one, advance the session.
const ROTATE: &str = "WITH superseded AS ( \
         UPDATE refresh_tokens SET rotated_at = clock_timestamp() \
         WHERE session_id = $2 AND generation = $3 \
     ), issued AS ( \
         INSERT INTO refresh_tokens (session_id, token_hash, created_at, generation, key_id, expires_at) \
         VALUES ($2, $4, $1, $5, $6, $7) \
     ) \
     UPDATE user_sessions SET current_generation = $5, last_seen_at = $1 WHERE id = $2 \
     RETURNING id, user_id, user_agent, ip_address, created_at, last_seen_at, revoked_at, \
         revoked_reason, supabase_session_id, current_generation";

async fn rotate_in_transaction(
    conn: &mut AsyncPgConnection,
    request: &RotateRequest,
    lifetimes: Lifetimes,
    now: DateTime<Utc>,
) -> Result<Rotation, StoreError> {
    let session_id = request.session_id.as_str();
    let presented = request.presented_generation;
    let locked = Prepared(
        diesel::sql_query(LOCK_SESSION)
            .bind::<Text, _>(session_id)
            .bind::<BigInt, _>(presented.get()),
    )
    .get_result::<Locked>(conn)
    .await
    .optional()?
    .ok_or(StoreError::NotFound)?;
    let session = locked.session;
    match lifetimes.status(
        session.created_at,
        session.last_seen_at,
        session.revoked_at,
        now,
    ) {
        SessionStatus::Revoked => {
            return Ok(Rotation::without_token(
                RotateOutcome::SessionRevoked,
                session,
            ));
        }
        SessionStatus::Expired => {
            let mut revoked = revoke_ids(
                conn,
                std::slice::from_ref(&session.id),
                &RevokeReason::expired(),
                now,
            )
            .await?;
            let session = revoked.pop().unwrap_or(session);
            return Ok(Rotation::without_token(
                RotateOutcome::SessionExpired,
                session,
            ));
        }
        SessionStatus::Active => {}
    }

    // The joined refresh row comes from the statement's snapshot, taken
    // BEFORE the lock was granted: if a concurrent rotation held the lock, the
    // session row is re-read at its newest version (READ COMMITTED re-check)
    // but the joined row is not, so its `rotated_at` may be stale. It is only
    // trusted when the presented generation is still current (then nothing
    // about it changed); otherwise the row is read again under the lock, and
    // Postgres itself decides whether its rotation is within the reuse
    // interval: `clock_timestamp()` is read now, after the lock was granted,
    // on the one clock that also wrote `rotated_at`, so neither a replica's
    // clock nor the time spent waiting for the lock can stretch the window.
    let current = Generation::from_db(session.current_generation);
    let presented_row = match locked.presented_hash {
        Some(hash) if presented == current => Some((hash, false)),
        _ => Prepared(
            diesel::sql_query(SUPERSEDED_ROW)
                .bind::<Text, _>(session_id)
                .bind::<BigInt, _>(presented.get())
                .bind::<BigInt, _>(request.reuse_interval.num_milliseconds()),
        )
        .get_result::<Superseded>(conn)
        .await
        .optional()?
        .map(|row| (row.token_hash, row.within_reuse_interval)),
    };
    let Some((stored_hash, within_reuse_interval)) = presented_row else {
        return Err(StoreError::GenerationNotFound);
    };
    if !request.presented_hash.matches(&stored_hash) {
        return Ok(Rotation::without_token(
            RotateOutcome::TokenMismatch,
            session,
        ));
    }

    if presented == current {
        let next = current.next();
        let session = Prepared(
            diesel::sql_query(ROTATE)
                .bind::<Timestamptz, _>(now)
                .bind::<Text, _>(session_id)
                .bind::<BigInt, _>(current.get())
                .bind::<Text, _>(request.next_hash.as_str())
                .bind::<BigInt, _>(next.get())
                .bind::<Text, _>(request.next_key_id.as_str())
                .bind::<Timestamptz, _>(lifetimes.lifetime_end(session.created_at)),
        )
        .get_result::<SessionRow>(conn)
        .await?;
        return Ok(Rotation {
            outcome: RotateOutcome::Rotated,
            session,
            current: Some((next, request.next_key_id.as_str().to_owned())),
        });
    }

    if presented < current && within_reuse_interval {
        let key_id = current_key_id(conn, session_id, current).await?;
        return Ok(Rotation {
            outcome: RotateOutcome::CurrentReturned,
            session,
            current: Some((current, key_id)),
        });
    }

    tracing::warn!(
        session_id,
        "refresh token reuse detected, revoking the session"
    );
    let mut revoked = revoke_ids(
        conn,
        std::slice::from_ref(&session.id),
        &RevokeReason::reuse_detected(),
        now,
    )
    .await?;
    let session = revoked.pop().unwrap_or(session);
    Ok(Rotation::without_token(
        RotateOutcome::ReuseDetected,
        session,
    ))
}
