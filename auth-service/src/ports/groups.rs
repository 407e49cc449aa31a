//! The group-store port: groups and their members, owned by session-store,
//! which enforces who may do what. `group_store` implements it over
//! gRPC.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{GroupId, UserId};
use crate::ports::sessions::StoreCallError;

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

/// A group and its members.
pub type GroupWithMembers = (GroupView, Vec<MemberView>);

/// The group calls the use cases make; `actor` is the live caller, from whom
/// session-store decides what is allowed.
pub trait GroupStorePort: Send + Sync + std::fmt::Debug {
    /// Creates a group owned by `owner`.
    fn create<'a>(
        &'a self,
        owner: &'a UserId,
        name: &'a str,
    ) -> BoxFuture<'a, Result<GroupWithMembers, GroupStoreError>>;

    /// One of `actor`'s groups with its members.
    fn get<'a>(
        &'a self,
        group: &'a GroupId,
        actor: &'a UserId,
    ) -> BoxFuture<'a, Result<GroupWithMembers, GroupStoreError>>;

    /// The groups `user` belongs to, newest first.
    fn list<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<GroupView>, GroupStoreError>>;

    /// Adds `user`; returns the member and whether this call added it.
    fn add_member<'a>(
        &'a self,
        group: &'a GroupId,
        actor: &'a UserId,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<(MemberView, bool), GroupStoreError>>;

    /// Removes `user` (the owner removes anyone else, a member only themselves).
    fn remove_member<'a>(
        &'a self,
        group: &'a GroupId,
        actor: &'a UserId,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<(), GroupStoreError>>;

    /// Deletes the group (owner only); returns who was in it.
    fn delete<'a>(
        &'a self,
        group: &'a GroupId,
        actor: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<String>, GroupStoreError>>;
}
