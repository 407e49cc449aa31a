//! Publishing session and group events to RabbitMQ without ever blocking a
//! request.
//!
//! Requests hand events to a bounded in-memory buffer (`try_send`, never an
//! await on the broker). One background task owns the AMQP connection and a
//! confirm-select channel, publishes persistent CloudEvents to the topic
//! exchange in batches, and removes an event from its pending list only once
//! the broker has confirmed it. On any connection or channel error it
//! reconnects with backoff (lapin does not recover by itself) and re-sends
//! what was not confirmed: at least once, while this process lives. A full
//! buffer drops the event, with a log line and a metric, rather than slow the
//! request down.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Connection};
use nexus_common::events::{
    CLOUDEVENTS_CONTENT_TYPE, GROUP_MEMBER_REMOVED_KEY, GroupCloudEvent, GroupEventData,
    SessionCloudEvent, SessionEventData, SessionEventKind,
};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::domain::{GroupId, SessionId, UserId};
use crate::metrics;

/// `source` of every event this service publishes.
pub const EVENT_SOURCE: &str = "auth-service";
/// Events published before their confirms are awaited.
const BATCH: usize = 256;
/// How long to wait for a batch's confirms before treating the channel as broken.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an idle publisher checks that its connection is still up.
const HEALTH_TICK: Duration = Duration::from_millis(500);

/// Where and how to publish.
#[derive(Clone)]
pub struct PublisherConfig {
    pub amqp_url: String,
    pub exchange: String,
    pub buffer: usize,
}

impl std::fmt::Debug for PublisherConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublisherConfig")
            .field("amqp_url", &nexus_common::redact::url(&self.amqp_url))
            .field("exchange", &self.exchange)
            .field("buffer", &self.buffer)
            .finish()
    }
}

/// One event waiting for the broker: a session event or a group event, both
/// on the same exchange, through the same buffer and confirms.
#[derive(Debug, Clone)]
enum Outgoing {
    Session(SessionCloudEvent),
    Group(GroupCloudEvent),
}

impl Outgoing {
    fn id(&self) -> &str {
        match self {
            Self::Session(event) => &event.id,
            Self::Group(event) => &event.id,
        }
    }

    fn event_type(&self) -> &str {
        match self {
            Self::Session(event) => &event.event_type,
            Self::Group(event) => &event.event_type,
        }
    }

    /// The routing key, also the metrics label.
    fn routing_key(&self) -> &'static str {
        match self {
            Self::Session(event) => event
                .kind()
                .map_or("session.unknown", SessionEventKind::routing_key),
            Self::Group(_) => GROUP_MEMBER_REMOVED_KEY,
        }
    }

    fn payload(&self) -> serde_json::Result<Vec<u8>> {
        match self {
            Self::Session(event) => serde_json::to_vec(event),
            Self::Group(event) => serde_json::to_vec(event),
        }
    }
}

/// The request-side handle: cheap to clone, never waits for the broker.
#[derive(Clone)]
pub struct EventPublisher {
    sender: mpsc::Sender<Outgoing>,
    connected: Arc<AtomicBool>,
}

impl std::fmt::Debug for EventPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventPublisher")
            .field("connected", &self.is_connected())
            .finish()
    }
}

impl EventPublisher {
    /// Starts the background publisher task. It stops once every handle is
    /// dropped and its pending events are confirmed (or the runtime stops).
    pub fn start(config: PublisherConfig) -> (Self, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(config.buffer.max(1));
        let connected = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run(config, receiver, Arc::clone(&connected)));
        (Self { sender, connected }, task)
    }

    /// Whether the publisher currently holds a working broker connection.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Queues an event; drops it (logged, counted) when the buffer is full.
    pub fn publish(
        &self,
        kind: SessionEventKind,
        session: &SessionId,
        user: &UserId,
        reason: Option<&str>,
    ) {
        let data = SessionEventData {
            session_id: session.to_string(),
            user_id: user.to_string(),
            reason: reason.map(str::to_owned),
            at: Utc::now(),
        };
        self.enqueue(Outgoing::Session(SessionCloudEvent::new(
            EVENT_SOURCE,
            kind,
            data,
        )));
    }

    /// Queues `group.member_removed` for `user` in `group` (`reason`:
    /// `removed`, `left` or `group_deleted`); dropped like any event when
    /// the buffer is full.
    pub fn publish_member_removed(&self, group: &GroupId, user: &str, reason: &str) {
        let data = GroupEventData {
            group_id: group.to_string(),
            user_id: user.to_owned(),
            reason: Some(reason.to_owned()),
            at: Utc::now(),
        };
        self.enqueue(Outgoing::Group(GroupCloudEvent::member_removed(
            EVENT_SOURCE,
            data,
        )));
    }

    fn enqueue(&self, event: Outgoing) {
        let label = event.routing_key();
        match self.sender.try_send(event) {
            Ok(()) => metrics::event_buffered(label),
            Err(TrySendError::Full(event)) => {
                tracing::error!(
                    event_id = %event.id(),
                    event_type = %event.event_type(),
                    "event dropped: the event buffer is full (broker unreachable for too long?)"
                );
                metrics::event_dropped(label);
            }
            Err(TrySendError::Closed(event)) => {
                tracing::error!(event_id = %event.id(), "event dropped: the publisher has stopped");
                metrics::event_dropped(label);
            }
        }
    }
}

/// Why a publishing session on one connection ended.
enum Ended {
    /// Every handle is gone and nothing is pending.
    Finished,
    /// The connection or channel broke; reconnect.
    Broken(anyhow::Error),
}

async fn run(
    config: PublisherConfig,
    receiver: mpsc::Receiver<Outgoing>,
    connected: Arc<AtomicBool>,
) {
    let mut publisher = Publisher {
        exchange: config.exchange,
        pending: VecDeque::new(),
        receiver,
        connected,
    };
    // Never stopped from outside: it ends once every handle is dropped and
    // nothing is pending (`Ok` from `run` below).
    nexus_common::amqp::supervise(
        &config.amqp_url,
        "auth-service events",
        std::future::pending(),
        &mut publisher,
    )
    .await;
}

/// The publisher's state across connections: what is not confirmed yet is
/// re-sent on the next one.
struct Publisher {
    exchange: String,
    pending: VecDeque<Outgoing>,
    receiver: mpsc::Receiver<Outgoing>,
    connected: Arc<AtomicBool>,
}

impl nexus_common::amqp::Supervised for Publisher {
    async fn run(&mut self, connection: &Connection) -> anyhow::Result<()> {
        let channel = open_channel(connection, &self.exchange)
            .await
            .context("cannot set up the session-event channel")?;
        self.connected.store(true, Ordering::Relaxed);
        tracing::info!(exchange = %self.exchange, pending = self.pending.len(), "session-event publisher connected");
        let ended = publish_loop(
            connection,
            &channel,
            &self.exchange,
            &mut self.pending,
            &mut self.receiver,
        )
        .await;
        self.connected.store(false, Ordering::Relaxed);
        match ended {
            Ended::Finished => Ok(()),
            Ended::Broken(error) => Err(error.context(format!(
                "session-event connection lost; {} unconfirmed events will be re-sent",
                self.pending.len()
            ))),
        }
    }
}

async fn open_channel(connection: &Connection, exchange: &str) -> anyhow::Result<Channel> {
    let channel = connection
        .create_channel()
        .await
        .context("create channel")?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .context("confirm.select")?;
    nexus_common::amqp::declare_session_exchange(&channel, exchange)
        .await
        .with_context(|| format!("declare exchange {exchange}"))?;
    Ok(channel)
}

async fn publish_loop(
    connection: &Connection,
    channel: &Channel,
    exchange: &str,
    pending: &mut VecDeque<Outgoing>,
    receiver: &mut mpsc::Receiver<Outgoing>,
) -> Ended {
    let mut tick = tokio::time::interval(HEALTH_TICK);
    loop {
        if pending.is_empty() {
            tokio::select! {
                next = receiver.recv() => match next {
                    Some(event) => pending.push_back(event),
                    None => return Ended::Finished,
                },
                _ = tick.tick() => {
                    if !connection.status().connected() || !channel.status().connected() {
                        return Ended::Broken(anyhow::anyhow!("connection closed"));
                    }
                    continue;
                }
            }
        }
        while pending.len() < BATCH {
            match receiver.try_recv() {
                Ok(event) => pending.push_back(event),
                Err(_) => break,
            }
        }
        let count = pending.len().min(BATCH);
        match publish_batch(channel, exchange, pending.iter().take(count)).await {
            Ok(()) => {
                for event in pending.drain(..count) {
                    metrics::event_published(event.routing_key());
                }
            }
            Err(error) => return Ended::Broken(error),
        }
    }
}

/// Publishes the events and waits until the broker confirmed every one.
async fn publish_batch<'a>(
    channel: &Channel,
    exchange: &str,
    events: impl Iterator<Item = &'a Outgoing>,
) -> anyhow::Result<()> {
    let mut confirms = Vec::new();
    for event in events {
        let payload = event.payload().context("serialise event")?;
        let routing_key = event.routing_key();
        let properties = BasicProperties::default()
            .with_content_type(CLOUDEVENTS_CONTENT_TYPE.into())
            .with_delivery_mode(2)
            .with_message_id(event.id().into())
            .with_type(event.event_type().into())
            .with_app_id(EVENT_SOURCE.into());
        let confirm = channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions::default(),
                &payload,
                properties,
            )
            .await
            .context("basic.publish")?;
        confirms.push(confirm);
    }
    let all = futures::future::join_all(confirms);
    let results = tokio::time::timeout(CONFIRM_TIMEOUT, all)
        .await
        .context("publisher confirms timed out")?;
    for result in results {
        let confirmation = result.context("publisher confirm")?;
        anyhow::ensure!(
            confirmation.is_ack(),
            "the broker refused (nack) a session event"
        );
    }
    Ok(())
}
