//! `/api/groups`: ownership rules, cross-user isolation (another user's
//! group is 404), room grants only for live members, removal events, and
//! malformed input answered with the envelope.

use std::time::Duration;

use nexus_common::events::GroupCloudEvent;
use serde_json::{Value, json};

use crate::helpers::*;

/// The app's `group.#` events: routing key and event.
async fn next_group_event(events: &mut EventQueue) -> (String, GroupCloudEvent) {
    events.next_json(Duration::from_secs(10)).await
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

async fn create(app: &TestApp, token: &str, name: &str) -> String {
    let response = call(
        app,
        reqwest::Method::POST,
        "/api/groups",
        token,
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], true, "{body}");
    body["group"]["id"].as_str().unwrap().to_owned()
}

async fn add(app: &TestApp, token: &str, group: &str, user: &str) -> reqwest::Response {
    call(
        app,
        reqwest::Method::POST,
        &format!("/api/groups/{group}/members"),
        token,
        Some(json!({"user_id": user})),
    )
    .await
}

async fn remove(app: &TestApp, token: &str, group: &str, user: &str) -> reqwest::Response {
    call(
        app,
        reqwest::Method::DELETE,
        &format!("/api/groups/{group}/members/{user}"),
        token,
        None,
    )
    .await
}

async fn get(app: &TestApp, token: &str, group: &str) -> reqwest::Response {
    call(
        app,
        reqwest::Method::GET,
        &format!("/api/groups/{group}"),
        token,
        None,
    )
    .await
}

async fn grant(app: &TestApp, token: &str, group: &str) -> reqwest::Response {
    call(
        app,
        reqwest::Method::POST,
        &format!("/api/groups/{group}/grant"),
        token,
        None,
    )
    .await
}

async fn list_ids(app: &TestApp, token: &str) -> Vec<String> {
    let response = call(app, reqwest::Method::GET, "/api/groups", token, None).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn owners_manage_members_and_other_users_see_nothing() {
    let env = TestEnv::spawn().await;
    let mut events = EventQueue::bind_pattern(&env.app.exchange, "group.#").await;
    let app = &env.app;
    let (alice, bob, carol) = (
        app.bridged().await,
        app.bridged().await,
        app.bridged().await,
    );
    let group = create(app, &alice.access_token, "  Book club ").await;

    let seen = get(app, &alice.access_token, &group).await;
    assert_eq!(seen.status(), 200);
    let body: Value = seen.json().await.unwrap();
    assert_eq!(body["group"]["name"], "Book club");
    assert_eq!(body["group"]["created_by"], alice.user_id.as_str());
    assert_eq!(body["members"][0]["user_id"], alice.user_id.as_str());
    assert_eq!(body["members"][0]["role"], "owner");

    // Another user's group looks exactly like an unknown one.
    let foreign = assert_failure(
        get(app, &bob.access_token, &group).await,
        404,
        "group_not_found",
    )
    .await;
    let unknown = assert_failure(
        get(app, &bob.access_token, &uuid::Uuid::new_v4().to_string()).await,
        404,
        "group_not_found",
    )
    .await;
    assert_eq!(foreign, unknown);
    assert!(list_ids(app, &bob.access_token).await.is_empty());
    assert_failure(
        add(app, &bob.access_token, &group, &bob.user_id).await,
        404,
        "group_not_found",
    )
    .await;
    assert_failure(
        grant(app, &bob.access_token, &group).await,
        404,
        "group_not_found",
    )
    .await;
    assert_failure(
        call(
            app,
            reqwest::Method::DELETE,
            &format!("/api/groups/{group}"),
            &bob.access_token,
            None,
        )
        .await,
        404,
        "group_not_found",
    )
    .await;

    // The owner adds bob; adding again changes nothing.
    let added = add(app, &alice.access_token, &group, &bob.user_id).await;
    assert_eq!(added.status(), 200);
    let added: Value = added.json().await.unwrap();
    assert_eq!(added["added"], true);
    assert_eq!(added["member"]["role"], "member");
    let again: Value = add(app, &alice.access_token, &group, &bob.user_id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["added"], false);
    assert_eq!(list_ids(app, &bob.access_token).await, vec![group.clone()]);

    // A member can neither add nor remove others, nor delete; the owner cannot leave.
    assert_failure(
        add(app, &bob.access_token, &group, &carol.user_id).await,
        403,
        "forbidden",
    )
    .await;
    assert_failure(
        remove(app, &bob.access_token, &group, &alice.user_id).await,
        403,
        "forbidden",
    )
    .await;
    assert_failure(
        call(
            app,
            reqwest::Method::DELETE,
            &format!("/api/groups/{group}"),
            &bob.access_token,
            None,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_failure(
        remove(app, &alice.access_token, &group, &alice.user_id).await,
        409,
        "owner_cannot_leave",
    )
    .await;
    assert_failure(
        remove(app, &alice.access_token, &group, &carol.user_id).await,
        404,
        "member_not_found",
    )
    .await;

    // Bob leaves: announced, and the group is gone for him.
    let left = remove(app, &bob.access_token, &group, &bob.user_id).await;
    assert_eq!(left.status(), 200);
    let (key, event) = next_group_event(&mut events).await;
    assert_eq!(key, "group.member_removed");
    assert_eq!(event.event_type, "nexus.group.member_removed");
    assert_eq!(event.data.group_id, group);
    assert_eq!(event.data.user_id, bob.user_id);
    assert_eq!(event.data.reason.as_deref(), Some("left"));
    assert_failure(
        get(app, &bob.access_token, &group).await,
        404,
        "group_not_found",
    )
    .await;

    // The owner removes carol; deleting announces everyone left.
    add(app, &alice.access_token, &group, &carol.user_id).await;
    add(app, &alice.access_token, &group, &bob.user_id).await;
    assert_eq!(
        remove(app, &alice.access_token, &group, &carol.user_id)
            .await
            .status(),
        200
    );
    let (_, event) = next_group_event(&mut events).await;
    assert_eq!(
        (event.data.user_id.as_str(), event.data.reason.as_deref()),
        (carol.user_id.as_str(), Some("removed"))
    );
    let deleted = call(
        app,
        reqwest::Method::DELETE,
        &format!("/api/groups/{group}"),
        &alice.access_token,
        None,
    )
    .await;
    assert_eq!(deleted.status(), 200);
    let mut gone = [
        next_group_event(&mut events).await.1,
        next_group_event(&mut events).await.1,
    ];
    gone.sort_by(|a, b| a.data.user_id.cmp(&b.data.user_id));
    let mut expected = vec![alice.user_id.clone(), bob.user_id.clone()];
    expected.sort();
    assert_eq!(
        gone.iter()
            .map(|e| e.data.user_id.clone())
            .collect::<Vec<_>>(),
        expected
    );
    assert!(
        gone.iter()
            .all(|e| e.data.reason.as_deref() == Some("group_deleted"))
    );
    assert_failure(
        get(app, &alice.access_token, &group).await,
        404,
        "group_not_found",
    )
    .await;

    events.close().await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn grants_go_to_live_members_only() {
    let env = TestEnv::spawn().await;
    let app = &env.app;
    let (alice, bob) = (app.bridged().await, app.bridged().await);
    let group = create(app, &alice.access_token, "g").await;

    let response = grant(app, &alice.access_token, &group).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"].to_str().unwrap(),
        "no-store"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["room"], format!("group:{group}"));
    let token = body["grant"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(ROOM_GRANT_KID));
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(ROOM_GRANT_SECRET.as_bytes()),
        &validation,
    )
    .expect("signed with the first ROOM_GRANT_KEYS key")
    .claims;
    assert_eq!(claims["sub"], alice.user_id.as_str());
    assert_eq!(claims["room"], format!("group:{group}"));
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 60, "ROOM_GRANT_TTL of the test app");
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires_at.timestamp(), claims["exp"].as_i64().unwrap());

    // A non-member, a removed member: nothing.
    assert_failure(
        grant(app, &bob.access_token, &group).await,
        404,
        "group_not_found",
    )
    .await;
    add(app, &alice.access_token, &group, &bob.user_id).await;
    assert_eq!(grant(app, &bob.access_token, &group).await.status(), 200);
    remove(app, &alice.access_token, &group, &bob.user_id).await;
    assert_failure(
        grant(app, &bob.access_token, &group).await,
        404,
        "group_not_found",
    )
    .await;

    // A logged-out member's still-valid access token gets nothing either.
    assert_eq!(app.logout(&alice.access_token, "local").await.status(), 200);
    assert_failure(
        grant(app, &alice.access_token, &group).await,
        401,
        "session_revoked",
    )
    .await;
    env.stop().await;

    // Without ROOM_GRANT_KEYS: groups work, grants are 503 with a clear code.
    let env = TestEnv::spawn_with(|settings| settings.room_grants = None).await;
    let carol = env.app.bridged().await;
    let group = create(&env.app, &carol.access_token, "g").await;
    assert_failure(
        grant(&env.app, &carol.access_token, &group).await,
        503,
        "group_chats_disabled",
    )
    .await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_ids_and_bodies_get_the_envelope() {
    let env = TestEnv::spawn().await;
    let app = &env.app;
    let alice = app.bridged().await;
    let token = &alice.access_token;
    let group = create(app, token, "g").await;

    for body in [
        json!({}),
        json!({"name": 5}),
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({"name": "a\u{0}b"}),
    ] {
        let response = call(
            app,
            reqwest::Method::POST,
            "/api/groups",
            token,
            Some(body.clone()),
        )
        .await;
        assert_failure(response, 400, "bad_request").await;
    }
    let empty = app
        .client
        .post(app.url("/api/groups"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_failure(empty, 400, "bad_request").await;
    let text = app
        .client
        .post(app.url("/api/groups"))
        .bearer_auth(token)
        .header("Content-Type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_failure(text, 415, "unsupported_media_type").await;
    let broken = app
        .client
        .post(app.url("/api/groups"))
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_failure(broken, 400, "bad_request").await;

    for bad in ["a%20b", "a:b", "%C3%A9", "a".repeat(65).as_str()] {
        assert_failure(get(app, token, bad).await, 404, "group_not_found").await;
        assert_failure(grant(app, token, bad).await, 404, "group_not_found").await;
        assert_failure(
            add(app, token, bad, "someone").await,
            404,
            "group_not_found",
        )
        .await;
    }
    for body in [
        json!({}),
        json!({"user_id": ""}),
        json!({"user_id": "a b"}),
        json!({"user_id": 7}),
        json!({"user_id": "u".repeat(256)}),
    ] {
        let response = call(
            app,
            reqwest::Method::POST,
            &format!("/api/groups/{group}/members"),
            token,
            Some(body),
        )
        .await;
        assert_failure(response, 400, "bad_request").await;
    }
    assert_failure(
        remove(app, token, &group, "a%20b").await,
        404,
        "member_not_found",
    )
    .await;

    // Credentials and Origin as everywhere: none is 401, a cookie write needs
    // an allowed Origin, a foreign Origin is refused first.
    let anonymous = app.client.get(app.url("/api/groups")).send().await.unwrap();
    assert_failure(anonymous, 401, "not_authenticated").await;
    let cookie_without_origin = app
        .client
        .post(app.url("/api/groups"))
        .header("Cookie", format!("nexus_access_token={token}"))
        .json(&json!({"name": "csrf"}))
        .send()
        .await
        .unwrap();
    assert_failure(cookie_without_origin, 403, "origin_required").await;
    let foreign = app
        .client
        .post(app.url(&format!("/api/groups/{group}/grant")))
        .bearer_auth(token)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_failure(foreign, 403, "origin_not_allowed").await;
    let cookie_with_origin = app
        .client
        .post(app.url("/api/groups"))
        .header("Cookie", format!("nexus_access_token={token}"))
        .header("Origin", ORIGIN)
        .json(&json!({"name": "from the browser"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cookie_with_origin.status(), 201);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn group_writes_are_rate_limited_per_client() {
    let env = TestEnv::spawn_with(|settings| {
        settings.rate_limits.groups.per_client = Some(auth_service::config::RateLimit {
            per_second: 1,
            burst: 3,
        });
    })
    .await;
    let alice = env.app.bridged().await;
    // A burst of 3, then one per second: well before 10 writes one is refused.
    let mut created = 0;
    let mut limited = None;
    for _ in 0..10 {
        let response = call(
            &env.app,
            reqwest::Method::POST,
            "/api/groups",
            &alice.access_token,
            Some(json!({"name": "g"})),
        )
        .await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), 201);
        created += 1;
    }
    let limited = limited.expect("a write was rate limited");
    assert!(created >= 3, "the burst passed");
    assert!(limited.headers().contains_key("retry-after"));
    assert_failure(limited, 429, "rate_limited").await;
    // Reads are not limited, and a refused write wrote nothing.
    assert_eq!(list_ids(&env.app, &alice.access_token).await.len(), created);
    env.stop().await;
}
