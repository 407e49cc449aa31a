//! Connecting to RabbitMQ with backoff, and the one loop that keeps a
//! long-lived AMQP user connected.
//!
//! lapin does not recover a connection after a broker restart by itself, so
//! every long-lived AMQP user (auth-service's event publisher,
//! realtime-service's revocation consumer and room relay) runs under
//! [`supervise`]: connect with exponential backoff, work until the
//! connection errors, close it, pause, connect again. The users differ only
//! in what they do on a connection ([`Supervised`]).

use std::future::Future;
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

/// Pause between a lost link and the next connection attempt, so a broker
/// that accepts connections and drops them at once is not hammered.
const RECONNECT_PAUSE: Duration = Duration::from_millis(200);

/// What a long-lived AMQP user does on one connection.
pub trait Supervised: Send {
    /// Works on `connection` until the user is done (`Ok`: shutting down,
    /// the loop ends) or the link fails (`Err`: the loop reconnects). Runs
    /// again on every new connection, so state that must survive a
    /// reconnect (unconfirmed events, the rooms to rebind) lives in `self`.
    fn run(&mut self, connection: &Connection) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Keeps `user` connected until it is done or `stop` completes: connect with
/// backoff, [`Supervised::run`], and after a lost link close the connection,
/// log why, pause and reconnect. `stop` is watched while connecting and
/// pausing; while `run` works it watches its own stop signal and returns
/// `Ok` (so it can finish cleanly before the connection closes).
pub async fn supervise(
    url: &str,
    connection_name: &str,
    stop: impl Future<Output = ()> + Send,
    user: &mut impl Supervised,
) {
    let mut stop = std::pin::pin!(stop);
    loop {
        let connection = tokio::select! {
            connection = connect_with_backoff(url, connection_name) => connection,
            () = &mut stop => return,
        };
        match user.run(&connection).await {
            Ok(()) => {
                let _ = connection.close(200, "shutting down".into()).await;
                return;
            }
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    connection = connection_name,
                    "broker link lost; reconnecting"
                );
                let _ = connection.close(200, "reconnecting".into()).await;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(RECONNECT_PAUSE) => {}
            () = &mut stop => return,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Loses its link `failures` times, then is done.
    struct Flaky {
        failures: usize,
        runs: usize,
        connected_each_time: bool,
    }

    impl Supervised for Flaky {
        async fn run(&mut self, connection: &Connection) -> anyhow::Result<()> {
            self.runs += 1;
            self.connected_each_time &= connection.status().connected();
            if self.runs <= self.failures {
                anyhow::bail!("link lost (test)");
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_lost_link_is_reconnected_until_the_user_is_done() {
        let mut user = Flaky {
            failures: 2,
            runs: 0,
            connected_each_time: true,
        };
        let supervised = supervise(
            crate::config::defaults::AMQP_URL,
            "nexus-common supervise test",
            std::future::pending(),
            &mut user,
        );
        tokio::time::timeout(Duration::from_secs(20), supervised)
            .await
            .expect("the loop ends once the user is done (is RabbitMQ running?)");
        assert_eq!(user.runs, 3, "two lost links, then done");
        assert!(
            user.connected_each_time,
            "every run got a fresh, open connection"
        );
    }

    #[tokio::test]
    async fn stop_ends_the_loop_while_the_broker_is_unreachable() {
        let mut user = Flaky {
            failures: 0,
            runs: 0,
            connected_each_time: true,
        };
        // Nothing listens on port 1: connecting retries until stopped.
        let supervised = supervise(
            "amqp://guest:guest@127.0.0.1:1/%2f",
            "nexus-common supervise test",
            tokio::time::sleep(Duration::from_millis(300)),
            &mut user,
        );
        tokio::time::timeout(Duration::from_secs(5), supervised)
            .await
            .expect("stop ends the loop while it is still connecting");
        assert_eq!(user.runs, 0);
    }
}
