//! Group chat use cases: create, read, list, add and remove members, delete,
//! and the batched membership check realtime's re-check uses.
//!
//! Every change is one transaction that first locks the group row
//! (`SELECT ... FOR UPDATE`), so concurrent adds, removals and a deletion of
//! one group serialise: the member cap and the owner rule are checked against
//! the state they change, and nothing is added to a group being deleted.
//! A group the actor is not a member of is [`GroupError::NotFound`], exactly
//! like an unknown one.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::{Array, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::{Repository, RepositoryError};
use crate::db::prepared::Prepared;
use crate::db::schema::{chat_group_members, chat_groups};
use crate::domain::{GroupId, GroupName, GroupRole, UserId};

/// Most members one group holds (the owner included).
pub const MAX_MEMBERS_PER_GROUP: i64 = 256;
/// Most groups one user owns.
pub const MAX_GROUPS_OWNED: i64 = 100;
/// Most groups one listing returns (newest first).
pub const GROUP_LIST_LIMIT: i64 = 500;
/// Most memberships one CheckMemberships call may ask about (shared with
/// callers).
pub use nexus_domain::limits::MAX_MEMBERSHIP_CHECKS;

/// Serialises group creation per user, so concurrent creates cannot slip
/// past [`MAX_GROUPS_OWNED`].
const LOCK_OWNER: &str =
    "SELECT pg_advisory_xact_lock(hashtextextended('nexus.chat_groups:' || $1, 0))";

/// The pairs of `$1`/`$2` (zipped) that are memberships.
const MEMBERSHIPS: &str = "SELECT m.group_id, m.user_id FROM chat_group_members m \
     JOIN unnest($1::text[], $2::text[]) AS wanted(group_id, user_id) \
       ON m.group_id = wanted.group_id AND m.user_id = wanted.user_id";

/// Why a group call was refused.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("group not found")]
    NotFound,
    #[error("member not found")]
    MemberNotFound,
    #[error("only the group's owner may do this")]
    NotOwner,
    #[error("the owner cannot leave the group; delete the group instead")]
    OwnerCannotLeave,
    #[error("a group holds at most {MAX_MEMBERS_PER_GROUP} members")]
    GroupFull,
    #[error("a user owns at most {MAX_GROUPS_OWNED} groups")]
    TooManyGroups,
    #[error("at most {MAX_MEMBERSHIP_CHECKS} memberships per call")]
    TooManyChecks,
    #[error(transparent)]
    Store(#[from] RepositoryError),
}

impl From<DieselError> for GroupError {
    fn from(error: DieselError) -> Self {
        Self::Store(RepositoryError::Database(error))
    }
}

/// A `chat_groups` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = chat_groups)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A `chat_group_members` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = chat_group_members)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct MemberRow {
    pub user_id: String,
    pub role: String,
    pub added_at: DateTime<Utc>,
}

impl MemberRow {
    pub fn role(&self) -> GroupRole {
        GroupRole::from_stored(&self.role)
    }
}

/// A group and its members (by `added_at`, then user id).
#[derive(Debug, Clone)]
pub struct GroupWithMembers {
    pub group: GroupRow,
    pub members: Vec<MemberRow>,
}

#[derive(QueryableByName)]
struct MembershipRow {
    #[diesel(sql_type = Text)]
    group_id: String,
    #[diesel(sql_type = Text)]
    user_id: String,
}

impl Repository {
    /// Creates a group owned by `owner`.
    pub async fn create_group(
        &self,
        owner: &UserId,
        name: &GroupName,
    ) -> Result<GroupWithMembers, GroupError> {
        let now = Utc::now();
        let mut conn = self.conn().await?;
        conn.transaction::<_, GroupError, _>(async |conn| {
            Prepared(diesel::sql_query(LOCK_OWNER).bind::<Text, _>(owner.as_str()))
                .execute(conn)
                .await?;
            let owned: i64 = chat_group_members::table
                .filter(chat_group_members::user_id.eq(owner.as_str()))
                .filter(chat_group_members::role.eq(GroupRole::Owner.as_str()))
                .count()
                .get_result(conn)
                .await?;
            if owned >= MAX_GROUPS_OWNED {
                return Err(GroupError::TooManyGroups);
            }
            let id = crate::domain::groups::new_group_id();
            let group = diesel::insert_into(chat_groups::table)
                .values((
                    chat_groups::id.eq(id.as_str()),
                    chat_groups::name.eq(name.as_str()),
                    chat_groups::created_by.eq(owner.as_str()),
                    chat_groups::created_at.eq(now),
                ))
                .returning(GroupRow::as_returning())
                .get_result(conn)
                .await?;
            let owner_row = diesel::insert_into(chat_group_members::table)
                .values((
                    chat_group_members::group_id.eq(id.as_str()),
                    chat_group_members::user_id.eq(owner.as_str()),
                    chat_group_members::role.eq(GroupRole::Owner.as_str()),
                    chat_group_members::added_at.eq(now),
                ))
                .returning(MemberRow::as_returning())
                .get_result(conn)
                .await?;
            Ok(GroupWithMembers {
                group,
                members: vec![owner_row],
            })
        })
        .await
    }

    /// A group with its members, for one of its members.
    pub async fn group(
        &self,
        group: &GroupId,
        actor: &UserId,
    ) -> Result<GroupWithMembers, GroupError> {
        let mut conn = self.conn().await?;
        let row = chat_groups::table
            .find(group.as_str())
            .filter(diesel::dsl::exists(
                chat_group_members::table
                    .filter(chat_group_members::group_id.eq(group.as_str()))
                    .filter(chat_group_members::user_id.eq(actor.as_str())),
            ))
            .select(GroupRow::as_select())
            .first(&mut conn)
            .await
            .optional()?
            .ok_or(GroupError::NotFound)?;
        let members = members_of(&mut conn, group).await?;
        if !members
            .iter()
            .any(|member| member.user_id == actor.as_str())
        {
            // Removed between the two reads.
            return Err(GroupError::NotFound);
        }
        Ok(GroupWithMembers {
            group: row,
            members,
        })
    }

    /// The groups `user` belongs to, newest first.
    pub async fn groups_of(&self, user: &UserId) -> Result<Vec<GroupRow>, GroupError> {
        let mut conn = self.conn().await?;
        Ok(chat_groups::table
            .inner_join(chat_group_members::table)
            .filter(chat_group_members::user_id.eq(user.as_str()))
            .order((chat_groups::created_at.desc(), chat_groups::id.desc()))
            .limit(GROUP_LIST_LIMIT)
            .select(GroupRow::as_select())
            .load(&mut conn)
            .await?)
    }

    /// Adds `target` as a member; the actor must own the group. Returns the
    /// member row and whether this call added it.
    pub async fn add_member(
        &self,
        group: &GroupId,
        actor: &UserId,
        target: &UserId,
    ) -> Result<(MemberRow, bool), GroupError> {
        let now = Utc::now();
        let mut conn = self.conn().await?;
        conn.transaction::<_, GroupError, _>(async |conn| {
            let actor_role = lock_group(conn, group, actor).await?;
            if actor_role != GroupRole::Owner {
                return Err(GroupError::NotOwner);
            }
            if let Some(existing) = member(conn, group, target).await? {
                return Ok((existing, false));
            }
            let count: i64 = chat_group_members::table
                .filter(chat_group_members::group_id.eq(group.as_str()))
                .count()
                .get_result(conn)
                .await?;
            if count >= MAX_MEMBERS_PER_GROUP {
                return Err(GroupError::GroupFull);
            }
            let added = diesel::insert_into(chat_group_members::table)
                .values((
                    chat_group_members::group_id.eq(group.as_str()),
                    chat_group_members::user_id.eq(target.as_str()),
                    chat_group_members::role.eq(GroupRole::Member.as_str()),
                    chat_group_members::added_at.eq(now),
                ))
                .returning(MemberRow::as_returning())
                .get_result(conn)
                .await?;
            Ok((added, true))
        })
        .await
    }

    /// Removes `target`: the owner removes any other member, a member only
    /// themselves; the owner cannot leave. Returns the removed row.
    pub async fn remove_member(
        &self,
        group: &GroupId,
        actor: &UserId,
        target: &UserId,
    ) -> Result<MemberRow, GroupError> {
        let mut conn = self.conn().await?;
        conn.transaction::<_, GroupError, _>(async |conn| {
            let actor_role = lock_group(conn, group, actor).await?;
            let leaving = actor == target;
            match (actor_role, leaving) {
                (GroupRole::Owner, true) => return Err(GroupError::OwnerCannotLeave),
                (GroupRole::Member, false) => return Err(GroupError::NotOwner),
                _ => {}
            }
            diesel::delete(chat_group_members::table.find((group.as_str(), target.as_str())))
                .returning(MemberRow::as_returning())
                .get_result(conn)
                .await
                .optional()?
                .ok_or(GroupError::MemberNotFound)
        })
        .await
    }

    /// Deletes a group (owner only); returns the user ids that were members.
    pub async fn delete_group(
        &self,
        group: &GroupId,
        actor: &UserId,
    ) -> Result<Vec<String>, GroupError> {
        let mut conn = self.conn().await?;
        conn.transaction::<_, GroupError, _>(async |conn| {
            let actor_role = lock_group(conn, group, actor).await?;
            if actor_role != GroupRole::Owner {
                return Err(GroupError::NotOwner);
            }
            let removed: Vec<String> = diesel::delete(
                chat_group_members::table.filter(chat_group_members::group_id.eq(group.as_str())),
            )
            .returning(chat_group_members::user_id)
            .get_results(conn)
            .await?;
            diesel::delete(chat_groups::table.find(group.as_str()))
                .execute(conn)
                .await?;
            Ok(removed)
        })
        .await
    }

    /// Which of the (group, user) pairs are memberships, in input order.
    pub async fn check_memberships(
        &self,
        pairs: &[(GroupId, UserId)],
    ) -> Result<Vec<bool>, GroupError> {
        if pairs.len() > MAX_MEMBERSHIP_CHECKS {
            return Err(GroupError::TooManyChecks);
        }
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let groups: Vec<&str> = pairs.iter().map(|(group, _)| group.as_str()).collect();
        let users: Vec<&str> = pairs.iter().map(|(_, user)| user.as_str()).collect();
        let mut conn = self.conn().await?;
        let found: Vec<MembershipRow> = Prepared(
            diesel::sql_query(MEMBERSHIPS)
                .bind::<Array<Text>, _>(&groups)
                .bind::<Array<Text>, _>(&users),
        )
        .load(&mut conn)
        .await?;
        let found: HashSet<(String, String)> = found
            .into_iter()
            .map(|row| (row.group_id, row.user_id))
            .collect();
        Ok(pairs
            .iter()
            .map(|(group, user)| found.contains(&(group.to_string(), user.as_str().to_owned())))
            .collect())
    }
}

/// Locks the group row and returns the actor's role in it; a missing group
/// and a group the actor is not in are both [`GroupError::NotFound`].
async fn lock_group(
    conn: &mut AsyncPgConnection,
    group: &GroupId,
    actor: &UserId,
) -> Result<GroupRole, GroupError> {
    chat_groups::table
        .find(group.as_str())
        .select(chat_groups::id)
        .for_update()
        .first::<String>(conn)
        .await
        .optional()?
        .ok_or(GroupError::NotFound)?;
    member(conn, group, actor)
        .await?
        .map(|row| row.role())
        .ok_or(GroupError::NotFound)
}

async fn member(
    conn: &mut AsyncPgConnection,
    group: &GroupId,
    user: &UserId,
) -> Result<Option<MemberRow>, GroupError> {
    Ok(chat_group_members::table
        .find((group.as_str(), user.as_str()))
        .select(MemberRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

async fn members_of(
    conn: &mut AsyncPgConnection,
    group: &GroupId,
) -> Result<Vec<MemberRow>, GroupError> {
    Ok(chat_group_members::table
        .filter(chat_group_members::group_id.eq(group.as_str()))
        .order((
            chat_group_members::added_at.asc(),
            chat_group_members::user_id.asc(),
        ))
        .limit(MAX_MEMBERS_PER_GROUP)
        .select(MemberRow::as_select())
        .load(conn)
        .await?)
}
