//! RabbitMQ for tests: fresh exchange names (so parallel tests share one
//! broker without seeing each other's events), a consumer that collects
//! what is published, a publisher, and clean-up.

use std::time::Duration;

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ExchangeDeclareOptions,
    ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties, ExchangeKind};
use nexus_common::events::{SessionCloudEvent, SessionEventKind};
use serde::de::DeserializeOwned;

/// The local broker (guest/guest on loopback).
pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// `prefix.<uuid>`: an exchange (or queue) name no other test uses.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}.{}", uuid::Uuid::new_v4().simple())
}

async fn connect(name: &str) -> Connection {
    Connection::connect(
        AMQP_URL,
        ConnectionProperties::default().with_connection_name(name.into()),
    )
    .await
    .expect("RabbitMQ reachable at 127.0.0.1:5672")
}

/// Declares `exchange` the way the services do (topic, durable).
async fn declare(channel: &lapin::Channel, exchange: &str) {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("declare exchange");
}

/// Publishes `body` to `exchange` (declared if missing) with `routing_key`
/// and waits for the broker's confirm.
pub async fn publish(exchange: &str, routing_key: &str, body: &[u8]) {
    let connection = connect("nexus-tests-publish").await;
    let channel = connection.create_channel().await.expect("channel");
    declare(&channel, exchange).await;
    channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default(),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    let _ = connection.close(200, "done".into()).await;
}

/// Publishes a session event as auth-service would (routing key of its kind).
pub async fn publish_session_event(exchange: &str, event: &SessionCloudEvent) {
    let kind = event.kind().expect("a known session event kind");
    publish(
        exchange,
        kind.routing_key(),
        &serde_json::to_vec(event).expect("json"),
    )
    .await;
}

/// Deletes exchanges (a test's, when it ends); errors are ignored.
pub async fn delete_exchanges(names: &[&str]) {
    let Ok(connection) = Connection::connect(AMQP_URL, ConnectionProperties::default()).await
    else {
        return;
    };
    if let Ok(channel) = connection.create_channel().await {
        for name in names {
            let _ = channel
                .exchange_delete((*name).into(), ExchangeDeleteOptions::default())
                .await;
        }
    }
    let _ = connection.close(200, "done".into()).await;
}

/// A queue bound to an exchange, collecting what is routed to it.
pub struct EventQueue {
    connection: Connection,
    channel: lapin::Channel,
    consumer: lapin::Consumer,
    exchange: String,
    queue: String,
}

impl EventQueue {
    /// An exclusive queue receiving every `session.#` event of `exchange`.
    pub async fn bind(exchange: &str) -> Self {
        Self::open(exchange, "session.#", None).await
    }

    /// An exclusive queue receiving what `pattern` matches (`group.#`...).
    pub async fn bind_pattern(exchange: &str, pattern: &str) -> Self {
        Self::open(exchange, pattern, None).await
    }

    /// A durable named queue for `session.#`, which keeps events while no
    /// consumer is connected (the broker-outage test cuts every connection).
    pub async fn bind_durable(exchange: &str, queue: &str) -> Self {
        Self::open(exchange, "session.#", Some(queue)).await
    }

    async fn open(exchange: &str, pattern: &str, durable_queue: Option<&str>) -> Self {
        let connection = connect("nexus-tests-events").await;
        let channel = connection.create_channel().await.expect("channel");
        declare(&channel, exchange).await;
        let options = match durable_queue {
            Some(_) => QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            None => QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
        };
        let queue = channel
            .queue_declare(
                durable_queue.unwrap_or("").into(),
                options,
                FieldTable::default(),
            )
            .await
            .expect("queue");
        channel
            .queue_bind(
                queue.name().clone(),
                exchange.into(),
                pattern.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind");
        let consumer = channel
            .basic_consume(
                queue.name().clone(),
                "nexus-tests".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consume");
        Self {
            connection,
            channel,
            consumer,
            exchange: exchange.to_owned(),
            queue: queue.name().to_string(),
        }
    }

    /// The next delivery (acknowledged), or panic after `wait`.
    pub async fn next_delivery(&mut self, wait: Duration) -> lapin::message::Delivery {
        let delivery = tokio::time::timeout(wait, self.consumer.next())
            .await
            .expect("no event arrived in time")
            .expect("consumer ended")
            .expect("delivery");
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
        delivery
    }

    /// The next delivery's routing key and JSON body.
    pub async fn next_json<T: DeserializeOwned>(&mut self, wait: Duration) -> (String, T) {
        let delivery = self.next_delivery(wait).await;
        let body = serde_json::from_slice(&delivery.data).unwrap_or_else(|error| {
            panic!(
                "not the expected JSON ({error}): {}",
                String::from_utf8_lossy(&delivery.data)
            )
        });
        (delivery.routing_key.to_string(), body)
    }

    /// The next session event, with its AMQP envelope checked against
    /// DESIGN.md: CloudEvents content type, persistent, message id = event
    /// id, routing key = the event's kind.
    pub async fn next(&mut self, wait: Duration) -> SessionCloudEvent {
        let delivery = self.next_delivery(wait).await;
        let properties = &delivery.properties;
        assert_eq!(
            properties.content_type().as_ref().map(|t| t.as_str()),
            // The contract's literal, not the publisher's constant.
            Some("application/cloudevents+json")
        );
        assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
        let event: SessionCloudEvent =
            serde_json::from_slice(&delivery.data).expect("cloudevent json");
        assert_eq!(
            properties.message_id().as_ref().map(|id| id.as_str()),
            Some(event.id.as_str())
        );
        assert_eq!(
            delivery.routing_key.as_str(),
            event.kind().expect("known kind").routing_key()
        );
        event
    }

    /// Waits for a session event of `kind`, skipping others.
    pub async fn next_of(&mut self, kind: SessionEventKind, wait: Duration) -> SessionCloudEvent {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left).await;
            if event.kind() == Some(kind) {
                return event;
            }
        }
    }

    /// Asserts that nothing arrives within `wait`.
    pub async fn assert_quiet(&mut self, wait: Duration) {
        if let Ok(Some(Ok(delivery))) = tokio::time::timeout(wait, self.consumer.next()).await {
            panic!(
                "unexpected event: {}",
                String::from_utf8_lossy(&delivery.data)
            );
        }
    }

    /// Closes the connection, leaving the exchange (its publisher may still
    /// be running); an exclusive queue goes with the connection.
    pub async fn close(self) {
        let _ = self.connection.close(200, "done".into()).await;
    }

    /// Deletes the queue and the exchange and closes the connection.
    pub async fn cleanup(self) {
        let _ = self
            .channel
            .queue_delete(self.queue.as_str().into(), QueueDeleteOptions::default())
            .await;
        let _ = self
            .channel
            .exchange_delete(
                self.exchange.as_str().into(),
                ExchangeDeleteOptions::default(),
            )
            .await;
        let _ = self.connection.close(200, "done".into()).await;
    }
}
