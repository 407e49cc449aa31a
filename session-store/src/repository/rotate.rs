//! Refresh-token rotation: one transaction under a row lock on the session.
//!
//! The lock makes concurrent rotations of one generation (several tabs, or a
//! retried request) queue up: the first rotates, the others then see a
//! generation superseded a moment ago and get the current one back, so
//! exactly one new generation exists however many callers raced.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::sessions::current_key_id;
use super::{Repository, SessionRow, StoreError, revoke_ids};
use crate::db::prepared::Prepared;
use crate::db::schema::{refresh_tokens, user_sessions};
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

async fn rotate_in_transaction(
    conn: &mut AsyncPgConnection,
    request: &RotateRequest,
    lifetimes: Lifetimes,
    now: DateTime<Utc>,
) -> Result<Rotation, StoreError> {
    let session_id = request.session_id.as_str();
    let session = user_sessions::table
        .find(session_id)
        .select(SessionRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(StoreError::NotFound)?;
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

    let presented = request.presented_generation;
    let (stored_hash, rotated_at) = refresh_tokens::table
        .filter(refresh_tokens::session_id.eq(session_id))
        .filter(refresh_tokens::generation.eq(Some(presented.get())))
        .select((refresh_tokens::token_hash, refresh_tokens::rotated_at))
        .first::<(String, Option<DateTime<Utc>>)>(conn)
        .await
        .optional()?
        .ok_or(StoreError::GenerationNotFound)?;
    if !request.presented_hash.matches(&stored_hash) {
        return Ok(Rotation::without_token(
            RotateOutcome::TokenMismatch,
            session,
        ));
    }

    let current = Generation::from_db(session.current_generation);
    if presented == current {
        let next = current.next();
        Prepared(
            diesel::update(
                refresh_tokens::table
                    .filter(refresh_tokens::session_id.eq(session_id))
                    .filter(refresh_tokens::generation.eq(Some(current.get()))),
            )
            .set(refresh_tokens::rotated_at.eq(Some(now))),
        )
        .execute(conn)
        .await?;
        diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::session_id.eq(session_id),
                refresh_tokens::token_hash.eq(request.next_hash.as_str()),
                refresh_tokens::created_at.eq(now),
                refresh_tokens::generation.eq(Some(next.get())),
                refresh_tokens::key_id.eq(Some(request.next_key_id.as_str())),
                refresh_tokens::expires_at.eq(Some(lifetimes.lifetime_end(session.created_at))),
            ))
            .execute(conn)
            .await?;
        let session = Prepared(
            diesel::update(user_sessions::table.find(session_id))
                .set((
                    user_sessions::current_generation.eq(next.get()),
                    user_sessions::last_seen_at.eq(now),
                ))
                .returning(SessionRow::as_returning()),
        )
        .get_result(conn)
        .await?;
        return Ok(Rotation {
            outcome: RotateOutcome::Rotated,
            session,
            current: Some((next, request.next_key_id.as_str().to_owned())),
        });
    }

    let within_grace = presented < current
        && rotated_at.is_some_and(|rotated_at| now - rotated_at < request.reuse_interval);
    if within_grace {
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
