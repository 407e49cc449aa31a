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
//! for their snapshot with a `sync` message (see `rooms::presence`). Every
//! change of the merged view reaches local sockets as `room:presence`: a
//! snapshot that shows new remote members, an instance that went silent
//! (crashed) and expired, an instance that left (its empty snapshots at
//! shutdown, sent before the broker connection closes).
//!
//! The `sync` of an instance that starts holding a room carries `since`
//! (the join time less [`CATCH_UP_SLACK_MS`]): the others answer with the
//! messages of their history from then on. Until they have heard the
//! `sync`, they do not publish the room's messages (no peer known), so
//! without this a member who just joined on one instance would miss what is
//! said at once on another. Receivers drop messages they already have (by
//! id), so a message reaches each socket once.
//!
//! A relayed chat message is re-sequenced by each receiving instance (its
//! own `seq` and epoch for the room, `rooms::history`), under the room's
//! sequencer like a local message, so recovery works the same for both.
//!
//! Hangouts: every queue is also bound to the routing key `hangouts`, where
//! the creating instance announces each new hangout and an instance asks
//! about an (authentic) hangout it does not know; answers go to the asking
//! instance's own key `instance.<id>` (see `rooms::hangouts`).
//!
//! Nothing a client waits for awaits the broker without a deadline:
//! publishes go through one publisher task and a bounded queue (full: the
//! message is dropped and counted), bind and unbind give up after
//! `RELAY_DEADLINE` (the next reconnect rebinds the local rooms).
//!
//! This module is the link only: [`Relay`] is the outbound port handlers
//! publish through, and what arrives is handed to a [`RelayInbound`] (the
//! service's dispatch, `dispatch::relay`), so the link never needs the
//! instance's state.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use lapin::options::{BasicPublishOptions, ExchangeDeclareOptions, QueueBindOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ExchangeKind};
use moka::sync::Cache;
use nexus_common::amqp::Supervised;
use serde::{Deserialize, Serialize};
use tokio::sync::{RwLock, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::faults::Faults;
use crate::metrics::Metrics;
use crate::rooms::hangouts::Hangout;
use crate::rooms::{ChatMessage, Member};

/// Routing key every instance is bound to, for hangout announcements and
/// lookups.
pub const HANGOUTS_KEY: &str = "hangouts";

/// How far before its join an instance asks for missed messages (clock
/// differences between instances).
pub const CATCH_UP_SLACK_MS: i64 = 2_000;

/// Relay messages waiting for the publisher task at most.
const OUTBOX: usize = 10_000;

/// Message ids remembered to drop duplicates (catch-up answers).
const SEEN_IDS: u64 = 100_000;

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
    /// "I now hold this room": answer with a snapshot and, with `since`,
    /// the messages from then on (milliseconds since the Unix epoch).
    Sync {
        #[serde(default)]
        since: Option<i64>,
    },
    /// A hangout exists (announced on creation, or the answer to a lookup).
    Hangout {
        hangout: Hangout,
    },
    /// Who knows the hangout `room`? Answer to `instance.<reply_to>`.
    HangoutLookup {
        reply_to: String,
    },
}

enum Outgoing {
    /// An envelope and the routing key it goes out under (boxed: the queue
    /// holds up to `OUTBOX` of them).
    Publish(String, Box<Envelope>),
    Flush(oneshot::Sender<()>),
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
    outbox: mpsc::Sender<Outgoing>,
    /// Taken by the publisher task when it starts.
    outbox_rx: Mutex<Option<mpsc::Receiver<Outgoing>>>,
    deadline: Duration,
    faults: Faults,
    seen: Cache<String, ()>,
}

impl Relay {
    pub fn new(exchange: String, instance: String, deadline: Duration, faults: Faults) -> Self {
        let (outbox, outbox_rx) = mpsc::channel(OUTBOX);
        Self {
            exchange,
            instance,
            link: RwLock::new(None),
            connected: AtomicBool::new(false),
            outbox,
            outbox_rx: Mutex::new(Some(outbox_rx)),
            deadline,
            faults,
            seen: Cache::builder()
                .max_capacity(SEEN_IDS)
                .time_to_live(Duration::from_secs(120))
                .build(),
        }
    }

    /// Notes a message this instance emitted; `false` when it already had.
    pub fn first_sight(&self, id: &str) -> bool {
        if self.seen.contains_key(id) {
            return false;
        }
        self.seen.insert(id.to_owned(), ());
        true
    }

    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// The routing key only this instance is bound to.
    pub fn instance_key(&self) -> String {
        instance_key(&self.instance)
    }

    /// Starts receiving a room's traffic (first local member joined);
    /// gives up after the deadline.
    pub async fn bind(&self, room: &str) {
        drop(self.faults.relay_bind.pass().await);
        self.bind_key(room).await;
    }

    /// Binds this instance's queue to routing key `key` (a room, or one of
    /// the fixed keys `hangouts` and `instance.<id>`); gives up after the
    /// deadline.
    async fn bind_key(&self, key: &str) {
        let Some(link) = self.link.read().await.clone() else {
            return;
        };
        let bound = tokio::time::timeout(
            self.deadline,
            link.channel.queue_bind(
                link.queue.clone(),
                self.exchange.as_str().into(),
                key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            ),
        )
        .await;
        match bound {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, key, "relay: cannot bind"),
            Err(_) => tracing::warn!(key, "relay: binding timed out"),
        }
    }

    /// Stops receiving a room's traffic (last local member left); gives up
    /// after the deadline.
    pub async fn unbind(&self, room: &str) {
        drop(self.faults.relay_unbind.pass().await);
        let Some(link) = self.link.read().await.clone() else {
            return;
        };
        let unbound = tokio::time::timeout(
            self.deadline,
            link.channel.queue_unbind(
                link.queue.clone(),
                self.exchange.as_str().into(),
                room.into(),
                FieldTable::default(),
            ),
        )
        .await;
        match unbound {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "relay: cannot unbind a room"),
            Err(_) => tracing::warn!("relay: unbinding a room timed out"),
        }
    }

    /// Queues a message to the other instances in `room`; `false` when it
    /// cannot go (broker down, queue full): the caller counts the drop.
    pub fn publish(&self, room: &str, body: RelayBody) -> bool {
        self.publish_to(room, room, body)
    }

    /// Announces a new hangout to every instance.
    pub fn announce_hangout(&self, hangout: Hangout) -> bool {
        let room = hangout.room.clone();
        self.publish_to(HANGOUTS_KEY, &room, RelayBody::Hangout { hangout })
    }

    /// Asks every instance about the hangout `room`.
    pub fn ask_hangout(&self, room: &str) -> bool {
        let reply_to = self.instance.clone();
        self.publish_to(HANGOUTS_KEY, room, RelayBody::HangoutLookup { reply_to })
    }

    /// Answers another instance's lookup (`reply_to` is its id) with a
    /// hangout this instance knows; ids that are not instance ids are not
    /// answered.
    pub fn answer_hangout(&self, reply_to: &str, hangout: Hangout) -> bool {
        if !is_instance_id(reply_to) {
            return false;
        }
        let room = hangout.room.clone();
        self.publish_to(
            &instance_key(reply_to),
            &room,
            RelayBody::Hangout { hangout },
        )
    }

    /// Queues an envelope about `room` under routing key `key`.
    fn publish_to(&self, key: &str, room: &str, body: RelayBody) -> bool {
        if !self.is_connected() {
            return false;
        }
        let envelope = Envelope {
            origin: self.instance.clone(),
            room: room.to_owned(),
            body,
        };
        self.outbox
            .try_send(Outgoing::Publish(key.to_owned(), Box::new(envelope)))
            .is_ok()
    }

    /// Waits (at most `deadline`) until what was queued before is published.
    pub async fn flush(&self, deadline: Duration) -> bool {
        let (done, flushed) = oneshot::channel();
        if self.outbox.try_send(Outgoing::Flush(done)).is_err() {
            return false;
        }
        matches!(tokio::time::timeout(deadline, flushed).await, Ok(Ok(())))
    }

    async fn send(&self, key: &str, envelope: &Envelope) -> bool {
        crate::faults::delay(self.faults.relay_publish_delay).await;
        let Some(link) = self.link.read().await.clone() else {
            return false;
        };
        let Ok(payload) = serde_json::to_vec(envelope) else {
            return false;
        };
        let published = tokio::time::timeout(
            self.deadline,
            link.channel.basic_publish(
                self.exchange.as_str().into(),
                key.into(),
                BasicPublishOptions::default(),
                &payload,
                BasicProperties::default().with_content_type("application/json".into()),
            ),
        )
        .await;
        match published {
            Ok(Ok(_)) => true,
            Ok(Err(error)) => {
                tracing::debug!(%error, "relay: publish failed");
                false
            }
            Err(_) => {
                tracing::debug!("relay: publish timed out");
                false
            }
        }
    }
}

/// What the service does with the relay's traffic (the dispatch); the link
/// calls it and knows nothing else of the instance.
pub trait RelayInbound: Send + Sync + 'static {
    /// The link is (re)attached, fixed keys bound: rebind the rooms with
    /// local members and announce them (`sync`).
    fn attached(&self) -> impl Future<Output = ()> + Send;
    /// An envelope from another instance (own ones are skipped here).
    fn deliver(&self, envelope: Envelope) -> impl Future<Output = ()> + Send;
}

/// The publisher task: sends the queued relay messages in order, each
/// within the deadline, until cancelled; a message that cannot go is
/// counted as dropped.
pub async fn run_publisher(relay: Arc<Relay>, metrics: Arc<Metrics>, stop: CancellationToken) {
    let Some(mut outbox) = relay
        .outbox_rx
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
    else {
        tracing::error!("relay: the publisher task was started twice");
        return;
    };
    loop {
        let next = tokio::select! {
            next = outbox.recv() => next,
            () = stop.cancelled() => return,
        };
        match next {
            Some(Outgoing::Publish(key, envelope)) => {
                let sent = tokio::select! {
                    sent = relay.send(&key, &envelope) => sent,
                    () = stop.cancelled() => return,
                };
                if !sent {
                    metrics.relay_dropped();
                }
            }
            Some(Outgoing::Flush(done)) => {
                let _ = done.send(());
            }
            None => return,
        }
    }
}

/// Keeps the relay connected until cancelled (`nexus_common::amqp::supervise`).
pub async fn run<H: RelayInbound>(
    relay: Arc<Relay>,
    inbound: Arc<H>,
    amqp_url: String,
    stop: CancellationToken,
) {
    // Named per instance so an operator (or a test) can tell connections apart.
    let name = format!("realtime-relay {}", relay.instance);
    let mut link = RelayLink {
        relay,
        inbound,
        stop: stop.clone(),
    };
    nexus_common::amqp::supervise(&amqp_url, &name, stop.cancelled(), &mut link).await;
}

/// The relay on one broker connection.
struct RelayLink<H> {
    relay: Arc<Relay>,
    inbound: Arc<H>,
    stop: CancellationToken,
}

impl<H: RelayInbound> Supervised for RelayLink<H> {
    async fn run(&mut self, connection: &Connection) -> anyhow::Result<()> {
        let outcome = attach(&self.relay, &*self.inbound, connection, &self.stop).await;
        self.relay.connected.store(false, Ordering::Relaxed);
        *self.relay.link.write().await = None;
        outcome
    }
}

/// Declares the topology, rebinds the local rooms and consumes until the
/// connection fails (`Err`) or the instance stops (`Ok`).
async fn attach<H: RelayInbound>(
    relay: &Relay,
    inbound: &H,
    connection: &Connection,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
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
    // The fixed keys bypass the tests' room-bind fault gate.
    relay.bind_key(HANGOUTS_KEY).await;
    relay.bind_key(&relay.instance_key()).await;
    relay.connected.store(true, Ordering::Relaxed);
    inbound.attached().await;
    tracing::info!("relay: attached to the broker");
    loop {
        let delivery = tokio::select! {
            delivery = consumer.next() => delivery,
            () = stop.cancelled() => return Ok(()),
        };
        match delivery {
            Some(Ok(delivery)) => match serde_json::from_slice::<Envelope>(&delivery.data) {
                Ok(envelope) if envelope.origin != relay.instance => {
                    inbound.deliver(envelope).await;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "relay: unreadable message dropped"),
            },
            Some(Err(error)) => return Err(error.into()),
            None => anyhow::bail!("the broker closed the relay consumer"),
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

/// At shutdown, before the broker connection closes: tells the other
/// instances that this one holds no members in `rooms` any more, and waits
/// (at most `deadline`) until that and everything queued before is sent.
pub async fn depart(relay: &Relay, rooms: Vec<String>, deadline: Duration) {
    if !relay.is_connected() {
        return;
    }
    for room in rooms {
        relay.publish(
            &room,
            RelayBody::Snapshot {
                members: Vec::new(),
            },
        );
    }
    if !relay.flush(deadline).await {
        tracing::warn!("relay: the departure was not confirmed sent before the deadline");
    }
}
