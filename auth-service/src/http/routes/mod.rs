//! Route handlers, one file per use case (`crate::app`); each file registers its routes
//! and OpenAPI operations through a `ROUTES` value (`http::route_module`).

pub mod bridge;
pub mod groups;
pub mod logout;
pub mod ops;
pub mod refresh;
pub mod sessions;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ports::{SessionStatus, SessionView};

/// A session as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionBody {
    pub id: String,
    pub user_id: String,
    pub status: SessionStatus,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<bool>,
}

impl SessionBody {
    pub fn new(session: &SessionView, current: Option<bool>) -> Self {
        Self {
            id: session.id.to_string(),
            user_id: session.user_id.to_string(),
            status: session.status,
            user_agent: session.user_agent.clone(),
            ip_address: session.ip_address.clone(),
            created_at: session.created_at,
            last_seen_at: session.last_seen_at,
            expires_at: session.expires_at,
            current,
        }
    }
}
