//! The `nexus.session.v1.GroupStore` handlers: parse ids and names at the
//! edge, call the repository, convert rows back; [`GroupError`] becomes a
//! status here, in one place.

use nexus_proto::session_v1 as pb;
use nexus_proto::session_v1::group_store_server::GroupStore;
use tonic::{Request, Response, Status};

use super::convert::timestamp;
use crate::domain::{GroupId, GroupName, GroupRole, InvalidInput, UserId};
use crate::repository::{GroupError, GroupRow, GroupWithMembers, MemberRow, Repository};

#[derive(Clone)]
pub struct GroupStoreService {
    repository: Repository,
}

impl GroupStoreService {
    pub fn new(repository: Repository) -> Self {
        Self { repository }
    }
}

impl From<GroupError> for Status {
    fn from(error: GroupError) -> Self {
        match error {
            GroupError::NotFound | GroupError::MemberNotFound => {
                Status::not_found(error.to_string())
            }
            GroupError::NotOwner => Status::permission_denied(error.to_string()),
            GroupError::OwnerCannotLeave => Status::failed_precondition(error.to_string()),
            GroupError::GroupFull | GroupError::TooManyGroups => {
                Status::resource_exhausted(error.to_string())
            }
            GroupError::TooManyChecks => Status::invalid_argument(error.to_string()),
            GroupError::Store(error) => error.into(),
        }
    }
}

fn group(row: GroupRow) -> pb::Group {
    pb::Group {
        id: row.id,
        name: row.name,
        created_by: row.created_by,
        created_at: Some(timestamp(row.created_at)),
    }
}

fn member(row: MemberRow) -> pb::GroupMember {
    let role = match row.role() {
        GroupRole::Owner => pb::GroupRole::Owner,
        GroupRole::Member => pb::GroupRole::Member,
    };
    pb::GroupMember {
        user_id: row.user_id,
        role: role.into(),
        added_at: Some(timestamp(row.added_at)),
    }
}

fn with_members(found: GroupWithMembers) -> pb::GroupWithMembers {
    pb::GroupWithMembers {
        group: Some(group(found.group)),
        members: found.members.into_iter().map(member).collect(),
    }
}

fn ids(group_id: &str, user_id: &str) -> Result<(GroupId, UserId), Status> {
    Ok((
        GroupId::parse(group_id).map_err(InvalidInput::from)?,
        UserId::parse(user_id).map_err(InvalidInput::from)?,
    ))
}

#[tonic::async_trait]
impl GroupStore for GroupStoreService {
    async fn create_group(
        &self,
        request: Request<pb::CreateGroupRequest>,
    ) -> Result<Response<pb::GroupWithMembers>, Status> {
        let request = request.into_inner();
        let owner = UserId::parse(&request.user_id).map_err(InvalidInput::from)?;
        let name = GroupName::parse(&request.name)?;
        let created = self.repository.create_group(&owner, &name).await?;
        tracing::info!(group_id = %created.group.id, user_id = %owner, "create group");
        Ok(Response::new(with_members(created)))
    }

    async fn get_group(
        &self,
        request: Request<pb::GetGroupRequest>,
    ) -> Result<Response<pb::GroupWithMembers>, Status> {
        let request = request.into_inner();
        let (group_id, actor) = ids(&request.group_id, &request.actor_user_id)?;
        let found = self.repository.group(&group_id, &actor).await?;
        Ok(Response::new(with_members(found)))
    }

    async fn list_user_groups(
        &self,
        request: Request<pb::ListUserGroupsRequest>,
    ) -> Result<Response<pb::ListUserGroupsResponse>, Status> {
        let user = UserId::parse(&request.into_inner().user_id).map_err(InvalidInput::from)?;
        let rows = self.repository.groups_of(&user).await?;
        Ok(Response::new(pb::ListUserGroupsResponse {
            groups: rows.into_iter().map(group).collect(),
        }))
    }

    async fn add_group_member(
        &self,
        request: Request<pb::AddGroupMemberRequest>,
    ) -> Result<Response<pb::AddGroupMemberResponse>, Status> {
        let request = request.into_inner();
        let (group_id, actor) = ids(&request.group_id, &request.actor_user_id)?;
        let target = UserId::parse(&request.user_id).map_err(InvalidInput::from)?;
        let (row, added) = self
            .repository
            .add_member(&group_id, &actor, &target)
            .await?;
        tracing::info!(%group_id, actor = %actor, user_id = %target, added, "add group member");
        Ok(Response::new(pb::AddGroupMemberResponse {
            member: Some(member(row)),
            added,
        }))
    }

    async fn remove_group_member(
        &self,
        request: Request<pb::RemoveGroupMemberRequest>,
    ) -> Result<Response<pb::RemoveGroupMemberResponse>, Status> {
        let request = request.into_inner();
        let (group_id, actor) = ids(&request.group_id, &request.actor_user_id)?;
        let target = UserId::parse(&request.user_id).map_err(InvalidInput::from)?;
        let removed = self
            .repository
            .remove_member(&group_id, &actor, &target)
            .await?;
        tracing::info!(%group_id, actor = %actor, user_id = %target, "remove group member");
        Ok(Response::new(pb::RemoveGroupMemberResponse {
            removed: Some(member(removed)),
        }))
    }

    async fn delete_group(
        &self,
        request: Request<pb::DeleteGroupRequest>,
    ) -> Result<Response<pb::DeleteGroupResponse>, Status> {
        let request = request.into_inner();
        let (group_id, actor) = ids(&request.group_id, &request.actor_user_id)?;
        let removed = self.repository.delete_group(&group_id, &actor).await?;
        tracing::info!(%group_id, actor = %actor, members = removed.len(), "delete group");
        Ok(Response::new(pb::DeleteGroupResponse {
            removed_user_ids: removed,
        }))
    }

    async fn check_memberships(
        &self,
        request: Request<pb::CheckMembershipsRequest>,
    ) -> Result<Response<pb::CheckMembershipsResponse>, Status> {
        let memberships = request.into_inner().memberships;
        if memberships.len() > crate::repository::MAX_MEMBERSHIP_CHECKS {
            return Err(GroupError::TooManyChecks.into());
        }
        let pairs = memberships
            .into_iter()
            .map(|pair| ids(&pair.group_id, &pair.user_id))
            .collect::<Result<Vec<_>, _>>()?;
        let is_member = self.repository.check_memberships(&pairs).await?;
        Ok(Response::new(pb::CheckMembershipsResponse { is_member }))
    }
}
