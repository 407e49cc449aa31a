//! The room relay between realtime instances: a thin layer, not a framework.
//!
//! A transient direct exchange (`nexus.rooms`) keyed by room name; each
//! instance has one exclusive, auto-delete queue bound to exactly the rooms
//! it has local members in. Every message carries the publishing instance's
//! id and instances skip their own. Delivery is at most once, like
//! Socket.IO's own adapters: while the broker is down, instances keep serving
//! their local sockets and cross-instance traffic is dropped (and counted).
//!
//! Chat messages are published only while another instance has been heard
//! from in the room (its `sync`, presence or snapshots, refreshed every few
//! seconds), so a room living on one instance costs no broker traffic.
//! Presence travels as deltas (join/leave) plus a snapshot of each room's
//! local members every few seconds; a new instance in a room asks the others
//! for their snapshot with a `sync` message (see `rooms::presence`).
//!
//! Hangouts: every queue is also bound to the routing key `hangouts`, where
//! the creating instance announces each new hangout and an instance asks
//! about an (authentic) hangout it does not know; answers go to the asking
//! instance's own key `instance.<id>` (see `rooms::hangouts`).
//!
//! A relayed chat message is re-sequenced by each receiving instance (its
//! own `seq` and epoch for the room, `rooms::history`), under the room's
//! sequencer like a local message, so recovery works the same for both.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use lapin::options::{BasicPublishOptions, ExchangeDeclareOptions, QueueBindOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ExchangeKind};
use serde::{Deserialize, Serialize};
use socketioxide::SocketIo;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

use crate::domain::room::RoomName;
use crate::domain::text::HangoutName;
use crate::rooms::hangouts::Hangout;
use crate::rooms::{ChatMessage, Member};
use crate::state::AppState;

/// Routing key every instance is bound to, for hangout announcements and
/// lookups.
pub const HANGOUTS_KEY: &str = "hangouts";

/// What travels between instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    pub origin: String,
    pub room: String,
    #[serde(flatten)]
    pub body: RelayBody,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RelayBody {
    Message {
        message: ChatMessage,
    },
    Presence {
        member: Member,
        joined: bool,
    },
    Snapshot {
        members: Vec<Member>,
    },
    Sync,
    /// A hangout exists (announced on creation, or the answer to a lookup).
    Hangout {
        hangout: Hangout,
    },
    /// Who knows the hangout `room`? Answer to `instance.<reply_to>`.
    HangoutLookup {
        reply_to: String,
    },
}

#[derive(Clone)]
struct Link {
    channel: Channel,
    queue: ShortString,
}

/// This instance's end of the relay.
pub struct Relay {
    exchange: String,
    instance: String,
    link: RwLock<Option<Link>>,
    connected: AtomicBool,
}

impl Relay {
    pub fn new(exchange: String, instance: String) -> Self {
        Self {
            exchange,
            instance,
            link: RwLock::new(None),
            connected: AtomicBool::new(false),
        }
    }

    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// The routing key only this instance is bound to.
    pub fn instance_key(&self) -> String {
        instance_key(&self.instance)
    }

    /// Starts receiving a room's traffic (first local member joined).
    pub async fn bind(&self, room: &str) {
        let Some(link) = self.link.read().await.clone() else {
            return;
        };
        if let Err(error) = link
            .channel
            .queue_bind(
                link.queue.clone(),
                self.exchange.as_str().into(),
                room.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
        {
            tracing::warn!(%error, "relay: cannot bind a room");
        }
    }

    /// Stops receiving a room's traffic (last local member left).
    pub async fn unbind(&self, room: &str) {
        let Some(link) = self.link.read().await.clone() else {
            return;
        };
        if let Err(error) = link
            .channel
            .queue_unbind(
                link.queue.clone(),
                self.exchange.as_str().into(),
                room.into(),
                FieldTable::default(),
            )
            .await
        {
            tracing::warn!(%error, "relay: cannot unbind a room");
        }
    }

    /// Publishes to the other instances in `room`; `false` when it could
    /// not (broker down), the caller counts the drop.
    pub async fn publish(&self, room: &str, body: RelayBody) -> bool {
        self.publish_to(room, room, body).await
    }

    /// Announces a new hangout to every instance.
    pub async fn announce_hangout(&self, hangout: Hangout) -> bool {
        let room = hangout.room.clone();
        self.publish_to(HANGOUTS_KEY, &room, RelayBody::Hangout { hangout })
            .await
    }

    /// Asks every instance about the hangout `room`.
    pub async fn ask_hangout(&self, room: &str) -> bool {
        let reply_to = self.instance.clone();
        self.publish_to(HANGOUTS_KEY, room, RelayBody::HangoutLookup { reply_to })
            .await
    }

    /// Publishes an envelope about `room` under routing key `key`.
    async fn publish_to(&self, key: &str, room: &str, body: RelayBody) -> bool {
        let Some(link) = self.link.read().await.clone() else {
            return false;
        };
        let envelope = Envelope {
            origin: self.instance.clone(),
            room: room.to_owned(),
            body,
        };
        let Ok(payload) = serde_json::to_vec(&envelope) else {
            return false;
        };
        match link
            .channel
            .basic_publish(
                self.exchange.as_str().into(),
                key.into(),
                BasicPublishOptions::default(),
                &payload,
                BasicProperties::default().with_content_type("application/json".into()),
            )
            .await
        {
            Ok(_) => true,
            Err(error) => {
                tracing::debug!(%error, "relay: publish failed");
                false
            }
        }
    }
}

/// Keeps the relay connected until cancelled.
pub async fn run(state: Arc<AppState>, io: SocketIo, amqp_url: String, stop: CancellationToken) {
    // Named per instance so an operator (or a test) can tell connections apart.
    let name = format!("realtime-relay {}", state.instance_id);
    loop {
        let connection = tokio::select! {
            connection = nexus_common::amqp::connect_with_backoff(&amqp_url, &name) => connection,
            () = stop.cancelled() => return,
        };
        match attach(&state, &io, &connection, &stop).await {
            Ok(()) => {
                detach(&state).await;
                let _ = connection.close(200, "shutting down".into()).await;
                return;
            }
            Err(error) => {
                detach(&state).await;
                tracing::warn!(%error, "relay: broker link lost, reconnecting");
                let _ = connection.close(200, "reconnecting".into()).await;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
            () = stop.cancelled() => return,
        }
    }
}

async fn detach(state: &AppState) {
    state.relay.connected.store(false, Ordering::Relaxed);
    *state.relay.link.write().await = None;
}

/// Declares the topology, rebinds the local rooms and consumes until the
/// connection fails (`Err`) or the instance stops (`Ok`).
async fn attach(
    state: &Arc<AppState>,
    io: &SocketIo,
    connection: &Connection,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let relay = &state.relay;
    let channel = connection.create_channel().await?;
    channel
        .exchange_declare(
            relay.exchange.as_str().into(),
            ExchangeKind::Direct,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let queue = nexus_common::amqp::declare_private_queue(&channel).await?;
    let queue_name = queue.name().clone();
    let mut consumer =
        nexus_common::amqp::consume_without_ack(&channel, queue_name.clone()).await?;
    *relay.link.write().await = Some(Link {
        channel: channel.clone(),
        queue: queue_name,
    });
    relay.bind(HANGOUTS_KEY).await;
    relay.bind(&relay.instance_key()).await;
    for room in state.presence.local_rooms() {
        relay.bind(&room).await;
        relay.publish(&room, RelayBody::Sync).await;
    }
    relay.connected.store(true, Ordering::Relaxed);
    tracing::info!("relay: attached to the broker");
    loop {
        let delivery = tokio::select! {
            delivery = consumer.next() => delivery,
            () = stop.cancelled() => return Ok(()),
        };
        match delivery {
            Some(Ok(delivery)) => match serde_json::from_slice::<Envelope>(&delivery.data) {
                Ok(envelope) if envelope.origin != relay.instance => {
                    state.metrics.relay_in();
                    handle(state, io, envelope).await;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "relay: unreadable message dropped"),
            },
            Some(Err(error)) => return Err(error.into()),
            None => anyhow::bail!("the broker closed the relay consumer"),
        }
    }
}

/// Re-emits another instance's traffic to the local sockets.
async fn handle(state: &Arc<AppState>, io: &SocketIo, envelope: Envelope) {
    let Envelope { origin, room, body } = envelope;
    state.presence.touch_peer(&room, &origin);
    match body {
        RelayBody::Message { message } => {
            if message.room != room {
                return;
            }
            // Sequenced here, in this instance's order of the room.
            let mut sequencer = state.history.sequencer(&room).await;
            let Some(message) = sequencer.append(message) else {
                return;
            };
            if let Err(error) = io.to(room).emit("room:message", &message).await {
                tracing::debug!(%error, "relay: local broadcast failed");
            }
            drop(sequencer);
            state.metrics.message_out();
        }
        RelayBody::Hangout { hangout } => {
            if hangout.room == room && is_genuine(state, &hangout) {
                state.hangouts.remember(hangout);
            }
        }
        RelayBody::HangoutLookup { reply_to } => {
            if let Some(hangout) = state.hangouts.get(&room)
                && is_instance_id(&reply_to)
            {
                let body = RelayBody::Hangout {
                    hangout: (*hangout).clone(),
                };
                state
                    .relay
                    .publish_to(&instance_key(&reply_to), &room, body)
                    .await;
            }
        }
        RelayBody::Presence { member, joined } => {
            if state.presence.remote_delta(&origin, &room, &member, joined) {
                let members = state.presence.members(&room);
                let change = if joined { "joined" } else { "left" };
                let payload =
                    serde_json::json!({ "room": room, change: member, "members": members });
                if let Err(error) = io.to(room).emit("room:presence", &payload).await {
                    tracing::debug!(%error, "relay: presence broadcast failed");
                }
                state.metrics.message_out();
            }
        }
        RelayBody::Snapshot { members } => state.presence.remote_snapshot(&origin, &room, members),
        RelayBody::Sync => {
            let members = state.presence.local_members(&room);
            if !members.is_empty() {
                state
                    .relay
                    .publish(&room, RelayBody::Snapshot { members })
                    .await;
            }
        }
    }
}

fn instance_key(instance: &str) -> String {
    format!("instance.{instance}")
}

/// Instance ids are 32 lower-case hex digits (`startup`); anything else is
/// not answered.
fn is_instance_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A hangout announcement is kept only if its id is one an instance minted
/// and its name is one `hangout:create` accepts.
fn is_genuine(state: &AppState, hangout: &Hangout) -> bool {
    RoomName::parse(&hangout.room).is_ok_and(|room| state.hangout_ids.is_authentic(&room))
        && HangoutName::parse(&hangout.name).is_ok_and(|name| name.as_str() == hangout.name)
}

/// Publishes this instance's presence snapshots and expires stale remote
/// presence, every `interval`, until cancelled.
pub async fn run_snapshots(state: Arc<AppState>, interval: Duration, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => return,
        }
        state.presence.expire();
        if !state.relay.is_connected() {
            continue;
        }
        for room in state.presence.local_rooms() {
            let members = state.presence.local_members(&room);
            state
                .relay
                .publish(&room, RelayBody::Snapshot { members })
                .await;
        }
    }
}
