//! prost <-> domain conversions, at the edge only.

use chrono::{DateTime, Utc};
use nexus_proto::session_v1 as pb;

use crate::domain::SessionId;
use crate::domain::{
    Generation, InvalidInput, IpAddress, KeyId, Lifetimes, RefreshSecret, SessionStatus,
    SupabaseSessionId, TokenHash, UserAgent, UserId,
};
use crate::repository::{NewSession, RefreshState, RotateOutcome, RotationRequest, SessionRow};

/// Longest reuse interval accepted (a day): longer would defeat reuse detection.
const MAX_REUSE_INTERVAL_MS: u64 = 86_400_000;

impl TryFrom<pb::CreateSessionRequest> for NewSession {
    type Error = InvalidInput;

    fn try_from(request: pb::CreateSessionRequest) -> Result<Self, Self::Error> {
        Ok(Self {
            user_id: UserId::parse(&request.user_id)?,
            user_agent: request.user_agent.as_deref().and_then(UserAgent::parse),
            ip_address: request
                .ip_address
                .as_deref()
                .filter(|ip| !ip.trim().is_empty())
                .map(IpAddress::parse)
                .transpose()?,
            supabase_session_id: request
                .supabase_session_id
                .filter(|id| !id.is_empty())
                .map(SupabaseSessionId::parse)
                .transpose()?,
            refresh_secret: RefreshSecret::parse(&request.refresh_secret)?,
            token_hash: TokenHash::parse("token_hash", &request.token_hash)?,
            key_id: KeyId::parse(request.key_id)?,
        })
    }
}

impl TryFrom<pb::RotateRefreshTokenRequest> for RotationRequest {
    type Error = InvalidInput;

    fn try_from(request: pb::RotateRefreshTokenRequest) -> Result<Self, Self::Error> {
        if request.reuse_interval_ms > MAX_REUSE_INTERVAL_MS {
            return Err(InvalidInput::new(
                "reuse_interval_ms",
                "must be at most one day",
            ));
        }
        let reuse_ms = i64::try_from(request.reuse_interval_ms).unwrap_or(0);
        Ok(Self {
            session_id: SessionId::parse(&request.session_id)?,
            presented_generation: Generation::new(request.presented_generation)
                .ok_or_else(|| InvalidInput::new("presented_generation", "must be 1 to 2^63-1"))?,
            presented_hash: TokenHash::parse(
                "presented_token_hash",
                &request.presented_token_hash,
            )?,
            next_hash: TokenHash::parse("next_token_hash", &request.next_token_hash)?,
            next_key_id: KeyId::parse(request.next_key_id).map_err(|_| {
                InvalidInput::new("next_key_id", "must be 1 to 64 printable characters")
            })?,
            reuse_interval: chrono::Duration::milliseconds(reuse_ms),
        })
    }
}

pub fn timestamp(instant: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: instant.timestamp(),
        nanos: i32::try_from(instant.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn status(status: SessionStatus) -> pb::SessionStatus {
    match status {
        SessionStatus::Active => pb::SessionStatus::Active,
        SessionStatus::Revoked => pb::SessionStatus::Revoked,
        SessionStatus::Expired => pb::SessionStatus::Expired,
    }
}

/// A session as the API shows it, with status and expiry computed now.
pub fn session(row: SessionRow, lifetimes: &Lifetimes) -> pb::Session {
    let now = Utc::now();
    let state = lifetimes.status(row.created_at, row.last_seen_at, row.revoked_at, now);
    pb::Session {
        id: row.id,
        user_id: row.user_id,
        user_agent: row.user_agent,
        ip_address: row.ip_address,
        created_at: Some(timestamp(row.created_at)),
        last_seen_at: Some(timestamp(row.last_seen_at)),
        revoked_at: row.revoked_at.map(timestamp),
        revoked_reason: row.revoked_reason,
        supabase_session_id: row.supabase_session_id,
        status: status(state).into(),
        expires_at: Some(timestamp(
            lifetimes.expires_at(row.created_at, row.last_seen_at),
        )),
    }
}

pub fn refresh_state(state: RefreshState, lifetimes: &Lifetimes) -> pb::RefreshState {
    pb::RefreshState {
        session: Some(session(state.session, lifetimes)),
        refresh_secret: state.refresh_secret,
        current_generation: state.current_generation.get(),
        current_key_id: state.current_key_id,
    }
}

pub fn rotate_outcome(outcome: RotateOutcome) -> pb::RotateOutcome {
    match outcome {
        RotateOutcome::Rotated => pb::RotateOutcome::Rotated,
        RotateOutcome::CurrentReturned => pb::RotateOutcome::CurrentReturned,
        RotateOutcome::ReuseDetected => pb::RotateOutcome::ReuseDetected,
        RotateOutcome::SessionRevoked => pb::RotateOutcome::SessionRevoked,
        RotateOutcome::SessionExpired => pb::RotateOutcome::SessionExpired,
        RotateOutcome::TokenMismatch => pb::RotateOutcome::TokenMismatch,
    }
}
