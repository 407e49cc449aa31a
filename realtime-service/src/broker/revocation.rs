//! Dropping the sockets of sessions that ended, as soon as the session
//! events say so.
//!
//! Each instance has its own exclusive, auto-delete queue bound to the
//! session exchange for `session.revoked` and `session.reuse_detected`, so
//! every instance sees every event. Delivery is at least once: events are
//! deduplicated by their CloudEvents `id`. The queue dies with the
//! connection; events published while an instance is disconnected are lost
//! to it, which is why the periodic re-check (`recheck`) exists.
//! The same queue carries `group.member_removed`, handed to `groups::consumer`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use lapin::Connection;
use lapin::options::QueueBindOptions;
use lapin::types::FieldTable;
use moka::sync::Cache;
use nexus_common::events::{SessionCloudEvent, SessionEventKind};
use nexus_domain::RevokeReason;
use socketioxide::SocketIo;
use tokio_util::sync::CancellationToken;

use crate::domain::ids::SessionId;
use crate::state::AppState;

/// Keeps the consumer attached until cancelled.
pub async fn run(
    state: Arc<AppState>,
    io: SocketIo,
    amqp_url: String,
    exchange: String,
    stop: CancellationToken,
) {
    let seen: Cache<String, ()> = Cache::builder()
        .max_capacity(100_000)
        .time_to_live(Duration::from_secs(3600))
        .build();
    let name = format!("realtime-session-events {}", state.instance_id);
    loop {
        let connection = tokio::select! {
            connection = nexus_common::amqp::connect_with_backoff(&amqp_url, &name) => connection,
            () = stop.cancelled() => return,
        };
        let outcome = consume(&state, &io, &connection, &exchange, &seen, &stop).await;
        state.session_events_up.store(false, Ordering::Relaxed);
        match outcome {
            Ok(()) => {
                let _ = connection.close(200, "shutting down".into()).await;
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "session events: broker link lost, reconnecting");
                let _ = connection.close(200, "reconnecting".into()).await;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
            () = stop.cancelled() => return,
        }
    }
}

async fn consume(
    state: &Arc<AppState>,
    io: &SocketIo,
    connection: &Connection,
    exchange: &str,
    seen: &Cache<String, ()>,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let channel = connection.create_channel().await?;
    nexus_common::amqp::declare_session_exchange(&channel, exchange).await?;
    let queue = nexus_common::amqp::declare_private_queue(&channel).await?;
    for kind in [SessionEventKind::Revoked, SessionEventKind::ReuseDetected] {
        channel
            .queue_bind(
                queue.name().clone(),
                exchange.into(),
                kind.routing_key().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    crate::groups::consumer::bind(&channel, queue.name(), exchange).await?;
    let mut consumer =
        nexus_common::amqp::consume_without_ack(&channel, queue.name().clone()).await?;
    state.session_events_up.store(true, Ordering::Relaxed);
    tracing::info!("session events: consuming revocations");
    loop {
        let delivery = tokio::select! {
            delivery = consumer.next() => delivery,
            () = stop.cancelled() => return Ok(()),
        };
        match delivery {
            Some(Ok(delivery))
                if crate::groups::consumer::is_group_event(delivery.routing_key.as_str()) =>
            {
                crate::groups::consumer::handle(state, io, seen, &delivery.data).await;
            }
            Some(Ok(delivery)) => handle(state, io, seen, &delivery.data),
            Some(Err(error)) => return Err(error.into()),
            None => anyhow::bail!("the broker closed the session-event consumer"),
        }
    }
}

fn handle(state: &Arc<AppState>, io: &SocketIo, seen: &Cache<String, ()>, body: &[u8]) {
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
    if seen.contains_key(&event.id) {
        tracing::debug!(id = %event.id, "session events: duplicate ignored");
        return;
    }
    seen.insert(event.id.clone(), ());
    let Ok(session) = SessionId::parse(&event.data.session_id) else {
        tracing::warn!("session events: event with an invalid session id dropped");
        return;
    };
    let reason = event
        .data
        .reason
        .unwrap_or_else(|| default_reason(kind).to_owned());
    crate::sessions::kick(state, io, &session, &reason);
}

fn default_reason(kind: SessionEventKind) -> &'static str {
    match kind {
        SessionEventKind::ReuseDetected => RevokeReason::RefreshTokenReuse.as_str(),
        _ => "session_revoked",
    }
}
