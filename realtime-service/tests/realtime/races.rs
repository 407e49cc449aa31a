//! Issue 9's races, each provoked on purpose: gates held at the racy point
//! (`realtime_service::faults`) or many iterations with the real client.

use std::time::Duration;

use nexus_common::events::SessionEventKind;
use realtime_service::domain::ids::SessionId;
use realtime_service::faults::Gate;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::raw::RawSocket;

fn member_ids(presence: &[realtime_service::rooms::Member]) -> Vec<String> {
    presence
        .iter()
        .map(|member| member.id.clone().unwrap_or_default())
        .collect()
}

/// Race 1: socketioxide spawns the connect handler after CONNECT reached the
/// client. Held there, an emit sent inside the client's `connect` callback
/// is still answered, and a disconnect before the handler ran leaves no
/// room, session registration or gauge behind.
#[tokio::test(flavor = "multi_thread")]
async fn events_and_disconnects_before_the_connect_handler_ran_are_handled() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    let gate = Gate::armed();
    config.faults.connect_handler = gate.clone();
    let app = TestApp::spawn(config).await;
    let early = hangout(&[&app], "early");
    let sid = backend.session("early").await;
    let token = backend.jwks.token("early", &sid, None);

    let mut client = Client::spawn(
        &app.url,
        Auth::Payload(&token),
        &Options {
            on_connect: Some(json!([["room:join", {"room": early}]])),
            ..Options::default()
        },
    );
    gate.reached().await;
    client
        .connected()
        .await
        .expect("CONNECT reached the client");
    let ack = client.ack_of(json!("on_connect:0")).await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(
        member_ids(&app.state.presence.members(&early)),
        vec!["early"]
    );

    // Gone before the connect handler ran.
    client.send(json!({"cmd": "disconnect"})).await;
    eventually("the disconnect handler emptied the room", || {
        app.state.presence.members(&early).is_empty()
    })
    .await;
    gate.release(1);
    gate.finished().await;
    assert!(
        app.state.sessions.list().is_empty(),
        "session left registered"
    );
    assert_eq!(app.state.metrics.connections(), 0);
    assert_eq!(app.metric("realtime_rooms").await, 0);
    assert_eq!(app.state.room_locks.live(), 0);
    client.close().await;

    // A normal socket is counted once the handler ran, and uncounted after.
    gate.open_for_good();
    let client = connect(&app.url, &token).await;
    gate.finished().await;
    assert_eq!(app.state.metrics.connections(), 1);
    client.close().await;
    eventually("the gauge is back to 0", || {
        app.state.metrics.connections() == 0 && app.state.sessions.list().is_empty()
    })
    .await;
    app.stop().await;
    backend.stop().await;
}

/// Race 1 again, unaided: many real clients emit `room:join` inside their
/// `connect` callback, over both transports; every emit gets its ack.
#[tokio::test(flavor = "multi_thread")]
async fn many_clients_emitting_on_connect_all_get_acks() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.limits.connects_per_second = 10_000;
    config.limits.connect_burst = 10_000;
    let app = TestApp::spawn(config).await;
    let sid = backend.session("burst").await;
    let token = backend.jwks.token("burst", &sid, None);
    for transports in ["websocket", "polling"] {
        let outcome = node_script(
            "connect-burst.mjs",
            &[
                ("URL", &app.url),
                ("TOKEN", &token),
                ("COUNT", "40"),
                ("AT_ONCE", "10"),
                ("TRANSPORTS", transports),
            ],
        )
        .await;
        assert_eq!(outcome["acked"], 40, "{transports}: {outcome}");
    }
    app.stop().await;
    backend.stop().await;
}

/// Race 2: the session is revoked after admission found it active and
/// before the socket joined `session:<sid>` (the kick cannot see it then).
/// The socket is refused with `session_revoked` instead of living on until
/// the next re-check.
#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_during_admission_refuses_the_socket() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    let gate = Gate::armed();
    config.faults.admit = gate.clone();
    let app = TestApp::spawn(config).await;
    let sid = backend.session("racer").await;
    let token = backend.jwks.token("racer", &sid, None);

    let mut client = Client::spawn(&app.url, Auth::Payload(&token), &Options::default());
    gate.reached().await;
    backend
        .publish(SessionEventKind::Revoked, "racer", &sid, Some("logout"))
        .await;
    let session = SessionId::parse(&sid).expect("session id");
    eventually("the revocation was handled", || {
        app.state.ended_sessions.reason(&session).is_some()
    })
    .await;
    gate.release(1);
    assert_eq!(
        client.connected().await.err().as_deref(),
        Some("session_revoked")
    );
    client.close().await;
    assert!(app.state.sessions.list().is_empty());
    assert!(app.io.sockets().is_empty());

    // Another session of the same user still gets in.
    gate.open_for_good();
    let other = backend.session("racer").await;
    connect(&app.url, &backend.jwks.token("racer", &other, None))
        .await
        .close()
        .await;
    app.stop().await;
    backend.stop().await;
}

/// Race 3 and 7: a client that stops reading fills its queue, so the
/// disconnect of its revoked socket fails. It is not counted as kicked, it
/// is out of its rooms at once (and refuses events), and it is closed for
/// sure (without a heartbeat to help); broadcasts it missed are counted.
#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_socket_with_a_full_queue_is_cut_off_then_closed() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.limits.socket_queue = 4;
    // Only the stalled writes may end the connection here, not the heartbeat.
    config.limits.ping_interval = Duration::from_secs(60);
    config.limits.ping_timeout = Duration::from_secs(60);
    config.limits.write_stall_timeout = Duration::from_secs(5);
    let app = TestApp::spawn(config).await;
    let stuck_room = hangout(&[&app], "stuck");
    let after = hangout(&[&app], "after");
    let sid = backend.session("stuck").await;
    let token = backend.jwks.token("stuck", &sid, None);
    let (mut stuck, answer) = RawSocket::connect(app.addr, &token, Some(4096)).await;
    assert!(answer.starts_with("40"), "{answer}");
    stuck
        .send_text(&format!(r#"42["room:join",{{"room":"{stuck_room}"}}]"#))
        .await;
    eventually("the stuck client joined", || {
        member_ids(&app.state.presence.members(&stuck_room)) == vec!["stuck"]
    })
    .await;

    // A normal member of the same room.
    let other = backend.session("reader").await;
    let mut reader = connect(&app.url, &backend.jwks.token("reader", &other, None)).await;
    reader.emit("room:join", json!({"room": stuck_room})).await;

    // Fill the stuck client's socket buffers and queue.
    let filler = "x".repeat(256 * 1024);
    let mut full = false;
    for _ in 0..2_000 {
        if app
            .io
            .to(format!("session:{sid}"))
            .emit("filler", &filler)
            .await
            .is_err()
        {
            full = true;
            break;
        }
    }
    assert!(full, "the stuck client's queue never filled");

    // Race 7: the room message the stuck client cannot take is counted.
    let sent = reader
        .emit(
            "room:message",
            json!({"room": stuck_room, "text": "hello?"}),
        )
        .await;
    assert_eq!(sent["ok"], true, "{sent}");
    assert!(app.metric("realtime_deliveries_dropped_total").await >= 1);

    backend
        .publish(SessionEventKind::Revoked, "stuck", &sid, Some("logout"))
        .await;
    let session = SessionId::parse(&sid).expect("session id");
    eventually("the revocation was handled", || {
        app.state.ended_sessions.reason(&session).is_some()
    })
    .await;
    assert_eq!(app.metric("realtime_kick_retries_total").await, 1);
    assert_eq!(
        app.metric("realtime_sessions_kicked_total").await,
        0,
        "a socket whose disconnect failed was counted as kicked"
    );
    // Out of the room at once: the reader sees it leave.
    let left = reader.event("room:presence").await;
    assert_eq!(left["left"]["id"], "stuck", "{left}");
    // Its events are refused from now on.
    stuck
        .send_text(&format!(r#"42["room:join",{{"room":"{after}"}}]"#))
        .await;
    // Closed for sure: the kernel drops the stalled connection
    // (`TCP_USER_TIMEOUT`), the retried disconnect then goes through.
    eventually("the stuck socket is closed", || app.io.sockets().len() == 1).await;
    eventually("the kick is counted once it went through", || {
        app.state.metrics.connections() == 1
            && app
                .state
                .metrics
                .render()
                .contains("realtime_sessions_kicked_total 1\n")
    })
    .await;
    assert!(app.state.presence.members(&after).is_empty());
    reader.close().await;
    app.stop().await;
    backend.stop().await;
}

/// Race 4: joins, leaves and disconnects of one room from two sockets,
/// sent back to back without waiting for acks, many times. Afterwards
/// presence holds exactly who is in, announcements never say "joined" after
/// the last "left", and the relay is still bound (a message from another
/// instance arrives).
#[tokio::test(flavor = "multi_thread")]
async fn interleaved_joins_leaves_and_disconnects_leave_no_ghosts() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.limits.events_per_second = 10_000;
    config.limits.event_burst = 10_000;
    let one = TestApp::spawn(config.clone()).await;
    let two = TestApp::spawn(config).await;
    let room = &hangout(&[&one, &two], "churn");
    let token_of = |user: &str, sid: &str| backend.jwks.token(user, sid, None);
    let sid_w = backend.session("watcher").await;
    let mut watcher = connect(&two.url, &token_of("watcher", &sid_w)).await;
    watcher.emit("room:join", json!({ "room": room })).await;

    let sid_c = backend.session("churner").await;
    let sid_s = backend.session("stayer").await;
    let mut churner = connect(&one.url, &token_of("churner", &sid_c)).await;
    let mut stayer = connect(&one.url, &token_of("stayer", &sid_s)).await;
    let mut stayer_refs = Vec::new();
    for _ in 0..40 {
        churner
            .emit_nowait("room:join", json!({ "room": room }))
            .await;
        stayer_refs.push(
            stayer
                .emit_nowait("room:join", json!({ "room": room }))
                .await,
        );
        churner
            .emit_nowait("room:leave", json!({ "room": room }))
            .await;
        stayer_refs.push(
            stayer
                .emit_nowait("room:leave", json!({ "room": room }))
                .await,
        );
    }
    churner
        .emit_nowait("room:join", json!({ "room": room }))
        .await;
    // The churner disconnects with its last join (and maybe more) in flight.
    churner.send(json!({"cmd": "disconnect"})).await;
    for reference in stayer_refs {
        stayer.ack_of(json!(reference)).await;
    }
    let last = stayer.emit("room:join", json!({ "room": room })).await;
    assert_eq!(last["ok"], true, "{last}");

    eventually("the churner's disconnect was handled", || {
        one.state.metrics.connections() == 1
    })
    .await;
    assert_eq!(
        member_ids(&one.state.presence.local_members(room)),
        vec!["stayer"]
    );
    assert_eq!(one.metric("realtime_rooms").await, 1);

    // Instance one is still bound: the watcher's message reaches the stayer.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = watcher
        .emit(
            "room:message",
            json!({ "room": room, "text": "still there?" }),
        )
        .await;
    assert_eq!(sent["ok"], true, "{sent}");
    let got = stayer
        .expect(Duration::from_secs(10), "the watcher's message", |line| {
            line["type"] == "event" && line["data"]["text"] == "still there?"
        })
        .await;
    assert_eq!(got["data"]["id"], sent["id"]);

    // The watcher's view of the churner (through the relay): alternating,
    // ending with "left" if it saw the churner at all.
    let mut churner_changes: Vec<&'static str> = Vec::new();
    churner_presence(&mut watcher, &mut churner_changes).await;
    for pair in churner_changes.windows(2) {
        assert_ne!(pair[0], pair[1], "{churner_changes:?}");
    }
    // Nothing, or a last "left": never a churner that stays "joined".
    assert!(
        churner_changes.last().is_none_or(|last| *last == "left"),
        "{churner_changes:?}"
    );

    stayer.close().await;
    watcher.close().await;
    one.stop().await;
    two.stop().await;
    backend.stop().await;
}

/// Race 4, one interleaving forced: the socket disconnects while its
/// `room:join` holds the room's lock and has not recorded the membership.
/// The disconnect is handled first; the join must then see the socket
/// closing and refuse, leaving no ghost member, room or relay binding.
#[tokio::test(flavor = "multi_thread")]
async fn a_join_in_flight_when_its_socket_disconnects_leaves_no_ghost() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    let gate = Gate::armed();
    config.faults.join_locked = gate.clone();
    let app = TestApp::spawn(config).await;
    let room = hangout(&[&app], "in-flight");
    let sid = backend.session("leaver").await;
    let mut client = connect(&app.url, &backend.jwks.token("leaver", &sid, None)).await;

    client
        .emit_nowait("room:join", json!({ "room": room }))
        .await;
    gate.reached().await;
    client.send(json!({"cmd": "disconnect"})).await;
    eventually("the disconnect was handled", || {
        app.state.metrics.connections() == 0
    })
    .await;
    gate.release(1);
    gate.finished().await;

    assert!(
        app.state.presence.members(&room).is_empty(),
        "ghost member: {:?}",
        member_ids(&app.state.presence.members(&room))
    );
    assert_eq!(app.metric("realtime_rooms").await, 0);
    eventually("the room's lock was released", || {
        app.state.room_locks.live() == 0
    })
    .await;
    client.close().await;
    app.stop().await;
    backend.stop().await;
}

/// Race 4, the relay side: the last member's leave is still unbinding the
/// room when another member joins. The join waits for the unbind (one lock
/// per room), so its bind comes after and the room stays bound: a message
/// from another instance reaches the new member.
#[tokio::test(flavor = "multi_thread")]
async fn a_join_during_the_last_leaves_unbind_keeps_the_room_bound() {
    let backend = Backend::start().await;
    let config = backend.config();
    let mut gated = config.clone();
    let (bind, unbind) = (Gate::armed(), Gate::armed());
    gated.faults.relay_bind = bind.clone();
    gated.faults.relay_unbind = unbind.clone();
    let one = TestApp::spawn(gated).await;
    let two = TestApp::spawn(config).await;
    let room = &hangout(&[&one, &two], "rebind");
    let token_of = |user: &str, sid: &str| backend.jwks.token(user, sid, None);
    let sid_w = backend.session("far").await;
    let mut far = connect(&two.url, &token_of("far", &sid_w)).await;
    far.emit("room:join", json!({ "room": room })).await;
    let sid_x = backend.session("leaver").await;
    let sid_y = backend.session("joiner").await;
    let mut leaver = connect(&one.url, &token_of("leaver", &sid_x)).await;
    let mut joiner = connect(&one.url, &token_of("joiner", &sid_y)).await;

    let joined = leaver
        .emit_nowait("room:join", json!({ "room": room }))
        .await;
    bind.reached().await;
    bind.release(1);
    assert_eq!(leaver.ack_of(json!(joined)).await["ok"], true);

    let left = leaver
        .emit_nowait("room:leave", json!({ "room": room }))
        .await;
    unbind.reached().await;
    let join = joiner
        .emit_nowait("room:join", json!({ "room": room }))
        .await;
    bind.open_for_good();
    // Without the room's lock the join would bind now, before the unbind;
    // give it the chance (with the lock it waits, and nothing happens).
    let _ = tokio::time::timeout(Duration::from_secs(1), bind.reached()).await;
    unbind.open_for_good();
    assert_eq!(leaver.ack_of(json!(left)).await["ok"], true);
    assert_eq!(joiner.ack_of(json!(join)).await["ok"], true);

    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = far
        .emit("room:message", json!({ "room": room, "text": "anyone?" }))
        .await;
    assert_eq!(sent["ok"], true, "{sent}");
    joiner
        .expect(
            Duration::from_secs(10),
            "the message from instance two",
            |line| line["event"] == "room:message" && line["data"]["id"] == sent["id"],
        )
        .await;
    for client in [far, leaver, joiner] {
        client.close().await;
    }
    one.stop().await;
    two.stop().await;
    backend.stop().await;
}

/// Reads the watcher's `room:presence` lines about the churner until none
/// has come for 2 s (called after the churner's disconnect was handled).
/// Under load the server may handle the disconnect before any of the
/// churner's in-flight events, which are then refused: no line at all.
async fn churner_presence(watcher: &mut Client, changes: &mut Vec<&'static str>) {
    let about_churner = |line: &Value| {
        line["type"] == "event"
            && line["event"] == "room:presence"
            && (line["data"]["joined"]["id"] == "churner"
                || line["data"]["left"]["id"] == "churner")
    };
    let record = |line: &Value, changes: &mut Vec<&'static str>| {
        if line["data"]["joined"]["id"] == "churner" {
            changes.push("joined");
        } else {
            changes.push("left");
        }
    };
    for line in watcher
        .seen
        .clone()
        .iter()
        .filter(|line| about_churner(line))
    {
        record(line, changes);
    }
    while let Some(line) = watcher.maybe(Duration::from_secs(2), about_churner).await {
        record(&line, changes);
    }
}

/// Race 5: presence across instances. The first joiner on an instance hears
/// of remote members when their snapshot arrives (after its join ack);
/// a crashed instance's members expire with `room:presence`; a shut-down
/// instance's members are announced as gone at once.
#[tokio::test(flavor = "multi_thread")]
async fn remote_presence_changes_always_reach_local_sockets() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.presence_snapshot_interval = Duration::from_millis(500);
    let mut slow = config.clone();
    // Instance one answers syncs late: its snapshot comes after the join ack.
    slow.faults.relay_publish_delay = Duration::from_millis(700);
    let one = TestApp::spawn(slow).await;
    let two = TestApp::spawn(config.clone()).await;
    let three = TestApp::spawn(config).await;
    let room = &hangout(&[&one, &two, &three], "presence");
    let sid_a = backend.session("ann").await;
    let sid_b = backend.session("ben").await;
    let sid_c = backend.session("cy").await;
    let mut ann = connect(&one.url, &backend.jwks.token("ann", &sid_a, None)).await;
    ann.emit("room:join", json!({ "room": room })).await;

    let mut ben = connect(&two.url, &backend.jwks.token("ben", &sid_b, None)).await;
    let joined = ben.emit("room:join", json!({ "room": room })).await;
    if !member_ids_of(&joined["members"]).contains(&"ann".to_owned()) {
        let presence = ben.event("room:presence").await;
        assert_eq!(presence["joined"]["id"], "ann", "{presence}");
        assert_eq!(member_ids_of(&presence["members"]), vec!["ann", "ben"]);
    }

    // Cy on instance three, then instance three crashes: Ann and Ben see
    // Cy go once the instance's presence expires.
    let mut cy = connect(&three.url, &backend.jwks.token("cy", &sid_c, None)).await;
    cy.emit("room:join", json!({ "room": room })).await;
    for client in [&mut ann, &mut ben] {
        client
            .expect(Duration::from_secs(10), "cy joined", |line| {
                line["event"] == "room:presence" && line["data"]["joined"]["id"] == "cy"
            })
            .await;
    }
    three.crash().await;
    for client in [&mut ann, &mut ben] {
        let left = client
            .expect(Duration::from_secs(15), "cy expired", |line| {
                line["event"] == "room:presence" && line["data"]["left"]["id"] == "cy"
            })
            .await;
        assert_eq!(member_ids_of(&left["data"]["members"]), vec!["ann", "ben"]);
    }
    cy.close().await;

    // Instance two shuts down: Ann hears that Ben left.
    two.stop().await;
    let left = ann
        .expect(Duration::from_secs(15), "ben left", |line| {
            line["event"] == "room:presence" && line["data"]["left"]["id"] == "ben"
        })
        .await;
    assert_eq!(member_ids_of(&left["data"]["members"]), vec!["ann"]);
    ben.close().await;
    ann.close().await;
    one.stop().await;
    backend.stop().await;
}

fn member_ids_of(members: &Value) -> Vec<String> {
    members
        .as_array()
        .map(|members| {
            members
                .iter()
                .filter_map(|member| member["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The relay publishes a room's messages only once another instance was
/// heard from there. A member joining on instance two while instance one's
/// member speaks (instance two still binding) gets the message anyway, once.
#[tokio::test(flavor = "multi_thread")]
async fn a_message_sent_while_another_instance_binds_still_reaches_its_joiner() {
    let backend = Backend::start().await;
    let config = backend.config();
    let mut binding = config.clone();
    let gate = Gate::armed();
    binding.faults.relay_bind = gate.clone();
    let one = TestApp::spawn(config).await;
    let two = TestApp::spawn(binding).await;
    let room = &hangout(&[&one, &two], "catchup");
    let sid_a = backend.session("amy").await;
    let sid_b = backend.session("bo").await;
    let mut amy = connect(&one.url, &backend.jwks.token("amy", &sid_a, None)).await;
    amy.emit("room:join", json!({ "room": room })).await;
    let mut bo = connect(&two.url, &backend.jwks.token("bo", &sid_b, None)).await;
    let join = bo.emit_nowait("room:join", json!({ "room": room })).await;
    gate.reached().await;
    let sent = amy
        .emit("room:message", json!({ "room": room, "text": "right now" }))
        .await;
    assert_eq!(sent["ok"], true, "{sent}");
    gate.open_for_good();
    assert_eq!(bo.ack_of(json!(join)).await["ok"], true);
    let got = bo
        .expect(
            Duration::from_secs(10),
            "the message sent while binding",
            |line| line["event"] == "room:message" && line["data"]["text"] == "right now",
        )
        .await;
    assert_eq!(got["data"]["id"], sent["id"]);
    // And later messages flow as usual, each once.
    let later = amy
        .emit("room:message", json!({ "room": room, "text": "later" }))
        .await;
    bo.expect(Duration::from_secs(10), "the later message", |line| {
        line["event"] == "room:message" && line["data"]["id"] == later["id"]
    })
    .await;
    let copies = bo
        .seen
        .iter()
        .filter(|line| line["event"] == "room:message" && line["data"]["id"] == sent["id"])
        .count();
    assert_eq!(copies, 1);
    amy.close().await;
    bo.close().await;
    one.stop().await;
    two.stop().await;
    backend.stop().await;
}

/// Race 6: a broker that takes 30 s per publish delays no ack: the message
/// ack follows the local emit, the relay publish waits in its queue.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_broker_never_holds_acks() {
    let backend = Backend::start().await;
    let mut config = backend.config();
    config.faults.relay_publish_delay = Duration::from_secs(30);
    let app = TestApp::spawn(config).await;
    let slow = hangout(&[&app], "slow");
    let sid_a = backend.session("ack-a").await;
    let sid_b = backend.session("ack-b").await;
    let mut a = connect(&app.url, &backend.jwks.token("ack-a", &sid_a, None)).await;
    let mut b = connect(&app.url, &backend.jwks.token("ack-b", &sid_b, None)).await;
    // Joins publish (sync, presence) and messages too: all answered while
    // the first publish is still held (the acks' own 5 s client timeout
    // would show `{timeout: true}` otherwise).
    for client in [&mut a, &mut b] {
        let ack = client.emit("room:join", json!({ "room": slow })).await;
        assert_eq!(ack["ok"], true, "{ack}");
    }
    for text in ["one", "two", "three"] {
        let ack = a
            .emit("room:message", json!({ "room": slow, "text": text }))
            .await;
        assert_eq!(ack["ok"], true, "{ack}");
        assert_eq!(b.event("room:message").await["text"], text);
    }
    a.close().await;
    b.close().await;
    app.stop().await;
    backend.stop().await;
}
