//! The session-events link: sessions that ended and members removed from
//! groups, as soon as the events say so.
//!
//! Each instance has its own exclusive, auto-delete queue bound to the
//! session exchange for `session.revoked`, `session.reuse_detected` and
//! `group.member_removed`, so every instance sees every event. Delivery is
//! at least once: events are deduplicated by their CloudEvents `id`. The
//! queue dies with the connection; events published while an instance is
//! disconnected are lost to it, which is why the periodic re-check
//! (`recheck`) exists.
//!
//! This module is the link only: it parses, deduplicates and validates the
//! events and hands them to a [`SessionEvents`] (the service's dispatch,
//! `dispatch::session_events`), so it never needs the instance's state.

use nexus_domain::RevokeReason;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lapin::Connection;
use lapin::options::QueueBindOptions;
use lapin::types::FieldTable;
use moka::sync::Cache;
use nexus_common::amqp::Supervised;
use nexus_common::events::{
    GROUP_MEMBER_REMOVED_KEY, GroupCloudEvent, SessionCloudEvent, SessionEventKind,
};
use tokio_util::sync::CancellationToken;

use crate::domain::ids::{SessionId, UserId};
use crate::domain::room::{RoomKind, RoomName};

/// What the service does with the session events; the link calls it and
/// knows nothing else of the instance.
pub trait SessionEvents: Send + Sync + 'static {
    /// Whether the consumer is attached to the broker (for `/readyz`).
    fn linked(&self, up: bool);
    /// `session` ended (revoked, reuse detected) with `reason`.
    fn session_ended(&self, session: SessionId, reason: String);
    /// `user` was removed from the group room `room`.
    fn member_removed(&self, room: RoomName, user: UserId) -> impl Future<Output = ()> + Send;
}

/// Keeps the consumer attached until cancelled (`nexus_common::amqp::supervise`).
/// `instance` names the connection, so an operator (or a test) can tell
/// instances apart.
pub async fn run<H: SessionEvents>(
    handler: Arc<H>,
    instance: &str,
    amqp_url: String,
    exchange: String,
    stop: CancellationToken,
) {
    let name = format!("realtime-session-events {instance}");
    let mut consumer = Consumer {
        handler,
        exchange,
        seen: Cache::builder()
            .max_capacity(100_000)
            .time_to_live(Duration::from_secs(3600))
            .build(),
        stop: stop.clone(),
    };
    nexus_common::amqp::supervise(&amqp_url, &name, stop.cancelled(), &mut consumer).await;
}

/// The consumer's state across connections: the ids already seen.
struct Consumer<H> {
    handler: Arc<H>,
    exchange: String,
    seen: Cache<String, ()>,
    stop: CancellationToken,
}

impl<H: SessionEvents> Supervised for Consumer<H> {
    async fn run(&mut self, connection: &Connection) -> anyhow::Result<()> {
        let outcome = self.consume(connection).await;
        self.handler.linked(false);
        outcome
    }
}

impl<H: SessionEvents> Consumer<H> {
    async fn consume(&self, connection: &Connection) -> anyhow::Result<()> {
        let exchange = self.exchange.as_str();
        let channel = connection.create_channel().await?;
        nexus_common::amqp::declare_session_exchange(&channel, exchange).await?;
        let queue = nexus_common::amqp::declare_private_queue(&channel).await?;
        let keys = [
            SessionEventKind::Revoked.routing_key(),
            SessionEventKind::ReuseDetected.routing_key(),
            GROUP_MEMBER_REMOVED_KEY,
        ];
        for key in keys {
            channel
                .queue_bind(
                    queue.name().clone(),
                    exchange.into(),
                    key.into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        let mut consumer =
            nexus_common::amqp::consume_without_ack(&channel, queue.name().clone()).await?;
        self.handler.linked(true);
        tracing::info!("session events: consuming revocations");
        loop {
            let delivery = tokio::select! {
                delivery = consumer.next() => delivery,
                () = self.stop.cancelled() => return Ok(()),
            };
            match delivery {
                Some(Ok(delivery)) if delivery.routing_key.as_str() == GROUP_MEMBER_REMOVED_KEY => {
                    self.group_event(&delivery.data).await;
                }
                Some(Ok(delivery)) => self.session_event(&delivery.data),
                Some(Err(error)) => return Err(error.into()),
                None => anyhow::bail!("the broker closed the session-event consumer"),
            }
        }
    }

    /// Whether the event `id` was handled before (and remembers it).
    fn seen_before(&self, id: &str) -> bool {
        if self.seen.contains_key(id) {
            return true;
        }
        self.seen.insert(id.to_owned(), ());
        false
    }

    fn session_event(&self, body: &[u8]) {
        let event: SessionCloudEvent = match serde_json::from_slice(body) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%error, "session events: unreadable event dropped");
                return;
            }
        };
        let Some(kind) = event.kind().filter(|kind| kind.ends_session()) else {
            return;
        };
        if self.seen_before(&event.id) {
            tracing::debug!(id = %event.id, "session events: duplicate ignored");
            return;
        }
        let Ok(session) = SessionId::parse(&event.data.session_id) else {
            tracing::warn!("session events: event with an invalid session id dropped");
            return;
        };
        let reason = event
            .data
            .reason
            .unwrap_or_else(|| default_reason(kind).to_owned());
        self.handler.session_ended(session, reason);
    }

    /// One `group.member_removed` body; malformed events are logged and
    /// dropped.
    async fn group_event(&self, body: &[u8]) {
        let event: GroupCloudEvent = match serde_json::from_slice(body) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%error, "group events: unreadable event dropped");
                return;
            }
        };
        if !event.is_member_removed() {
            return;
        }
        if self.seen_before(&event.id) {
            tracing::debug!(id = %event.id, "group events: duplicate ignored");
            return;
        }
        let room = RoomName::parse(&format!("group:{}", event.data.group_id))
            .ok()
            .filter(|room| room.kind() == RoomKind::Group);
        let (Some(room), Ok(user)) = (room, UserId::parse(&event.data.user_id)) else {
            tracing::warn!("group events: event with an invalid group or user id dropped");
            return;
        };
        self.handler.member_removed(room, user).await;
    }
}

fn default_reason(kind: SessionEventKind) -> &'static str {
    match kind {
        SessionEventKind::ReuseDetected => RevokeReason::RefreshTokenReuse.as_str(),
        _ => "session_revoked",
    }
}
