//! Refresh-token rotation: one transaction under a row lock on the session.
//!
//! The lock makes concurrent rotations of one generation (several tabs, or a
//! retried request) queue up: the first rotates, the others then see a
//! generation superseded a moment ago and get the current one back, so
//! exactly one new generation exists however many callers raced.
//!
//! This module reads the facts and executes the decision; the decision
//! itself (current, within the reuse interval, reuse, expired, revoked) is
//! the pure `domain::rotation::decide`.
//!
//! Hot path: BEGIN, one statement to lock and read, one statement for the
//! three writes, COMMIT (statements kept prepared).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::sessions::current_key_id;
use super::{Repository, RepositoryError, SessionRow, revoke_ids};
use crate::db::prepared::Prepared;
use crate::domain::{
    Generation, KeyId, Lifetimes, RevokeReason, RotationDecision, RotationFacts, SessionId,
    StoredGeneration, Superseded, TokenHash, decide,
};

/// A validated RotateRefreshToken request.
#[derive(Debug, Clone)]
pub struct RotationRequest {
    pub session_id: SessionId,
    pub presented_generation: Generation,
    pub presented_hash: TokenHash,
    pub next_hash: TokenHash,
    pub next_key_id: KeyId,
    pub reuse_interval: chrono::Duration,
}

/// What a rotation did (the wire's `RotateOutcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    Rotated,
    CurrentReturned,
    ReuseDetected,
    SessionRevoked,
    SessionExpired,
    TokenMismatch,
}

/// The result of a rotation: the outcome, the session after it, and
/// (rotated / current returned) the generation to hand out with its key id.
#[derive(Debug, Clone)]
pub struct RotationResult {
    pub outcome: RotateOutcome,
    pub session: SessionRow,
    pub current: Option<(Generation, String)>,
}

impl RotationResult {
    fn without_token(outcome: RotateOutcome, session: SessionRow) -> Self {
        Self {
            outcome,
            session,
            current: None,
        }
    }
}

impl Repository {
    pub async fn rotate(
        &self,
        request: &RotationRequest,
    ) -> Result<RotationResult, RepositoryError> {
        let lifetimes = self.lifetimes;
        let now = Utc::now();
        let mut conn = self.conn().await?;
        conn.transaction::<_, RepositoryError, _>(async |conn| {
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

/// A non-current generation's row, read under the session lock, with
/// Postgres' clock at that moment (the clock that wrote `rotated_at`).
const SUPERSEDED_ROW: &str = "SELECT token_hash, rotated_at, clock_timestamp() AS read_at \
     FROM refresh_tokens WHERE session_id = $1 AND generation = $2";

#[derive(QueryableByName)]
struct SupersededRow {
    #[diesel(sql_type = Text)]
    token_hash: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    rotated_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    read_at: DateTime<Utc>,
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
    request: &RotationRequest,
    lifetimes: Lifetimes,
    now: DateTime<Utc>,
) -> Result<RotationResult, RepositoryError> {
    let session_id = request.session_id.as_str();
    let presented = request.presented_generation;
    let locked = Prepared(
        diesel::sql_query(LOCK_SESSION)
            .bind::<Text, _>(session_id)
            .bind::<BigInt, _>(presented.to_stored()),
    )
    .get_result::<Locked>(conn)
    .await
    .optional()?
    .ok_or(RepositoryError::NotFound)?;
    let session = locked.session;
    let current = Generation::from_stored(session.current_generation);

    // The presented generation's row matters only for an active session (the
    // decision ends a revoked or expired one first), so only then is it read.
    //
    // The joined refresh row comes from the statement's snapshot, taken
    // BEFORE the lock was granted: if a concurrent rotation held the lock, the
    // session row is re-read at its newest version (READ COMMITTED re-check)
    // but the joined row is not, so its `rotated_at` may be stale. It is only
    // trusted when the presented generation is still current (then nothing
    // about it changed); otherwise the row is read again under the lock,
    // with Postgres' clock read now, after the lock was granted.
    let active = lifetimes
        .status(
            session.created_at,
            session.last_seen_at,
            session.revoked_at,
            now,
        )
        .is_active();
    let joined_current = locked.presented_hash.filter(|_| Some(presented) == current);
    let superseded_row = if active && joined_current.is_none() {
        Prepared(
            diesel::sql_query(SUPERSEDED_ROW)
                .bind::<Text, _>(session_id)
                .bind::<BigInt, _>(presented.to_stored()),
        )
        .get_result::<SupersededRow>(conn)
        .await
        .optional()?
    } else {
        None
    };
    let stored = match (&joined_current, &superseded_row) {
        _ if !active => None,
        (Some(hash), _) => Some(StoredGeneration {
            token_hash: hash,
            superseded: None,
        }),
        (None, Some(row)) => Some(StoredGeneration {
            token_hash: &row.token_hash,
            superseded: row.rotated_at.map(|at| Superseded {
                at,
                read_at: row.read_at,
            }),
        }),
        (None, None) => None,
    };
    let decision = decide(&RotationFacts {
        created_at: session.created_at,
        last_seen_at: session.last_seen_at,
        revoked_at: session.revoked_at,
        current,
        presented,
        presented_hash: &request.presented_hash,
        stored,
        lifetimes,
        reuse_interval: request.reuse_interval,
        now,
    });
    execute(conn, request, decision, session, lifetimes, now).await
}

/// Carries out a decision: the writes it needs, and the answer.
async fn execute(
    conn: &mut AsyncPgConnection,
    request: &RotationRequest,
    decision: RotationDecision,
    session: SessionRow,
    lifetimes: Lifetimes,
    now: DateTime<Utc>,
) -> Result<RotationResult, RepositoryError> {
    let session_id = request.session_id.as_str();
    match decision {
        RotationDecision::AlreadyRevoked => Ok(RotationResult::without_token(
            RotateOutcome::SessionRevoked,
            session,
        )),
        RotationDecision::RevokeExpired => {
            let session = revoke_one(conn, session, RevokeReason::Expired, now).await?;
            Ok(RotationResult::without_token(
                RotateOutcome::SessionExpired,
                session,
            ))
        }
        RotationDecision::UnknownGeneration => Err(RepositoryError::GenerationNotFound),
        RotationDecision::GenerationsExhausted => Err(RepositoryError::GenerationsExhausted),
        RotationDecision::TokenMismatch => Ok(RotationResult::without_token(
            RotateOutcome::TokenMismatch,
            session,
        )),
        RotationDecision::Rotate { next } => {
            let session = Prepared(
                diesel::sql_query(ROTATE)
                    .bind::<Timestamptz, _>(now)
                    .bind::<Text, _>(session_id)
                    .bind::<BigInt, _>(request.presented_generation.to_stored())
                    .bind::<Text, _>(request.next_hash.as_str())
                    .bind::<BigInt, _>(next.to_stored())
                    .bind::<Text, _>(request.next_key_id.as_str())
                    .bind::<Timestamptz, _>(lifetimes.lifetime_end(session.created_at)),
            )
            .get_result::<SessionRow>(conn)
            .await?;
            Ok(RotationResult {
                outcome: RotateOutcome::Rotated,
                session,
                current: Some((next, request.next_key_id.as_str().to_owned())),
            })
        }
        RotationDecision::ReturnCurrent { current } => {
            let key_id = current_key_id(conn, session_id, current).await?;
            Ok(RotationResult {
                outcome: RotateOutcome::CurrentReturned,
                session,
                current: Some((current, key_id)),
            })
        }
        RotationDecision::RevokeForReuse => {
            tracing::warn!(
                session_id,
                "refresh token reuse detected, revoking the session"
            );
            let session = revoke_one(conn, session, RevokeReason::RefreshTokenReuse, now).await?;
            Ok(RotationResult::without_token(
                RotateOutcome::ReuseDetected,
                session,
            ))
        }
    }
}

/// Revokes the locked session; the row after it (or as read, when it was
/// already revoked).
async fn revoke_one(
    conn: &mut AsyncPgConnection,
    session: SessionRow,
    reason: RevokeReason,
    now: DateTime<Utc>,
) -> Result<SessionRow, RepositoryError> {
    let mut revoked =
        revoke_ids(conn, std::slice::from_ref(&session.id), &reason.into(), now).await?;
    Ok(revoked.pop().unwrap_or(session))
}
