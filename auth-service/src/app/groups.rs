//! Group chats ("Nexus Chats"): groups, members and room grants.
//!
//! session-store owns groups and members and enforces who may do what; the
//! caller is always the live [`Caller`], never a name from the request. Here:
//! announce removals (`group.member_removed` per user, so realtime evicts
//! them from `group:<id>` at once) and mint room grants for live members.

use crate::app::caller::Caller;
use crate::domain::{GroupId, UserId};
use crate::keys::room_grant::IssuedGrant;
use crate::ports::{GroupStoreError, GroupView, MemberView};
use crate::state::AppState;

/// Why a group call failed.
#[derive(Debug, thiserror::Error)]
pub enum GroupsError {
    /// What session-store's rules refused (not found, forbidden, limits).
    #[error(transparent)]
    Store(#[from] GroupStoreError),
    /// No `ROOM_GRANT_KEYS`: grants are not issued.
    #[error("group chats are not configured on this server")]
    GrantsDisabled,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Creates a group; the caller becomes its owner.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> Result<GroupView, GroupsError> {
    let (group, _members) = state.groups.create(&caller.user, name).await?;
    tracing::info!(user_id = %caller.user, group_id = %group.id, "group created");
    Ok(group)
}

/// The caller's groups, newest first.
pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<GroupView>, GroupsError> {
    Ok(state.groups.list(&caller.user).await?)
}

/// One of the caller's groups, with its members.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    group: &GroupId,
) -> Result<(GroupView, Vec<MemberView>), GroupsError> {
    Ok(state.groups.get(group, &caller.user).await?)
}

/// Deletes a group (owner only) and tells every member; returns how many
/// were removed.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    group: &GroupId,
) -> Result<usize, GroupsError> {
    let removed = state.groups.delete(group, &caller.user).await?;
    for user in &removed {
        state
            .events
            .publish_member_removed(group, user, "group_deleted");
    }
    tracing::info!(user_id = %caller.user, group_id = %group, members = removed.len(), "group deleted");
    Ok(removed.len())
}

/// Adds `user` (owner only): the member, and whether this call added them.
pub async fn add_member(
    state: &AppState,
    caller: &Caller,
    group: &GroupId,
    user: &UserId,
) -> Result<(MemberView, bool), GroupsError> {
    let (member, added) = state.groups.add_member(group, &caller.user, user).await?;
    tracing::info!(user_id = %caller.user, group_id = %group, member = %user, added, "group member added");
    Ok((member, added))
}

/// Removes `user`: the owner removes anyone else, a member only themselves
/// (leaving). Returns the reason announced: `left` or `removed`.
pub async fn remove_member(
    state: &AppState,
    caller: &Caller,
    group: &GroupId,
    user: &UserId,
) -> Result<&'static str, GroupsError> {
    state
        .groups
        .remove_member(group, &caller.user, user)
        .await?;
    let reason = if *user == caller.user {
        "left"
    } else {
        "removed"
    };
    state
        .events
        .publish_member_removed(group, user.as_str(), reason);
    tracing::info!(user_id = %caller.user, group_id = %group, member = %user, reason, "group member removed");
    Ok(reason)
}

/// A short-lived room grant for the group's realtime room, for a member
/// (membership checked with session-store now: a removed member gets none).
pub async fn grant(
    state: &AppState,
    caller: &Caller,
    group: &GroupId,
) -> Result<IssuedGrant, GroupsError> {
    let signer = state
        .room_grants
        .as_ref()
        .ok_or(GroupsError::GrantsDisabled)?;
    state.groups.get(group, &caller.user).await?;
    let issued = signer.mint(&caller.user, group)?;
    tracing::info!(user_id = %caller.user, group_id = %group, "room grant issued");
    Ok(issued)
}
