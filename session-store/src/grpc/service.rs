//! The `nexus.session.v1.SessionStore` handlers: parse, call the repository,
//! convert back. No handler holds state beyond the repository.

use nexus_proto::session_v1 as pb;
use nexus_proto::session_v1::session_store_server::SessionStore;
use tonic::{Request, Response, Status};

use super::convert;
use crate::domain::{InvalidInput, RecordedReason, SessionId, SupabaseSessionId, UserId};
use crate::repository::{NewSession, Repository, RotationRequest, VALIDATE_BATCH_MAX};

#[derive(Clone)]
pub struct SessionStoreService {
    repository: Repository,
}

impl SessionStoreService {
    pub fn new(repository: Repository) -> Self {
        Self { repository }
    }
}

#[tonic::async_trait]
impl SessionStore for SessionStoreService {
    async fn create_session(
        &self,
        request: Request<pb::CreateSessionRequest>,
    ) -> Result<Response<pb::CreateSessionResponse>, Status> {
        let new = NewSession::try_from(request.into_inner())?;
        let created = self.repository.create_session(&new).await?;
        tracing::info!(
            session_id = %created.state.session.id,
            created = created.created,
            "create session"
        );
        let lifetimes = self.repository.lifetimes();
        Ok(Response::new(pb::CreateSessionResponse {
            state: Some(convert::refresh_state(created.state, &lifetimes)),
            created: created.created,
            evicted: created
                .evicted
                .into_iter()
                .map(|row| convert::session(row, &lifetimes))
                .collect(),
        }))
    }

    async fn find_bridged_session(
        &self,
        request: Request<pb::FindBridgedSessionRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        let request = request.into_inner();
        let user_id = UserId::parse(&request.user_id).map_err(InvalidInput::from)?;
        let supabase_session_id = SupabaseSessionId::parse(request.supabase_session_id)?;
        let row = self
            .repository
            .find_bridged(&user_id, &supabase_session_id)
            .await?;
        Ok(Response::new(convert::session(
            row,
            &self.repository.lifetimes(),
        )))
    }

    async fn get_refresh_state(
        &self,
        request: Request<pb::GetRefreshStateRequest>,
    ) -> Result<Response<pb::RefreshState>, Status> {
        let session_id =
            SessionId::parse(&request.into_inner().session_id).map_err(InvalidInput::from)?;
        let state = self.repository.refresh_state(&session_id).await?;
        Ok(Response::new(convert::refresh_state(
            state,
            &self.repository.lifetimes(),
        )))
    }

    async fn rotate_refresh_token(
        &self,
        request: Request<pb::RotateRefreshTokenRequest>,
    ) -> Result<Response<pb::RotateRefreshTokenResponse>, Status> {
        let request = RotationRequest::try_from(request.into_inner())?;
        let rotation = self.repository.rotate(&request).await?;
        tracing::info!(
            session_id = %rotation.session.id,
            outcome = ?rotation.outcome,
            "rotate refresh token"
        );
        let (current_generation, current_key_id) = rotation
            .current
            .map(|(generation, key_id)| (generation.get(), key_id))
            .unwrap_or_default();
        Ok(Response::new(pb::RotateRefreshTokenResponse {
            outcome: convert::rotate_outcome(rotation.outcome).into(),
            session: Some(convert::session(
                rotation.session,
                &self.repository.lifetimes(),
            )),
            current_generation,
            current_key_id,
        }))
    }

    async fn validate_session(
        &self,
        request: Request<pb::ValidateSessionRequest>,
    ) -> Result<Response<pb::Session>, Status> {
        let session_id =
            SessionId::parse(&request.into_inner().session_id).map_err(InvalidInput::from)?;
        let row = self.repository.validate(&session_id).await?;
        Ok(Response::new(convert::session(
            row,
            &self.repository.lifetimes(),
        )))
    }

    async fn validate_sessions(
        &self,
        request: Request<pb::ValidateSessionsRequest>,
    ) -> Result<Response<pb::ValidateSessionsResponse>, Status> {
        let raw = request.into_inner().session_ids;
        if raw.len() > VALIDATE_BATCH_MAX {
            return Err(Status::invalid_argument(format!(
                "session_ids: at most {VALIDATE_BATCH_MAX} ids per call, got {}",
                raw.len()
            )));
        }
        let mut ids = Vec::with_capacity(raw.len());
        let mut seen = std::collections::HashSet::with_capacity(raw.len());
        for (index, id) in raw.into_iter().enumerate() {
            let id = SessionId::parse(&id).map_err(|error| {
                Status::invalid_argument(format!("session_ids[{index}]: {}", error.problem))
            })?;
            if seen.insert(id.clone()) {
                ids.push(id);
            }
        }
        let rows = self.repository.validate_many(&ids).await?;
        let found: std::collections::HashSet<&str> =
            rows.iter().map(|row| row.id.as_str()).collect();
        let unknown_ids = ids
            .iter()
            .filter(|id| !found.contains(id.as_str()))
            .map(|id| id.as_str().to_owned())
            .collect();
        let lifetimes = self.repository.lifetimes();
        Ok(Response::new(pb::ValidateSessionsResponse {
            sessions: rows
                .into_iter()
                .map(|row| convert::session(row, &lifetimes))
                .collect(),
            unknown_ids,
        }))
    }

    async fn revoke_session(
        &self,
        request: Request<pb::RevokeSessionRequest>,
    ) -> Result<Response<pb::RevokeSessionResponse>, Status> {
        let request = request.into_inner();
        let session_id = SessionId::parse(&request.session_id).map_err(InvalidInput::from)?;
        let user_id = UserId::parse(&request.user_id).map_err(InvalidInput::from)?;
        let reason = RecordedReason::parse(&request.reason)?;
        let (revoked, row) = self
            .repository
            .revoke_session(&session_id, &user_id, &reason)
            .await?;
        tracing::info!(%session_id, revoked, reason = reason.as_str(), "revoke session");
        Ok(Response::new(pb::RevokeSessionResponse {
            revoked,
            session: Some(convert::session(row, &self.repository.lifetimes())),
        }))
    }

    async fn revoke_user_sessions(
        &self,
        request: Request<pb::RevokeUserSessionsRequest>,
    ) -> Result<Response<pb::RevokeUserSessionsResponse>, Status> {
        let request = request.into_inner();
        let user_id = UserId::parse(&request.user_id).map_err(InvalidInput::from)?;
        let except = request
            .except_session_id
            .filter(|id| !id.is_empty())
            .map(|id| SessionId::parse(&id))
            .transpose()
            .map_err(InvalidInput::from)?;
        let reason = RecordedReason::parse(&request.reason)?;
        let rows = self
            .repository
            .revoke_user_sessions(&user_id, except.as_ref(), &reason)
            .await?;
        tracing::info!(%user_id, count = rows.len(), reason = reason.as_str(), "revoke user sessions");
        let lifetimes = self.repository.lifetimes();
        Ok(Response::new(pb::RevokeUserSessionsResponse {
            revoked: rows
                .into_iter()
                .map(|row| convert::session(row, &lifetimes))
                .collect(),
        }))
    }

    async fn list_user_sessions(
        &self,
        request: Request<pb::ListUserSessionsRequest>,
    ) -> Result<Response<pb::ListUserSessionsResponse>, Status> {
        let request = request.into_inner();
        let user_id = UserId::parse(&request.user_id).map_err(InvalidInput::from)?;
        let rows = self
            .repository
            .list(&user_id, request.include_ended)
            .await?;
        let lifetimes = self.repository.lifetimes();
        Ok(Response::new(pb::ListUserSessionsResponse {
            sessions: rows
                .into_iter()
                .map(|row| convert::session(row, &lifetimes))
                .collect(),
        }))
    }
}
