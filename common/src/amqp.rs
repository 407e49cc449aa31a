//! Connecting to RabbitMQ with backoff.
//!
//! lapin does not recover a connection after a broker restart by itself, so
//! every long-lived AMQP user (the event publisher, the revocation consumer,
//! the room relay) loops: connect with exponential backoff, work until the
//! connection errors, connect again.

use std::time::Duration;

use lapin::{Connection, ConnectionProperties};

/// Backoff bounds for reconnecting.
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Connects, retrying with exponential backoff until it succeeds. The URL is
/// never logged (it carries credentials).
pub async fn connect_with_backoff(url: &str, connection_name: &str) -> Connection {
    let mut backoff = INITIAL_BACKOFF;
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        match connect(url, connection_name).await {
            Ok(connection) => {
                if attempt > 1 {
                    tracing::info!(attempt, "connected to RabbitMQ again");
                }
                return connection;
            }
            Err(error) => {
                if attempt == 1 || attempt.is_power_of_two() {
                    tracing::warn!(%error, attempt, retry_in_ms = backoff.as_millis() as u64, "RabbitMQ unreachable");
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// One connection attempt.
pub async fn connect(url: &str, connection_name: &str) -> lapin::Result<Connection> {
    let properties = ConnectionProperties::default().with_connection_name(connection_name.into());
    Connection::connect(url, properties).await
}

/// A server-named queue that only this connection uses and that disappears
/// with it: what each instance's event consumer and room relay listen on, so
/// a crashed instance leaves nothing behind on the broker.
pub async fn declare_private_queue(channel: &lapin::Channel) -> lapin::Result<lapin::Queue> {
    use lapin::options::QueueDeclareOptions;
    channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
}

/// Declares the session-events exchange as DESIGN.md fixes it (topic,
/// durable), so the publisher and every consumer agree on its shape.
pub async fn declare_session_exchange(channel: &lapin::Channel, name: &str) -> lapin::Result<()> {
    use lapin::options::ExchangeDeclareOptions;
    channel
        .exchange_declare(
            name.into(),
            lapin::ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
}

/// Consumes `queue` without acknowledgements: for private, auto-deleted
/// queues whose messages are worth nothing once the consumer is gone.
pub async fn consume_without_ack(
    channel: &lapin::Channel,
    queue: lapin::types::ShortString,
) -> lapin::Result<lapin::Consumer> {
    use lapin::options::BasicConsumeOptions;
    channel
        .basic_consume(
            queue,
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
}
