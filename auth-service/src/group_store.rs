//! The GroupStore gRPC adapter (`nexus.session.v1.GroupStore` on
//! session-store), implementing the group-store port (`ports::groups`):
//! prost stays here; the use cases get domain views and the port's small
//! error enum that says what the rules refused.

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use nexus_common::store_client::{GroupClient, StoreClientConfig};
use nexus_proto::session_v1 as pb;
use tonic::Code;

use crate::domain::{GroupId, UserId};
use crate::metrics;
use crate::ports::groups::{
    GroupRole, GroupStoreError, GroupStorePort, GroupView, GroupWithMembers, MemberView,
};
use crate::ports::sessions::StoreCallError;

/// A refusal as the port names it. NOT_FOUND means "member not found" only
/// when the message says so.
fn refusal(status: tonic::Status) -> GroupStoreError {
    match status.code() {
        Code::NotFound if status.message() == "member not found" => GroupStoreError::MemberNotFound,
        Code::NotFound => GroupStoreError::GroupNotFound,
        Code::PermissionDenied => GroupStoreError::Forbidden(status.message().to_owned()),
        Code::FailedPrecondition => GroupStoreError::Conflict(status.message().to_owned()),
        Code::ResourceExhausted => GroupStoreError::Limit(status.message().to_owned()),
        _ => GroupStoreError::Store(status.into()),
    }
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

fn with_members(found: pb::GroupWithMembers) -> Result<GroupWithMembers, GroupStoreError> {
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
}

impl GroupStorePort for GroupStore {
    fn create<'a>(
        &'a self,
        owner: &'a UserId,
        name: &'a str,
    ) -> BoxFuture<'a, Result<GroupWithMembers, GroupStoreError>> {
        Box::pin(async move {
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
                .map_err(refusal)?;
            with_members(found.into_inner())
        })
    }

    fn get<'a>(
        &'a self,
        group: &'a GroupId,
        actor: &'a UserId,
    ) -> BoxFuture<'a, Result<GroupWithMembers, GroupStoreError>> {
        Box::pin(async move {
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
                .map_err(refusal)?;
            with_members(found.into_inner())
        })
    }

    fn list<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<GroupView>, GroupStoreError>> {
        Box::pin(async move {
            metrics::store_call("list_user_groups");
            let request = pb::ListUserGroupsRequest {
                user_id: user.to_string(),
            };
            let response = self
                .client
                .clone()
                .list_user_groups(request)
                .await
                .map_err(refusal)?;
            response
                .into_inner()
                .groups
                .into_iter()
                .map(|g| group(Some(g)))
                .collect()
        })
    }

    /// Adds `user`; returns the member and whether this call added it.
    fn add_member<'a>(
        &'a self,
        group: &'a GroupId,
        actor: &'a UserId,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<(MemberView, bool), GroupStoreError>> {
        Box::pin(async move {
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
                .map_err(refusal)?
                .into_inner();
            let added = response
                .member
                .context("session-store sent no member")
                .map_err(StoreCallError::Internal)?;
            Ok((member(added), response.added))
        })
    }

    fn remove_member<'a>(
        &'a self,
        group: &'a GroupId,
        actor: &'a UserId,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<(), GroupStoreError>> {
        Box::pin(async move {
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
                .map_err(refusal)?;
            Ok(())
        })
    }

    /// Deletes the group; returns who was in it.
    fn delete<'a>(
        &'a self,
        group: &'a GroupId,
        actor: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<String>, GroupStoreError>> {
        Box::pin(async move {
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
                .map_err(refusal)?;
            Ok(response.into_inner().removed_user_ids)
        })
    }
}
