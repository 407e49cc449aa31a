//! The session-store gRPC adapter: the only place that knows prost types.
//!
//! Implements the session-store port (`ports::sessions`): converts
//! answers into domain values at the edge and gRPC statuses into the port's
//! small error enum, so the use cases never see `tonic::Status`. An unreachable or
//! overloaded session-store is `Unavailable` (503), never a 500; the channel
//! is lazy and reconnects by itself, so the service recovers without restart.

use nexus_domain::RevokeReason;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use nexus_common::store_client::{BearerToken, StoreClient, StoreClientConfig};
use nexus_proto::session_v1 as pb;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::domain::{Generation, RefreshSecret, SessionId, UserId};
use crate::metrics;
use crate::ports::sessions::{
    CreatedSession, NewSession, RefreshState, RotationOutcome, RotationRequest, SessionStatus,
    SessionStorePort, SessionView, StoreCallError,
};

impl From<tonic::Status> for StoreCallError {
    fn from(status: tonic::Status) -> Self {
        match status.code() {
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Unknown => {
                Self::Unavailable(format!("{:?}: {}", status.code(), status.message()))
            }
            Code::NotFound => Self::NotFound,
            Code::InvalidArgument
            | Code::FailedPrecondition
            | Code::OutOfRange
            | Code::AlreadyExists => Self::Rejected(status.message().to_owned()),
            _ => Self::Internal(anyhow::anyhow!(
                "session-store answered {:?}: {}",
                status.code(),
                status.message()
            )),
        }
    }
}

fn time(timestamp: Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    timestamp.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
}

impl TryFrom<pb::Session> for SessionView {
    type Error = anyhow::Error;

    fn try_from(session: pb::Session) -> anyhow::Result<Self> {
        let status = match session.status() {
            pb::SessionStatus::Active => SessionStatus::Active,
            pb::SessionStatus::Revoked => SessionStatus::Revoked,
            pb::SessionStatus::Expired => SessionStatus::Expired,
            pb::SessionStatus::Unspecified => {
                anyhow::bail!("session-store sent a session without status")
            }
        };
        Ok(Self {
            id: SessionId::parse(&session.id).context("session-store sent a bad session id")?,
            user_id: UserId::parse(&session.user_id).context("session-store sent a bad user id")?,
            user_agent: session.user_agent,
            ip_address: session.ip_address,
            created_at: time(session.created_at),
            last_seen_at: time(session.last_seen_at),
            revoked_at: time(session.revoked_at),
            revoked_reason: session.revoked_reason,
            status,
            expires_at: time(session.expires_at),
        })
    }
}

fn session(session: Option<pb::Session>) -> Result<SessionView, StoreCallError> {
    Ok(session
        .context("session-store sent no session")?
        .try_into()?)
}

impl TryFrom<pb::RefreshState> for RefreshState {
    type Error = StoreCallError;

    fn try_from(state: pb::RefreshState) -> Result<Self, StoreCallError> {
        Ok(Self {
            session: session(state.session)?,
            secret: RefreshSecret::from_bytes(&state.refresh_secret)
                .context("session-store sent a bad secret")?,
            generation: Generation::new(state.current_generation)
                .context("session-store sent generation 0")?,
            key_id: state.current_key_id,
        })
    }
}

/// The session-store client (cheap to clone).
#[derive(Clone)]
pub struct SessionStore {
    client: StoreClient,
    health: HealthClient<InterceptedService<Channel, BearerToken>>,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionStore")
    }
}

impl SessionStore {
    /// A lazily connecting client: never fails because session-store is down.
    pub fn connect_lazy(config: &StoreClientConfig) -> anyhow::Result<Self> {
        let client = nexus_common::store_client::connect_lazy(config)?;
        let channel = Endpoint::from_shared(config.url.clone())
            .with_context(|| format!("SESSION_STORE_URL={:?} is not a URL", config.url))?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(2))
            .connect_lazy();
        let health =
            HealthClient::with_interceptor(channel, BearerToken::new(config.token.as_deref())?);
        Ok(Self { client, health })
    }
}

impl SessionStorePort for SessionStore {
    /// Whether session-store answers its health check with SERVING.
    fn is_healthy(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            let request = tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            };
            matches!(
                self.health.clone().check(request).await,
                Ok(response) if response.get_ref().status() == ServingStatus::Serving
            )
        })
    }

    /// Creates (or returns the live) session; see [`CreatedSession`].
    fn create_session<'a>(
        &'a self,
        new: NewSession<'a>,
    ) -> BoxFuture<'a, Result<CreatedSession, StoreCallError>> {
        Box::pin(async move {
            metrics::store_call("create_session");
            let request = pb::CreateSessionRequest {
                user_id: new.user.to_string(),
                user_agent: new.user_agent,
                ip_address: new.ip_address,
                supabase_session_id: new.supabase_session_id,
                refresh_secret: new.secret.as_bytes().to_vec(),
                token_hash: new.token_hash.into_string(),
                key_id: new.key_id.to_owned(),
            };
            let response = self
                .client
                .clone()
                .create_session(request)
                .await?
                .into_inner();
            let state = response
                .state
                .context("session-store sent no refresh state")?
                .try_into()?;
            let evicted = response
                .evicted
                .into_iter()
                .map(|s| session(Some(s)))
                .collect::<Result<_, _>>()?;
            Ok(CreatedSession {
                state,
                created: response.created,
                evicted,
            })
        })
    }

    fn refresh_state<'a>(
        &'a self,
        session: &'a SessionId,
    ) -> BoxFuture<'a, Result<RefreshState, StoreCallError>> {
        Box::pin(async move {
            metrics::store_call("get_refresh_state");
            let request = pb::GetRefreshStateRequest {
                session_id: session.to_string(),
            };
            self.client
                .clone()
                .get_refresh_state(request)
                .await?
                .into_inner()
                .try_into()
        })
    }

    fn rotate<'a>(
        &'a self,
        rotation: RotationRequest<'a>,
    ) -> BoxFuture<'a, Result<RotationOutcome, StoreCallError>> {
        Box::pin(async move {
            metrics::store_call("rotate_refresh_token");
            let request = pb::RotateRefreshTokenRequest {
                session_id: rotation.session.to_string(),
                presented_generation: rotation.generation.get(),
                presented_token_hash: rotation.presented_hash.as_str().to_owned(),
                next_token_hash: rotation.next_hash.into_string(),
                next_key_id: rotation.next_key_id.to_owned(),
                reuse_interval_ms: u64::try_from(rotation.reuse_interval.as_millis())
                    .unwrap_or(u64::MAX),
            };
            let response = self
                .client
                .clone()
                .rotate_refresh_token(request)
                .await?
                .into_inner();
            let outcome = response.outcome();
            let current = |rotated: bool| -> Result<RotationOutcome, StoreCallError> {
                Ok(RotationOutcome::Current {
                    session: session(response.session.clone())?,
                    generation: Generation::new(response.current_generation)
                        .context("session-store sent generation 0")?,
                    key_id: response.current_key_id.clone(),
                    rotated,
                })
            };
            match outcome {
                pb::RotateOutcome::Rotated => current(true),
                pb::RotateOutcome::CurrentReturned => current(false),
                pb::RotateOutcome::ReuseDetected => Ok(RotationOutcome::ReuseDetected(
                    response.session.clone().and_then(|s| s.try_into().ok()),
                )),
                pb::RotateOutcome::SessionRevoked => Ok(RotationOutcome::Revoked),
                pb::RotateOutcome::SessionExpired => Ok(RotationOutcome::Expired),
                pb::RotateOutcome::TokenMismatch => Ok(RotationOutcome::Mismatch),
                pb::RotateOutcome::Unspecified => Err(StoreCallError::Internal(anyhow::anyhow!(
                    "session-store sent no rotation outcome"
                ))),
            }
        })
    }

    fn validate<'a>(
        &'a self,
        session_id: &'a SessionId,
    ) -> BoxFuture<'a, Result<SessionView, StoreCallError>> {
        Box::pin(async move {
            metrics::store_call("validate_session");
            let request = pb::ValidateSessionRequest {
                session_id: session_id.to_string(),
            };
            session(Some(
                self.client
                    .clone()
                    .validate_session(request)
                    .await?
                    .into_inner(),
            ))
        })
    }

    /// Revokes one session of `user`; `NotFound` for another user's session.
    fn revoke<'a>(
        &'a self,
        session_id: &'a SessionId,
        user: &'a UserId,
        reason: RevokeReason,
    ) -> BoxFuture<'a, Result<(bool, SessionView), StoreCallError>> {
        Box::pin(async move {
            metrics::store_call("revoke_session");
            let request = pb::RevokeSessionRequest {
                session_id: session_id.to_string(),
                user_id: user.to_string(),
                reason: reason.as_str().to_owned(),
            };
            let response = self
                .client
                .clone()
                .revoke_session(request)
                .await?
                .into_inner();
            Ok((response.revoked, session(response.session)?))
        })
    }

    /// Revokes every live session of `user` except `keep`; returns those it revoked.
    fn revoke_all<'a>(
        &'a self,
        user: &'a UserId,
        keep: Option<&'a SessionId>,
        reason: RevokeReason,
    ) -> BoxFuture<'a, Result<Vec<SessionView>, StoreCallError>> {
        Box::pin(async move {
            metrics::store_call("revoke_user_sessions");
            let request = pb::RevokeUserSessionsRequest {
                user_id: user.to_string(),
                except_session_id: keep.map(ToString::to_string),
                reason: reason.as_str().to_owned(),
            };
            let response = self
                .client
                .clone()
                .revoke_user_sessions(request)
                .await?
                .into_inner();
            response
                .revoked
                .into_iter()
                .map(|s| session(Some(s)))
                .collect()
        })
    }

    fn list<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<SessionView>, StoreCallError>> {
        Box::pin(async move {
            metrics::store_call("list_user_sessions");
            let request = pb::ListUserSessionsRequest {
                user_id: user.to_string(),
                include_ended: false,
            };
            let response = self
                .client
                .clone()
                .list_user_sessions(request)
                .await?
                .into_inner();
            response
                .sessions
                .into_iter()
                .map(|s| session(Some(s)))
                .collect()
        })
    }
}
