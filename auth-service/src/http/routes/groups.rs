//! `/api/groups`: group chats ("Nexus Chats", DESIGN.md "Group chats").
//!
//! session-store owns groups and members and enforces the rules (the caller
//! is named from the live access token, never from the request); the use
//! cases (`app::groups`) announce removals and mint room grants. Here: parse,
//! rate-limit the writes, call, render. A group the caller is not in answers
//! 404 exactly like an unknown or malformed id, so ids cannot be probed; a
//! member trying an owner's action gets 403 (they can see the group anyway).

use actix_web::web::{self, Bytes, Data, Path, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::app::groups as usecase;
use crate::domain::{GroupId, UserId};
use crate::http::caller::LiveCaller;
use crate::http::context::HttpContext;
use crate::http::envelope::{Failure, Success};
use crate::http::error::ApiError;
use crate::http::route_module::RouteModule;
use crate::http::{body, request_meta};
use crate::ports::{GroupView, MemberView};
use crate::state::AppState;

pub const ROUTES: RouteModule = RouteModule {
    register,
    openapi: Api::openapi,
};

fn register(routes: &mut ServiceConfig) {
    routes
        .route("/api/groups", web::post().to(create))
        .route("/api/groups", web::get().to(list))
        .route("/api/groups/{id}", web::get().to(get))
        .route("/api/groups/{id}", web::delete().to(delete))
        .route("/api/groups/{id}/members", web::post().to(add_member))
        .route(
            "/api/groups/{id}/members/{user_id}",
            web::delete().to(remove_member),
        )
        .route("/api/groups/{id}/grant", web::post().to(grant));
}

#[derive(OpenApi)]
#[openapi(paths(create, list, get, delete, add_member, remove_member, grant))]
struct Api;

/// `POST /api/groups` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateGroupRequest {
    /// 1 to 100 characters (trimmed), no control characters.
    name: String,
}

/// `POST /api/groups/{id}/members` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AddMemberRequest {
    /// The user to add (their `sub`).
    user_id: String,
}

#[derive(Serialize, ToSchema)]
struct GroupBody {
    group: GroupView,
}

#[derive(Serialize, ToSchema)]
struct GroupsBody {
    groups: Vec<GroupView>,
}

#[derive(Serialize, ToSchema)]
struct GroupWithMembersBody {
    group: GroupView,
    members: Vec<MemberView>,
}

#[derive(Serialize, ToSchema)]
struct AddedBody {
    member: MemberView,
    /// False when the user already was a member (nothing changed).
    added: bool,
}

#[derive(Serialize, ToSchema)]
struct RemovedBody {
    group_id: String,
    user_id: String,
}

#[derive(Serialize, ToSchema)]
struct DeletedBody {
    group_id: String,
}

#[derive(Serialize, ToSchema)]
struct GrantBody {
    /// The room grant (HS256 JWT) for `room:join {room, grant}`.
    grant: String,
    /// `group:<id>`.
    room: String,
    expires_at: DateTime<Utc>,
}

/// A group id from the path; a malformed one cannot name a group: 404.
fn group_id(raw: &str) -> Result<GroupId, ApiError> {
    GroupId::parse(raw).map_err(|_| ApiError::GroupNotFound)
}

fn limit_writes(request: &HttpRequest, http: &HttpContext) -> Result<(), ApiError> {
    http.limiters
        .groups
        .check(request_meta::rate_limit_key(request, &http.proxies))
}

/// Creates a group; the caller becomes its owner.
#[utoipa::path(
    post,
    path = "/api/groups",
    tag = "groups",
    request_body(content = CreateGroupRequest, content_type = "application/json"),
    security(("access_token" = []), ("access_cookie" = [])),
    responses(
        (status = 201, description = "Created; the caller is its owner", body = Success<GroupBody>),
        (status = 400, description = "Missing or invalid name, malformed body", body = Failure),
        (status = 401, description = "No live session", body = Failure),
        (status = 403, description = "Origin not allowed, or a cookie without Origin", body = Failure),
        (status = 409, description = "The caller owns the most groups allowed", body = Failure),
        (status = 413, description = "Body too large", body = Failure),
        (status = 415, description = "Body is not JSON", body = Failure),
        (status = 429, description = "Rate limited", body = Failure),
        (status = 503, description = "A dependency is unavailable; retry", body = Failure)
    )
)]
pub async fn create(
    live: LiveCaller,
    request: HttpRequest,
    raw_body: Bytes,
    state: Data<AppState>,
    http: Data<HttpContext>,
) -> Result<HttpResponse, ApiError> {
    limit_writes(&request, &http)?;
    let payload: CreateGroupRequest = body::parse(&request, &raw_body)?;
    let group = usecase::create(&state, &live.caller, &payload.name).await?;
    Ok(HttpResponse::Created().json(Success::new("Group created", GroupBody { group })))
}

/// The groups the caller belongs to, newest first.
#[utoipa::path(
    get,
    path = "/api/groups",
    tag = "groups",
    security(("access_token" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The caller's groups", body = Success<GroupsBody>),
        (status = 401, description = "No live session", body = Failure),
        (status = 503, description = "A dependency is unavailable; retry", body = Failure)
    )
)]
pub async fn list(live: LiveCaller, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let groups = usecase::list(&state, &live.caller).await?;
    Ok(HttpResponse::Ok().json(Success::new("Groups", GroupsBody { groups })))
}

/// One of the caller's groups, with its members.
#[utoipa::path(
    get,
    path = "/api/groups/{id}",
    tag = "groups",
    params(("id" = String, Path, description = "A group id")),
    security(("access_token" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The group and its members", body = Success<GroupWithMembersBody>),
        (status = 401, description = "No live session", body = Failure),
        (status = 404, description = "No such group of the caller (another's group too)", body = Failure),
        (status = 503, description = "A dependency is unavailable; retry", body = Failure)
    )
)]
pub async fn get(
    live: LiveCaller,
    id: Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = group_id(&id)?;
    let (group, members) = usecase::get(&state, &live.caller, &id).await?;
    Ok(HttpResponse::Ok().json(Success::new(
        "Group",
        GroupWithMembersBody { group, members },
    )))
}

/// Deletes a group (owner only); every member is removed and told.
#[utoipa::path(
    delete,
    path = "/api/groups/{id}",
    tag = "groups",
    params(("id" = String, Path, description = "A group id")),
    security(("access_token" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "Deleted", body = Success<DeletedBody>),
        (status = 401, description = "No live session", body = Failure),
        (status = 403, description = "Not the owner; or Origin not allowed, or a cookie without \
            Origin", body = Failure),
        (status = 404, description = "No such group of the caller", body = Failure),
        (status = 429, description = "Rate limited", body = Failure),
        (status = 503, description = "A dependency is unavailable; retry", body = Failure)
    )
)]
pub async fn delete(
    live: LiveCaller,
    request: HttpRequest,
    id: Path<String>,
    state: Data<AppState>,
    http: Data<HttpContext>,
) -> Result<HttpResponse, ApiError> {
    limit_writes(&request, &http)?;
    let id = group_id(&id)?;
    usecase::delete(&state, &live.caller, &id).await?;
    Ok(HttpResponse::Ok().json(Success::new(
        "Group deleted",
        DeletedBody {
            group_id: id.to_string(),
        },
    )))
}

/// Adds a user to the group (owner only).
#[utoipa::path(
    post,
    path = "/api/groups/{id}/members",
    tag = "groups",
    params(("id" = String, Path, description = "A group id")),
    request_body(content = AddMemberRequest, content_type = "application/json"),
    security(("access_token" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "Added (or already a member: `added` is false)",
            body = Success<AddedBody>),
        (status = 400, description = "Missing or invalid user_id, malformed body", body = Failure),
        (status = 401, description = "No live session", body = Failure),
        (status = 403, description = "Not the owner; or Origin not allowed, or a cookie without \
            Origin", body = Failure),
        (status = 404, description = "No such group of the caller", body = Failure),
        (status = 409, description = "The group is full", body = Failure),
        (status = 413, description = "Body too large", body = Failure),
        (status = 415, description = "Body is not JSON", body = Failure),
        (status = 429, description = "Rate limited", body = Failure),
        (status = 503, description = "A dependency is unavailable; retry", body = Failure)
    )
)]
pub async fn add_member(
    live: LiveCaller,
    request: HttpRequest,
    id: Path<String>,
    raw_body: Bytes,
    state: Data<AppState>,
    http: Data<HttpContext>,
) -> Result<HttpResponse, ApiError> {
    limit_writes(&request, &http)?;
    let id = group_id(&id)?;
    let payload: AddMemberRequest = body::parse(&request, &raw_body)?;
    let user = UserId::parse(payload.user_id.trim())
        .map_err(|error| ApiError::BadRequest(format!("user_id: {error}")))?;
    let (member, added) = usecase::add_member(&state, &live.caller, &id, &user).await?;
    Ok(HttpResponse::Ok().json(Success::new("Member added", AddedBody { member, added })))
}

/// Removes a member: the owner removes anyone else, a member removes only
/// themselves (leaving). The owner cannot leave: delete the group instead.
#[utoipa::path(
    delete,
    path = "/api/groups/{id}/members/{user_id}",
    tag = "groups",
    params(
        ("id" = String, Path, description = "A group id"),
        ("user_id" = String, Path, description = "The member to remove (the caller's own id to leave)")
    ),
    security(("access_token" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "Removed; realtime evicts them from the group's room",
            body = Success<RemovedBody>),
        (status = 401, description = "No live session", body = Failure),
        (status = 403, description = "A member removing someone else; or Origin not allowed, or \
            a cookie without Origin", body = Failure),
        (status = 404, description = "No such group of the caller, or no such member",
            body = Failure),
        (status = 409, description = "The owner cannot leave; delete the group instead",
            body = Failure),
        (status = 429, description = "Rate limited", body = Failure),
        (status = 503, description = "A dependency is unavailable; retry", body = Failure)
    )
)]
pub async fn remove_member(
    live: LiveCaller,
    request: HttpRequest,
    path: Path<(String, String)>,
    state: Data<AppState>,
    http: Data<HttpContext>,
) -> Result<HttpResponse, ApiError> {
    limit_writes(&request, &http)?;
    let (id, user) = path.into_inner();
    let id = group_id(&id)?;
    let user = UserId::parse(&user).map_err(|_| ApiError::MemberNotFound)?;
    usecase::remove_member(&state, &live.caller, &id, &user).await?;
    Ok(HttpResponse::Ok().json(Success::new(
        "Member removed",
        RemovedBody {
            group_id: id.to_string(),
            user_id: user.to_string(),
        },
    )))
}

/// A short-lived room grant for the group's realtime room, for a member.
#[utoipa::path(
    post,
    path = "/api/groups/{id}/grant",
    tag = "groups",
    params(("id" = String, Path, description = "A group id")),
    security(("access_token" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "A grant for `room:join {room, grant}` (ROOM_GRANT_TTL)",
            body = Success<GrantBody>),
        (status = 401, description = "No live session", body = Failure),
        (status = 403, description = "Origin not allowed, or a cookie without Origin", body = Failure),
        (status = 404, description = "No such group of the caller (not a member)", body = Failure),
        (status = 429, description = "Rate limited", body = Failure),
        (status = 503, description = "Group chats are not configured (no ROOM_GRANT_KEYS), or a \
            dependency is unavailable; retry", body = Failure)
    )
)]
pub async fn grant(
    live: LiveCaller,
    request: HttpRequest,
    id: Path<String>,
    state: Data<AppState>,
    http: Data<HttpContext>,
) -> Result<HttpResponse, ApiError> {
    limit_writes(&request, &http)?;
    let id = group_id(&id)?;
    let issued = usecase::grant(&state, &live.caller, &id).await?;
    Ok(HttpResponse::Ok().json(Success::new(
        "Room grant",
        GrantBody {
            grant: issued.token,
            room: issued.room,
            expires_at: issued.expires_at,
        },
    )))
}
