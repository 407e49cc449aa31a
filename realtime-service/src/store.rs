//! The session-store adapter: the only module of realtime-service that knows
//! session-store's gRPC (prost) types and tonic status codes. Everything
//! else speaks in the service's own terms: [`SessionLookup`], an owner,
//! "no bridged session", membership answers, [`StoreUnavailable`].
//!
//! Readiness asks the standard gRPC health service (tonic-health), which
//! session-store serves next to its API and flips to NOT_SERVING when it
//! shuts down, instead of calling the API with a made-up session id.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use nexus_common::store_client::{BearerToken, GroupClient, StoreClient, StoreClientConfig};
use nexus_proto::session_v1 as pb;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use nexus_domain::SessionStatus;

use crate::domain::ids::{SessionId, UserId};

/// Most memberships asked in one CheckMemberships call (session-store's cap).
pub use nexus_domain::limits::MAX_MEMBERSHIP_CHECKS as MEMBERSHIP_BATCH;
/// Most ids one `ValidateSessions` call takes (session-store's limit).
pub use nexus_domain::limits::VALIDATE_BATCH_MAX;
/// How long the readiness probe waits for the health answer.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

/// What session-store says of a session: its status, or that it does not
/// know it (purged, or never existed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionLookup {
    Known(SessionStatus),
    Unknown,
}

impl SessionLookup {
    pub const ACTIVE: Self = Self::Known(SessionStatus::Active);

    /// The reason sent to clients in `session:revoked`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Known(SessionStatus::Active) => "active",
            Self::Known(SessionStatus::Revoked) => "session_revoked",
            Self::Known(SessionStatus::Expired) => "session_expired",
            Self::Unknown => "session_unknown",
        }
    }
}

/// session-store could not answer (down, overloaded, or it refused the
/// call); callers then change nothing and the client retries.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("session-store did not answer")]
pub struct StoreUnavailable;

/// The gRPC clients of session-store (sessions, groups, health), cheap to
/// clone: they share lazily connecting channels.
#[derive(Clone)]
pub struct SessionStore {
    sessions: StoreClient,
    groups: GroupClient,
    health: HealthClient<InterceptedService<Channel, BearerToken>>,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionStore")
    }
}

impl SessionStore {
    /// Lazily connecting clients: never fails because session-store is down,
    /// only on a malformed URL or token.
    pub fn connect_lazy(config: &StoreClientConfig) -> anyhow::Result<Self> {
        let health_channel = Endpoint::from_shared(config.url.clone())
            .with_context(|| format!("SESSION_STORE_URL={:?} is not a URL", config.url))?
            .connect_timeout(HEALTH_TIMEOUT)
            .timeout(HEALTH_TIMEOUT)
            .connect_lazy();
        Ok(Self {
            sessions: nexus_common::store_client::connect_lazy(config)?,
            groups: nexus_common::store_client::connect_groups_lazy(config)?,
            health: HealthClient::with_interceptor(
                health_channel,
                BearerToken::new(config.token.as_deref())?,
            ),
        })
    }

    /// A session's state and owner (`None` when session-store does not know
    /// the session).
    pub async fn session(
        &self,
        session: &SessionId,
    ) -> Result<(SessionLookup, Option<String>), StoreUnavailable> {
        let request = pb::ValidateSessionRequest {
            session_id: session.as_str().to_owned(),
        };
        match self.sessions.clone().validate_session(request).await {
            Ok(response) => {
                let session = response.into_inner();
                Ok((state_of(&session), Some(session.user_id)))
            }
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => {
                Ok((SessionLookup::Unknown, None))
            }
            Err(status) => Err(unavailable(&status)),
        }
    }

    /// The state of many sessions (at most [`VALIDATE_BATCH_MAX`]) in one
    /// `ValidateSessions` call, in the order given. Should session-store
    /// refuse the batch as malformed (an id of a shape it does not take),
    /// or not know the call yet, each session is asked about alone, so one
    /// odd id cannot hide the others' revocation.
    pub async fn sessions(
        &self,
        sessions: &[SessionId],
    ) -> Result<Vec<SessionLookup>, StoreUnavailable> {
        let request = pb::ValidateSessionsRequest {
            session_ids: sessions
                .iter()
                .map(|session| session.as_str().to_owned())
                .collect(),
        };
        match self.sessions.clone().validate_sessions(request).await {
            Ok(response) => {
                let states: HashMap<String, SessionLookup> = response
                    .into_inner()
                    .sessions
                    .iter()
                    .map(|session| (session.id.clone(), state_of(session)))
                    .collect();
                Ok(sessions
                    .iter()
                    .map(|session| {
                        states
                            .get(session.as_str())
                            .copied()
                            .unwrap_or(SessionLookup::Unknown)
                    })
                    .collect())
            }
            // A session-store from before ValidateSessions (rolling upgrade)
            // answers UNIMPLEMENTED.
            Err(status) if matches!(status.code(), Code::InvalidArgument | Code::Unimplemented) => {
                tracing::warn!(
                    code = ?status.code(),
                    message = status.message(),
                    "re-check: ValidateSessions refused a batch; asking one by one"
                );
                let mut states = Vec::with_capacity(sessions.len());
                for session in sessions {
                    states.push(self.session(session).await?.0);
                }
                Ok(states)
            }
            Err(status) => Err(unavailable(&status)),
        }
    }

    /// The live backend session bridged from `user`'s Supabase session, or
    /// `None` when there is none.
    pub async fn bridged_session(
        &self,
        user: &UserId,
        supabase_session: String,
    ) -> Result<Option<String>, StoreUnavailable> {
        let request = pb::FindBridgedSessionRequest {
            user_id: user.as_str().to_owned(),
            supabase_session_id: supabase_session,
        };
        match self.sessions.clone().find_bridged_session(request).await {
            Ok(response) => Ok(Some(response.into_inner().id)),
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => {
                Ok(None)
            }
            Err(status) => Err(unavailable(&status)),
        }
    }

    /// Which of the (group id, user id) pairs are memberships now, in
    /// batches of [`MEMBERSHIP_BATCH`]; `None` when session-store cannot say
    /// (callers then change nothing).
    pub async fn memberships(&self, pairs: &[(String, String)]) -> Option<Vec<bool>> {
        let mut answers = Vec::with_capacity(pairs.len());
        for chunk in pairs.chunks(MEMBERSHIP_BATCH) {
            let request = pb::CheckMembershipsRequest {
                memberships: chunk
                    .iter()
                    .map(|(group_id, user_id)| pb::Membership {
                        group_id: group_id.clone(),
                        user_id: user_id.clone(),
                    })
                    .collect(),
            };
            match self.groups.clone().check_memberships(request).await {
                Ok(response) => {
                    let found = response.into_inner().is_member;
                    if found.len() != chunk.len() {
                        tracing::warn!(
                            "session-store answered a membership batch of the wrong size"
                        );
                        return None;
                    }
                    answers.extend(found);
                }
                Err(status) => {
                    tracing::warn!(code = ?status.code(), message = status.message(), "group memberships cannot be checked");
                    return None;
                }
            }
        }
        Some(answers)
    }

    /// Whether session-store's health service reports the session API as
    /// SERVING (for `/readyz`).
    pub async fn is_serving(&self) -> bool {
        let request = tonic_health::pb::HealthCheckRequest {
            service: pb::session_store_server::SERVICE_NAME.to_owned(),
        };
        matches!(
            self.health.clone().check(request).await,
            Ok(response) if response.get_ref().status() == ServingStatus::Serving
        )
    }
}

fn state_of(session: &pb::Session) -> SessionLookup {
    match session.status() {
        pb::SessionStatus::Active => SessionLookup::ACTIVE,
        pb::SessionStatus::Revoked => SessionLookup::Known(SessionStatus::Revoked),
        pb::SessionStatus::Expired => SessionLookup::Known(SessionStatus::Expired),
        pb::SessionStatus::Unspecified => SessionLookup::Unknown,
    }
}

fn unavailable(status: &tonic::Status) -> StoreUnavailable {
    tracing::warn!(code = ?status.code(), message = status.message(), "session-store call failed");
    StoreUnavailable
}
