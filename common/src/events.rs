//! Session and group events on RabbitMQ: the wire format shared by the
//! publisher (auth-service) and consumers (realtime-service, anyone else).
//!
//! Topic exchange `nexus.sessions` (durable); routing keys `session.<kind>`
//! and `group.member_removed`;
//! bodies are CloudEvents 1.0 in structured JSON mode. Consumers dedupe by `id`
//! because delivery is at least once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The topic exchange session events are published to.
pub const SESSION_EXCHANGE: &str = "nexus.sessions";
/// Content type of a structured-mode CloudEvent.
pub const CLOUDEVENTS_CONTENT_TYPE: &str = "application/cloudevents+json";

/// What happened to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEventKind {
    Created,
    Refreshed,
    Revoked,
    ReuseDetected,
}

impl SessionEventKind {
    pub const ALL: [Self; 4] = [
        Self::Created,
        Self::Refreshed,
        Self::Revoked,
        Self::ReuseDetected,
    ];

    /// The AMQP routing key, e.g. `session.reuse_detected`.
    pub fn routing_key(self) -> &'static str {
        match self {
            Self::Created => "session.created",
            Self::Refreshed => "session.refreshed",
            Self::Revoked => "session.revoked",
            Self::ReuseDetected => "session.reuse_detected",
        }
    }

    /// The CloudEvent `type`: `nexus.` + routing key.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Created => "nexus.session.created",
            Self::Refreshed => "nexus.session.refreshed",
            Self::Revoked => "nexus.session.revoked",
            Self::ReuseDetected => "nexus.session.reuse_detected",
        }
    }

    pub fn from_routing_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.routing_key() == key)
    }

    pub fn from_event_type(event_type: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.event_type() == event_type)
    }

    /// Events after which a session's sockets must be dropped.
    pub fn ends_session(self) -> bool {
        matches!(self, Self::Revoked | Self::ReuseDetected)
    }
}

/// The `data` of a session event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEventData {
    pub session_id: String,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// A CloudEvents 1.0 envelope (structured JSON mode) around `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudEvent<D> {
    pub specversion: String,
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub time: DateTime<Utc>,
    pub datacontenttype: String,
    pub subject: String,
    pub data: D,
}

/// A session event.
pub type SessionCloudEvent = CloudEvent<SessionEventData>;

impl CloudEvent<SessionEventData> {
    /// A new event with a fresh unique id.
    pub fn new(source: &str, kind: SessionEventKind, data: SessionEventData) -> Self {
        Self {
            specversion: "1.0".to_owned(),
            id: uuid::Uuid::now_v7().to_string(),
            source: source.to_owned(),
            event_type: kind.event_type().to_owned(),
            time: data.at,
            datacontenttype: "application/json".to_owned(),
            subject: data.session_id.clone(),
            data,
        }
    }

    /// The event's kind, when its `type` is one of ours.
    pub fn kind(&self) -> Option<SessionEventKind> {
        SessionEventKind::from_event_type(&self.event_type)
    }
}

/// Routing key of a group membership removal (on the same exchange as the
/// session events, `nexus.sessions`).
pub const GROUP_MEMBER_REMOVED_KEY: &str = "group.member_removed";
/// Its CloudEvent `type`: `nexus.` + routing key.
pub const GROUP_MEMBER_REMOVED_TYPE: &str = "nexus.group.member_removed";

/// The `data` of `group.member_removed`: `user_id` is no longer in
/// `group_id` (removed by the owner, left, or the group was deleted, as
/// `reason` says).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupEventData {
    pub group_id: String,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// A group membership event.
pub type GroupCloudEvent = CloudEvent<GroupEventData>;

impl CloudEvent<GroupEventData> {
    /// A new `group.member_removed` event with a fresh unique id.
    pub fn member_removed(source: &str, data: GroupEventData) -> Self {
        Self {
            specversion: "1.0".to_owned(),
            id: uuid::Uuid::now_v7().to_string(),
            source: source.to_owned(),
            event_type: GROUP_MEMBER_REMOVED_TYPE.to_owned(),
            time: data.at,
            datacontenttype: "application/json".to_owned(),
            subject: data.group_id.clone(),
            data,
        }
    }

    pub fn is_member_removed(&self) -> bool {
        self.event_type == GROUP_MEMBER_REMOVED_TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_structured_cloudevent() {
        let event = SessionCloudEvent::new(
            "auth-service",
            SessionEventKind::ReuseDetected,
            SessionEventData {
                session_id: "s1".into(),
                user_id: "u1".into(),
                reason: Some("refresh_token_reuse".into()),
                at: Utc::now(),
            },
        );
        let json: serde_json::Value = serde_json::to_value(&event).expect("serialisable");
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["type"], "nexus.session.reuse_detected");
        assert_eq!(json["data"]["session_id"], "s1");
        let back: SessionCloudEvent = serde_json::from_value(json).expect("round trip");
        assert_eq!(back.kind(), Some(SessionEventKind::ReuseDetected));
    }

    #[test]
    fn group_events_are_cloudevents_too() {
        let event = GroupCloudEvent::member_removed(
            "auth-service",
            GroupEventData {
                group_id: "g1".into(),
                user_id: "u1".into(),
                reason: Some("removed".into()),
                at: Utc::now(),
            },
        );
        let json: serde_json::Value = serde_json::to_value(&event).expect("serialisable");
        assert_eq!(json["type"], "nexus.group.member_removed");
        assert_eq!(json["subject"], "g1");
        assert_eq!(json["data"]["user_id"], "u1");
        let back: GroupCloudEvent = serde_json::from_value(json).expect("round trip");
        assert!(back.is_member_removed());
        assert_eq!(
            format!("nexus.{GROUP_MEMBER_REMOVED_KEY}"),
            GROUP_MEMBER_REMOVED_TYPE
        );
    }

    #[test]
    fn routing_keys_round_trip() {
        for kind in SessionEventKind::ALL {
            assert_eq!(
                SessionEventKind::from_routing_key(kind.routing_key()),
                Some(kind)
            );
            assert_eq!(format!("nexus.{}", kind.routing_key()), kind.event_type());
        }
    }
}
