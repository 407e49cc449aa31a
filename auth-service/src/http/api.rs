//! The whole HTTP API in one place: every route module, the routes they
//! register and the OpenAPI 3.1 document generated from their annotations,
//! served at `GET /api/auth/openapi.json`.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::{self, ServiceConfig};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::envelope::Failure;
use crate::http::route_module::RouteModule;
use crate::http::routes::{bridge, groups, logout, ops, refresh, sessions};

/// Every route of the service. A new route module joins with one line here.
pub const ROUTE_MODULES: &[RouteModule] = &[
    ops::ROUTES,
    API_DOC_ROUTES,
    bridge::ROUTES,
    refresh::ROUTES,
    logout::ROUTES,
    sessions::ROUTES,
    groups::ROUTES,
];

/// Registers every route (what `App::configure` is given).
pub fn configure(routes: &mut ServiceConfig) {
    for module in ROUTE_MODULES {
        (module.register)(routes);
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nexus auth-service",
        description = "Supabase session bridge, refresh-token rotation, logout and session \
            management of the Nexus backend. Every body is the envelope \
            `{success, message, ...}`; failures are `{success: false, message, error}` \
            with a stable `error` code. Every state-changing request must carry an `Origin` \
            in CORS_ORIGINS unless it authenticates with a bearer token or a token in the \
            body; a present, disallowed Origin is refused (403) before anything else. \
            Bridge, refresh and logout are rate limited per client (IPv4 address, IPv6 /64) \
            with a global ceiling (429 with Retry-After). With COOKIE_SECURE=true the cookies \
            are named `__Host-nexus_access_token` and `__Secure-nexus_refresh_token`; the bare \
            names are used over plain HTTP and accepted on input either way. A user holds at \
            most SESSION_MAX_PER_USER live sessions (default 50): a new one revokes the least \
            recently seen (event `session.revoked`, reason `session_limit`). Group chats live \
            under /api/groups: a group the caller is not in answers 404 like an unknown one; \
            group writes are rate limited per client like the session endpoints.",
        license(name = "MIT")
    ),
    components(schemas(Failure)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "session", description = "Bridge, refresh, logout"),
        (name = "sessions", description = "A user's own sessions"),
        (name = "groups", description = "Group chats: groups, members, room grants"),
        (name = "operations", description = "Keys, health, readiness, metrics, this document")
    )
)]
struct Root;

/// How callers authenticate, named in each operation's `security`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(description.to_owned()))
                    .build(),
            )
        };
        components.add_security_scheme(
            "supabase_token",
            bearer("A Supabase Auth access token (bridge only)"),
        );
        components.add_security_scheme(
            "access_token",
            bearer("The backend access token the bridge or a refresh issued"),
        );
        components.add_security_scheme(
            "access_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__Host-nexus_access_token",
                "The access-token cookie (`nexus_access_token` over plain HTTP)",
            ))),
        );
        components.add_security_scheme(
            "refresh_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__Secure-nexus_refresh_token",
                "The refresh-token cookie (`nexus_refresh_token` over plain HTTP)",
            ))),
        );
    }
}

/// The OpenAPI document of everything in [`ROUTE_MODULES`].
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = Root::openapi();
    for module in ROUTE_MODULES {
        document.merge((module.openapi)());
    }
    document
}

const API_DOC_ROUTES: RouteModule = RouteModule {
    register: register_api_doc,
    openapi: ApiDoc::openapi,
};

fn register_api_doc(routes: &mut ServiceConfig) {
    routes.route("/api/auth/openapi.json", web::get().to(openapi_json));
}

#[derive(OpenApi)]
#[openapi(paths(openapi_json))]
struct ApiDoc;

/// `GET /api/auth/openapi.json`: this API's OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/api/auth/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object))
)]
pub async fn openapi_json() -> HttpResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    let json = JSON.get_or_init(|| {
        serde_json::to_string(&document()).unwrap_or_else(|error| {
            tracing::error!(%error, "cannot serialize the OpenAPI document");
            "{}".to_owned()
        })
    });
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/json")
        .body(json.clone())
}
