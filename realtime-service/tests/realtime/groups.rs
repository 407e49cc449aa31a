//! Group chat rooms with the real socket.io-client: membership in
//! session-store decides, removal is felt at once (event), a lost event is
//! caught by the re-check, and a grant's expiry ends the stay.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use nexus_common::events::{GROUP_MEMBER_REMOVED_KEY, GroupCloudEvent, GroupEventData};
use nexus_proto::session_v1 as pb;
use serde_json::{Value, json};

use crate::helpers::*;

/// Creates a group owned by `owner` in session-store; returns its id.
pub async fn create_group(backend: &Backend, owner: &str) -> String {
    backend
        .store
        .group_client()
        .create_group(pb::CreateGroupRequest {
            user_id: owner.into(),
            name: "test group".into(),
        })
        .await
        .expect("CreateGroup")
        .into_inner()
        .group
        .expect("group")
        .id
}

pub async fn add_member(backend: &Backend, group: &str, owner: &str, user: &str) {
    backend
        .store
        .group_client()
        .add_group_member(pb::AddGroupMemberRequest {
            group_id: group.into(),
            actor_user_id: owner.into(),
            user_id: user.into(),
        })
        .await
        .expect("AddGroupMember");
}

/// Removes in session-store only: no event (a lost one).
async fn remove_silently(backend: &Backend, group: &str, owner: &str, user: &str) {
    backend
        .store
        .group_client()
        .remove_group_member(pb::RemoveGroupMemberRequest {
            group_id: group.into(),
            actor_user_id: owner.into(),
            user_id: user.into(),
        })
        .await
        .expect("RemoveGroupMember");
}

/// A grant like `helpers::grant`, expiring `exp_in` seconds from now.
fn grant_for(user: &str, room: &str, exp_in: i64) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(ROOM_GRANT_KID.into());
    let claims = json!({"sub": user, "room": room, "iat": now(), "exp": now() + exp_in});
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(GRANT_SECRET.as_bytes()),
    )
    .expect("signable")
}

async fn publish_raw(backend: &Backend, routing_key: &str, body: &[u8]) {
    nexus_testkit::amqp::publish(&backend.session_exchange, routing_key, body).await;
}

fn member_removed(group: &str, user: &str) -> GroupCloudEvent {
    GroupCloudEvent::member_removed(
        "realtime-tests",
        GroupEventData {
            group_id: group.into(),
            user_id: user.into(),
            reason: Some("removed".into()),
            at: chrono::Utc::now(),
        },
    )
}

async fn room_left(client: &mut Client, room: &str, wait: Duration) -> Value {
    client
        .expect(wait, "room:left", |line| {
            line["type"] == "event" && line["event"] == "room:left" && line["data"]["room"] == room
        })
        .await["data"]
        .clone()
}

async fn no_room_left(client: &mut Client, wait: Duration) -> bool {
    client
        .maybe(wait, |line| line["event"] == "room:left")
        .await
        .is_none()
}

/// The whole chain through auth-service: create, add, grants, chat; the
/// owner removes the member over HTTP and the member's socket is out of the
/// room within a second; the old grant and a new one are both refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_removed_member_is_evicted_within_a_second_and_cannot_come_back() {
    let backend = Backend::start().await;
    let auth = backend.auth_service(Duration::from_secs(10)).await;
    let mut config = backend.config();
    config.jwks_url = auth.jwks_url();
    let app = TestApp::spawn(config).await;

    let (alice, bob) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let alice_token = auth
        .bridged_with(&supabase::claims_for(
            &alice,
            &uuid::Uuid::new_v4().to_string(),
        ))
        .await
        .access_token;
    let bob_token = auth
        .bridged_with(&supabase::claims_for(
            &bob,
            &uuid::Uuid::new_v4().to_string(),
        ))
        .await
        .access_token;
    let api = |path: &str| auth.url(path);
    let created: Value = auth
        .client
        .post(api("/api/groups"))
        .bearer_auth(&alice_token)
        .json(&json!({"name": "Nexus team"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let group = created["group"]["id"]
        .as_str()
        .expect("group id")
        .to_owned();
    let added = auth
        .client
        .post(api(&format!("/api/groups/{group}/members")))
        .bearer_auth(&alice_token)
        .json(&json!({"user_id": bob}))
        .send()
        .await
        .expect("add");
    assert_eq!(added.status(), 200);
    let grant_of = |token: String| {
        let request = auth
            .client
            .post(api(&format!("/api/groups/{group}/grant")))
            .bearer_auth(token);
        async move { request.send().await.expect("grant") }
    };
    let alice_grant: Value = grant_of(alice_token.clone())
        .await
        .json()
        .await
        .expect("json");
    let bob_grant: Value = grant_of(bob_token.clone())
        .await
        .json()
        .await
        .expect("json");
    let room = format!("group:{group}");
    assert_eq!(bob_grant["room"], room.as_str());

    let mut alice_tab = connect(&app.url, &alice_token).await;
    let mut bob_tab = connect(&app.url, &bob_token).await;
    for (tab, grant) in [(&mut alice_tab, &alice_grant), (&mut bob_tab, &bob_grant)] {
        let joined = tab
            .emit("room:join", json!({"room": room, "grant": grant["grant"]}))
            .await;
        assert_eq!(joined["ok"], true, "{joined}");
    }
    let sent = bob_tab
        .emit("room:message", json!({"room": room, "text": "hi"}))
        .await;
    assert_eq!(sent["ok"], true, "{sent}");
    let heard = alice_tab.event("room:message").await;
    assert_eq!(heard["text"], "hi");

    let started = Instant::now();
    let removed = auth
        .client
        .delete(api(&format!("/api/groups/{group}/members/{bob}")))
        .bearer_auth(&alice_token)
        .send()
        .await
        .expect("remove");
    assert_eq!(removed.status(), 200);
    let left = room_left(&mut bob_tab, &room, Duration::from_secs(5)).await;
    assert_eq!(left["reason"], "removed");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    // Out of the room: cannot post, hears nothing more, the owner stays.
    let refused = bob_tab
        .emit("room:message", json!({"room": room, "text": "still here?"}))
        .await;
    assert_eq!(error_code(&refused).as_deref(), Some("not_in_room"));
    let presence = alice_tab
        .expect(Duration::from_secs(5), "bob's departure", |line| {
            line["event"] == "room:presence" && line["data"]["left"]["id"] == bob.as_str()
        })
        .await;
    assert_eq!(presence["data"]["room"], room.as_str());
    let still = alice_tab
        .emit("room:message", json!({"room": room, "text": "bye bob"}))
        .await;
    assert_eq!(still["ok"], true, "{still}");
    assert!(
        bob_tab
            .maybe(Duration::from_millis(500), |line| line["event"]
                == "room:message")
            .await
            .is_none(),
        "a removed member still hears the room"
    );

    // The old grant has not expired, yet it no longer admits; no new grant.
    let rejoin = bob_tab
        .emit(
            "room:join",
            json!({"room": room, "grant": bob_grant["grant"]}),
        )
        .await;
    assert_eq!(
        error_code(&rejoin).as_deref(),
        Some("not_a_member"),
        "{rejoin}"
    );
    let no_grant = grant_of(bob_token.clone()).await;
    assert_eq!(no_grant.status(), 404);

    // Deleting the group evicts the owner too.
    let deleted = auth
        .client
        .delete(api(&format!("/api/groups/{group}")))
        .bearer_auth(&alice_token)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 200);
    let left = room_left(&mut alice_tab, &room, Duration::from_secs(5)).await;
    assert_eq!(left["reason"], "removed");

    alice_tab.close().await;
    bob_tab.close().await;
    app.stop().await;
    auth.stop().await;
    backend.stop().await;
}

/// Without the event (lost), the periodic re-check takes the removed member
/// out within one interval, in one batched call, and leaves members alone.
#[tokio::test(flavor = "multi_thread")]
async fn the_recheck_evicts_a_removed_member_when_the_event_is_lost() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.recheck_interval = Duration::from_millis(700);
    let app = TestApp::spawn(config).await;
    let group = create_group(&backend, "olga").await;
    add_member(&backend, &group, "olga", "lost").await;
    let room = format!("group:{group}");
    let olga_sid = backend.session("olga").await;
    let lost_sid = backend.session("lost").await;
    let mut olga = connect(&app.url, &backend.jwks.token("olga", &olga_sid, None)).await;
    let mut lost = connect(&app.url, &backend.jwks.token("lost", &lost_sid, None)).await;
    for (client, user) in [(&mut olga, "olga"), (&mut lost, "lost")] {
        let joined = client
            .emit(
                "room:join",
                json!({"room": room, "grant": grant(user, &room)}),
            )
            .await;
        assert_eq!(joined["ok"], true, "{joined}");
    }

    remove_silently(&backend, &group, "olga", "lost").await;
    let left = room_left(&mut lost, &room, Duration::from_secs(5)).await;
    assert_eq!(left["reason"], "removed");
    assert!(
        no_room_left(&mut olga, Duration::from_millis(1500)).await,
        "the re-check evicted a member"
    );
    // The socket itself stays connected: only the room is gone.
    let other = lost
        .emit("room:join", json!({"room": "darkroom:after"}))
        .await;
    assert_eq!(other["ok"], true, "{other}");
    olga.close().await;
    lost.close().await;
    app.stop().await;
    backend.stop().await;
}

/// A member is out at the grant's `exp`, a fresh grant extends the stay, and
/// the expired grant admits nobody.
#[tokio::test(flavor = "multi_thread")]
async fn a_member_leaves_at_grant_expiry_unless_a_fresh_grant_extends_it() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let group = create_group(&backend, "tess").await;
    let room = format!("group:{group}");
    let sid = backend.session("tess").await;
    let mut tess = connect(&app.url, &backend.jwks.token("tess", &sid, None)).await;

    let short = grant_for("tess", &room, 2);
    let joined = tess
        .emit("room:join", json!({"room": room, "grant": short}))
        .await;
    assert_eq!(joined["ok"], true, "{joined}");
    // Extended by a join with a longer grant: no eviction at the first exp.
    let longer = grant_for("tess", &room, 5);
    let extended = tess
        .emit("room:join", json!({"room": room, "grant": longer}))
        .await;
    assert_eq!(extended["ok"], true, "{extended}");
    assert!(
        no_room_left(&mut tess, Duration::from_secs(3)).await,
        "evicted at the superseded expiry"
    );
    let left = room_left(&mut tess, &room, Duration::from_secs(6)).await;
    assert_eq!(left["reason"], "grant_expired");
    let out = tess
        .emit("room:message", json!({"room": room, "text": "x"}))
        .await;
    assert_eq!(error_code(&out).as_deref(), Some("not_in_room"));
    // Past its expiry (even within the verifier's leeway) the grant is dead.
    let again = tess
        .emit("room:join", json!({"room": room, "grant": longer}))
        .await;
    assert_eq!(
        error_code(&again).as_deref(),
        Some("grant_invalid"),
        "{again}"
    );
    let fresh = tess
        .emit(
            "room:join",
            json!({"room": room, "grant": grant("tess", &room)}),
        )
        .await;
    assert_eq!(fresh["ok"], true, "{fresh}");
    tess.close().await;
    app.stop().await;
    backend.stop().await;
}

/// One event evicts every socket of the user on every instance; duplicates,
/// malformed events and another user's removal change nothing else; a
/// valid grant of a non-member is refused.
#[tokio::test(flavor = "multi_thread")]
async fn an_event_evicts_the_user_everywhere_and_only_them() {
    let backend = Backend::start().await;
    let first = TestApp::spawn(backend.config()).await;
    let second = TestApp::spawn(backend.config()).await;
    let group = create_group(&backend, "owen").await;
    add_member(&backend, &group, "owen", "mia").await;
    let room = format!("group:{group}");
    let mia_sid = backend.session("mia").await;
    let owen_sid = backend.session("owen").await;
    let mia_token = backend.jwks.token("mia", &mia_sid, None);
    let mut mia_one = connect(&first.url, &mia_token).await;
    let mut mia_two = connect(&second.url, &mia_token).await;
    let mut owen = connect(&second.url, &backend.jwks.token("owen", &owen_sid, None)).await;
    for (client, user) in [
        (&mut mia_one, "mia"),
        (&mut mia_two, "mia"),
        (&mut owen, "owen"),
    ] {
        let joined = client
            .emit(
                "room:join",
                json!({"room": room, "grant": grant(user, &room)}),
            )
            .await;
        assert_eq!(joined["ok"], true, "{joined}");
    }
    // A stranger with a correctly signed grant is still not a member.
    let stranger_sid = backend.session("stranger").await;
    let mut stranger = connect(
        &first.url,
        &backend.jwks.token("stranger", &stranger_sid, None),
    )
    .await;
    let refused = stranger
        .emit(
            "room:join",
            json!({"room": room, "grant": grant("stranger", &room)}),
        )
        .await;
    assert_eq!(
        error_code(&refused).as_deref(),
        Some("not_a_member"),
        "{refused}"
    );

    // Garbage and events about other groups or users: nobody leaves.
    publish_raw(&backend, GROUP_MEMBER_REMOVED_KEY, b"{not json").await;
    let bad = serde_json::to_vec(&member_removed("../x", "mia")).expect("json");
    publish_raw(&backend, GROUP_MEMBER_REMOVED_KEY, &bad).await;
    let other_user = serde_json::to_vec(&member_removed(&group, "someone-else")).expect("json");
    publish_raw(&backend, GROUP_MEMBER_REMOVED_KEY, &other_user).await;
    assert!(no_room_left(&mut mia_one, Duration::from_millis(800)).await);

    remove_silently(&backend, &group, "owen", "mia").await;
    let event = serde_json::to_vec(&member_removed(&group, "mia")).expect("json");
    publish_raw(&backend, GROUP_MEMBER_REMOVED_KEY, &event).await;
    publish_raw(&backend, GROUP_MEMBER_REMOVED_KEY, &event).await;
    for client in [&mut mia_one, &mut mia_two] {
        let left = room_left(client, &room, Duration::from_secs(5)).await;
        assert_eq!(left["reason"], "removed");
    }
    assert!(no_room_left(&mut owen, Duration::from_millis(800)).await);
    let count = mia_two
        .seen
        .iter()
        .filter(|line| line["event"] == "room:left")
        .count();
    assert_eq!(count, 1, "the duplicate was ignored");

    for client in [mia_one, mia_two, owen, stranger] {
        client.close().await;
    }
    first.stop().await;
    second.stop().await;
    backend.stop().await;
}
