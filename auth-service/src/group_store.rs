//! The GroupStore gRPC adapter (`nexus.session.v1.GroupStore` on
//! session-store): prost stays here; handlers get domain views and a small
//! error enum that says what the rules refused.

use anyhow::Context;
use chrono::{DateTime, Utc};
use nexus_common::store_client::{GroupClient, StoreClientConfig};
use nexus_proto::session_v1 as pb;
use serde::Serialize;
use tonic::Code;
use utoipa::ToSchema;

use crate::domain::{GroupId, UserId};
use crate::metrics;
use crate::store::StoreCallError;

/// What a group call can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum GroupStoreError {
    /// No such group, or the caller is not in it (indistinguishable).
    #[error("group not found")]
    GroupNotFound,
    /// The group exists and the caller is in it, the target is not.
    #[error("member not found")]
    MemberNotFound,
    /// A member tried an owner's action.
    #[error("{0}")]
    Forbidden(String),
    /// The owner tried to leave.
    #[error("{0}")]
    Conflict(String),
    /// A cap was reached (members per group, groups per owner).
    #[error("{0}")]
    Limit(String),
    #[error(transparent)]
    Store(#[from] StoreCallError),
}

impl GroupStoreError {
    /// NOT_FOUND means "member not found" only when the message says so.
    fn from_status(status: tonic::Status) -> Self {
        match status.code() {
            Code::NotFound if status.message() == "member not found" => Self::MemberNotFound,
            Code::NotFound => Self::GroupNotFound,
            Code::PermissionDenied => Self::Forbidden(status.message().to_owned()),
            Code::FailedPrecondition => Self::Conflict(status.message().to_owned()),
            Code::ResourceExhausted => Self::Limit(status.message().to_owned()),
            _ => Self::Store(status.into()),
        }
    }
}

/// A member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupRole {
    Owner,
    Member,
}

/// A group as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub created_by: String,
    pub created_at: Option<DateTime<Utc>>,
}

/// A member as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: String,
    pub role: GroupRole,
    pub added_at: Option<DateTime<Utc>>,
}

fn time(timestamp: Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    timestamp.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
}

fn group(group: Option<pb::Group>) -> Result<GroupView, GroupStoreError> {
    let group = group
        .context("session-store sent no group")
        .map_err(StoreCallError::Internal)?;
    Ok(GroupView {
        id: group.id,
        name: group.name,
        created_by: group.created_by,
        created_at: time(group.created_at),
    })
}

fn member(member: pb::GroupMember) -> MemberView {
    MemberView {
        role: match member.role() {
            pb::GroupRole::Owner => GroupRole::Owner,
            _ => GroupRole::Member,
        },
        user_id: member.user_id,
        added_at: time(member.added_at),
    }
}

fn with_members(
    found: pb::GroupWithMembers,
) -> Result<(GroupView, Vec<MemberView>), GroupStoreError> {
    Ok((
        group(found.group)?,
        found.members.into_iter().map(member).collect(),
    ))
}

/// The group client (cheap to clone).
#[derive(Clone)]
pub struct GroupStore {
    client: GroupClient,
}

impl std::fmt::Debug for GroupStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupStore")
    }
}

impl GroupStore {
    pub fn connect_lazy(config: &StoreClientConfig) -> anyhow::Result<Self> {
        Ok(Self {
            client: nexus_common::store_client::connect_groups_lazy(config)?,
        })
    }

    pub async fn create(
        &self,
        owner: &UserId,
        name: &str,
    ) -> Result<(GroupView, Vec<MemberView>), GroupStoreError> {
        metrics::store_call("create_group");
        let request = pb::CreateGroupRequest {
            user_id: owner.to_string(),
            name: name.to_owned(),
        };
        let found = self
            .client
            .clone()
            .create_group(request)
            .await
            .map_err(GroupStoreError::from_status)?;
        with_members(found.into_inner())
    }

    pub async fn get(
        &self,
        group: &GroupId,
        actor: &UserId,
    ) -> Result<(GroupView, Vec<MemberView>), GroupStoreError> {
        metrics::store_call("get_group");
        let request = pb::GetGroupRequest {
            group_id: group.to_string(),
            actor_user_id: actor.to_string(),
        };
        let found = self
            .client
            .clone()
            .get_group(request)
            .await
            .map_err(GroupStoreError::from_status)?;
        with_members(found.into_inner())
    }

    pub async fn list(&self, user: &UserId) -> Result<Vec<GroupView>, GroupStoreError> {
        metrics::store_call("list_user_groups");
        let request = pb::ListUserGroupsRequest {
            user_id: user.to_string(),
        };
        let response = self
            .client
            .clone()
            .list_user_groups(request)
            .await
            .map_err(GroupStoreError::from_status)?;
        response
            .into_inner()
            .groups
            .into_iter()
            .map(|g| group(Some(g)))
            .collect()
    }

    /// Adds `user`; returns the member and whether this call added it.
    pub async fn add_member(
        &self,
        group: &GroupId,
        actor: &UserId,
        user: &UserId,
    ) -> Result<(MemberView, bool), GroupStoreError> {
        metrics::store_call("add_group_member");
        let request = pb::AddGroupMemberRequest {
            group_id: group.to_string(),
            actor_user_id: actor.to_string(),
            user_id: user.to_string(),
        };
        let response = self
            .client
            .clone()
            .add_group_member(request)
            .await
            .map_err(GroupStoreError::from_status)?
            .into_inner();
        let added = response
            .member
            .context("session-store sent no member")
            .map_err(StoreCallError::Internal)?;
        Ok((member(added), response.added))
    }

    pub async fn remove_member(
        &self,
        group: &GroupId,
        actor: &UserId,
        user: &UserId,
    ) -> Result<(), GroupStoreError> {
        metrics::store_call("remove_group_member");
        let request = pb::RemoveGroupMemberRequest {
            group_id: group.to_string(),
            actor_user_id: actor.to_string(),
            user_id: user.to_string(),
        };
        self.client
            .clone()
            .remove_group_member(request)
            .await
            .map_err(GroupStoreError::from_status)?;
        Ok(())
    }

    /// Deletes the group; returns who was in it.
    pub async fn delete(
        &self,
        group: &GroupId,
        actor: &UserId,
    ) -> Result<Vec<String>, GroupStoreError> {
        metrics::store_call("delete_group");
        let request = pb::DeleteGroupRequest {
            group_id: group.to_string(),
            actor_user_id: actor.to_string(),
        };
        let response = self
            .client
            .clone()
            .delete_group(request)
            .await
            .map_err(GroupStoreError::from_status)?;
        Ok(response.into_inner().removed_user_ids)
    }
}
