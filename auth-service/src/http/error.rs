//! One error type for every handler and the one place it becomes a status
//! and an envelope: each use case's error enum (`app`) maps into it
//! here, so a status code or message is decided in one file.
//!
//! Client mistakes say what was wrong (never echoing a token); dependency
//! failures are 503 so clients retry; only real bugs are 500, with an opaque
//! body and the cause in the log.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use nexus_tokens::TokenError;

use crate::app::bridge::BridgeError;
use crate::app::caller::{CallerError, SessionEnded};
use crate::app::groups::GroupsError;
use crate::app::logout::{InvalidScope, LogoutError};
use crate::app::refresh::RefreshError;
use crate::app::sessions::SessionsError;
use crate::http::envelope::Failure;
use crate::keys::refresh::RefreshTokenError;
use crate::ports::{GroupStoreError, StoreCallError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("Request bodies must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("Invalid Supabase token: {0}")]
    SupabaseToken(TokenError),
    #[error("Invalid access token: {0}")]
    AccessToken(TokenError),
    #[error("Not authenticated: {0}")]
    NotAuthenticated(&'static str),
    #[error("Invalid refresh token: {0}")]
    RefreshToken(RefreshTokenError),
    #[error("Invalid refresh token")]
    RefreshTokenRejected,
    #[error("Refresh token reuse detected: the session has been revoked")]
    RefreshReuse,
    #[error(
        "This refresh token uses a key this server does not hold yet (a key change is rolling out); retry shortly"
    )]
    RefreshKeyUnknown,
    #[error("The session has been revoked")]
    SessionRevoked,
    #[error("The session has expired")]
    SessionExpired,
    #[error("Origin {0:?} is not allowed")]
    OriginNotAllowed(String),
    #[error("Requests authenticated by cookie must carry an allowed Origin header")]
    OriginRequired,
    #[error("Session not found")]
    SessionNotFound,
    #[error("Group not found")]
    GroupNotFound,
    #[error("Member not found")]
    MemberNotFound,
    #[error("{0}")]
    GroupForbidden(String),
    #[error("{0}")]
    OwnerCannotLeave(String),
    #[error("{0}")]
    GroupLimit(String),
    #[error("Group chats are not configured on this server (no ROOM_GRANT_KEYS)")]
    GroupChatsDisabled,
    #[error("Too many requests, retry in {0} s")]
    RateLimited(u64),
    #[error("A dependency is unavailable, please retry")]
    Unavailable(String),
    #[error("Internal server error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// The stable code in the envelope's `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::SupabaseToken(error) | Self::AccessToken(error) => error.code(),
            Self::NotAuthenticated(_) => "not_authenticated",
            Self::RefreshToken(_) | Self::RefreshTokenRejected => "invalid_refresh_token",
            Self::RefreshReuse => "refresh_token_reuse",
            Self::RefreshKeyUnknown => "refresh_key_unknown",
            Self::SessionRevoked => "session_revoked",
            Self::SessionExpired => "session_expired",
            Self::OriginNotAllowed(_) => "origin_not_allowed",
            Self::OriginRequired => "origin_required",
            Self::SessionNotFound => "session_not_found",
            Self::GroupNotFound => "group_not_found",
            Self::MemberNotFound => "member_not_found",
            Self::GroupForbidden(_) => "forbidden",
            Self::OwnerCannotLeave(_) => "owner_cannot_leave",
            Self::GroupLimit(_) => "group_limit",
            Self::GroupChatsDisabled => "group_chats_disabled",
            Self::RateLimited(_) => "rate_limited",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// Whether the client's tokens are dead and its cookies should go.
    pub fn ends_session(&self) -> bool {
        matches!(
            self,
            Self::RefreshToken(_)
                | Self::RefreshTokenRejected
                | Self::RefreshReuse
                | Self::SessionRevoked
                | Self::SessionExpired
                | Self::NotAuthenticated(_)
        )
    }
}

impl From<StoreCallError> for ApiError {
    fn from(error: StoreCallError) -> Self {
        match error {
            StoreCallError::Unavailable(detail) => Self::Unavailable(detail),
            StoreCallError::NotFound => Self::SessionNotFound,
            StoreCallError::Rejected(message) => Self::BadRequest(message),
            StoreCallError::Internal(error) => Self::Internal(error),
        }
    }
}

impl From<GroupStoreError> for ApiError {
    fn from(error: GroupStoreError) -> Self {
        match error {
            GroupStoreError::GroupNotFound => Self::GroupNotFound,
            GroupStoreError::MemberNotFound => Self::MemberNotFound,
            GroupStoreError::Forbidden(message) => Self::GroupForbidden(message),
            GroupStoreError::Conflict(message) => Self::OwnerCannotLeave(message),
            GroupStoreError::Limit(message) => Self::GroupLimit(message),
            GroupStoreError::Store(error) => error.into(),
        }
    }
}

impl From<SessionEnded> for ApiError {
    fn from(ended: SessionEnded) -> Self {
        match ended {
            SessionEnded::Revoked => Self::SessionRevoked,
            SessionEnded::Expired => Self::SessionExpired,
        }
    }
}

impl From<CallerError> for ApiError {
    fn from(error: CallerError) -> Self {
        match error {
            CallerError::AccessToken(error) => Self::AccessToken(error),
            CallerError::Ended(ended) => ended.into(),
            CallerError::Store(error) => error.into(),
        }
    }
}

impl From<BridgeError> for ApiError {
    fn from(error: BridgeError) -> Self {
        match error {
            BridgeError::SupabaseToken(error) => Self::SupabaseToken(error),
            BridgeError::RefreshKeyUnknown => Self::RefreshKeyUnknown,
            BridgeError::Store(error) => error.into(),
            BridgeError::Internal(error) => Self::Internal(error),
        }
    }
}

impl From<RefreshError> for ApiError {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::Token(error) => Self::RefreshToken(error),
            RefreshError::KeyUnknown => Self::RefreshKeyUnknown,
            RefreshError::Rejected => Self::RefreshTokenRejected,
            RefreshError::Reuse => Self::RefreshReuse,
            RefreshError::Ended(ended) => ended.into(),
            RefreshError::Store(error) => error.into(),
            RefreshError::Internal(error) => Self::Internal(error),
        }
    }
}

impl From<InvalidScope> for ApiError {
    fn from(error: InvalidScope) -> Self {
        Self::BadRequest(error.to_string())
    }
}

impl From<LogoutError> for ApiError {
    fn from(error: LogoutError) -> Self {
        match error {
            LogoutError::Store(error) => error.into(),
        }
    }
}

impl From<SessionsError> for ApiError {
    fn from(error: SessionsError) -> Self {
        match error {
            SessionsError::NotFound => Self::SessionNotFound,
            SessionsError::Store(error) => error.into(),
        }
    }
}

impl From<GroupsError> for ApiError {
    fn from(error: GroupsError) -> Self {
        match error {
            GroupsError::Store(error) => error.into(),
            GroupsError::GrantsDisabled => Self::GroupChatsDisabled,
            GroupsError::Internal(error) => Self::Internal(error),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::SupabaseToken(error) | Self::AccessToken(error) if error.is_unavailable() => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::SupabaseToken(_)
            | Self::AccessToken(_)
            | Self::NotAuthenticated(_)
            | Self::RefreshToken(_)
            | Self::RefreshTokenRejected
            | Self::RefreshReuse
            | Self::SessionRevoked
            | Self::SessionExpired => StatusCode::UNAUTHORIZED,
            Self::OriginNotAllowed(_) | Self::OriginRequired => StatusCode::FORBIDDEN,
            Self::SessionNotFound | Self::GroupNotFound | Self::MemberNotFound => {
                StatusCode::NOT_FOUND
            }
            Self::GroupForbidden(_) => StatusCode::FORBIDDEN,
            Self::OwnerCannotLeave(_) | Self::GroupLimit(_) => StatusCode::CONFLICT,
            Self::GroupChatsDisabled => StatusCode::SERVICE_UNAVAILABLE,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::RefreshKeyUnknown => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
            }
            Self::Unavailable(detail) => {
                tracing::warn!(%detail, "dependency unavailable");
            }
            other => {
                tracing::info!(error = other.code(), "request refused");
            }
        }
        let message = self.to_string();
        let mut response =
            HttpResponse::build(self.status_code()).json(Failure::new(&message, self.code()));
        let retry_after = match self {
            Self::RateLimited(seconds) => Some(*seconds),
            Self::RefreshKeyUnknown => Some(5),
            _ => None,
        };
        if let Some(seconds) = retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
