//! The last few messages of each room, returned on join.
//!
//! Best effort and per instance (DESIGN.md): kept in memory, including
//! messages relayed from other instances while this one had members in the
//! room. Bounded in rooms (LRU-ish via moka, idle rooms forgotten after an
//! hour), in messages per room and in bytes per room (oldest dropped
//! first; the newest message always stays); a room nobody is in any more is
//! forgotten after a grace period (`rooms::vacancy`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::sync::Cache;

use crate::rooms::ChatMessage;

const MAX_ROOMS: u64 = 10_000;
const IDLE: Duration = Duration::from_secs(3600);

type Buffer = Arc<Mutex<VecDeque<ChatMessage>>>;

/// Recent messages by room.
#[derive(Clone)]
pub struct History {
    rooms: Cache<String, Buffer>,
    per_room: usize,
    per_room_bytes: usize,
}

/// What a message weighs in a room's byte budget (its strings plus a fixed
/// overhead for the rest).
fn weight(message: &ChatMessage) -> usize {
    let from = message.from.id.as_deref().map_or(0, str::len)
        + message.from.name.as_deref().map_or(0, str::len);
    message.text.len() + message.id.len() + message.room.len() + from + 64
}

impl History {
    pub fn new(per_room: usize) -> Self {
        Self {
            rooms: Cache::builder()
                .max_capacity(MAX_ROOMS)
                .time_to_idle(IDLE)
                .build(),
            per_room,
            per_room_bytes: usize::MAX,
        }
    }

    /// Also keeps each room's messages within `bytes`.
    pub fn with_byte_cap(mut self, bytes: usize) -> Self {
        self.per_room_bytes = bytes;
        self
    }

    /// Drops a room's messages (it has been empty for the grace period).
    pub fn forget(&self, room: &str) {
        self.rooms.invalidate(room);
    }

    pub fn push(&self, message: ChatMessage) {
        if self.per_room == 0 {
            return;
        }
        let buffer = self.rooms.get_with(message.room.clone(), || {
            Arc::new(Mutex::new(VecDeque::new()))
        });
        let mut buffer = buffer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buffer.iter().any(|known| known.id == message.id) {
            return;
        }
        if buffer.len() >= self.per_room {
            buffer.pop_front();
        }
        buffer.push_back(message);
        if self.per_room_bytes != usize::MAX {
            let mut bytes: usize = buffer.iter().map(weight).sum();
            while bytes > self.per_room_bytes && buffer.len() > 1 {
                if let Some(oldest) = buffer.pop_front() {
                    bytes -= weight(&oldest);
                }
            }
        }
    }

    /// Oldest first.
    pub fn recent(&self, room: &str) -> Vec<ChatMessage> {
        self.rooms
            .get(room)
            .map(|buffer| {
                buffer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .iter()
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rooms::Member;

    fn message(id: &str) -> ChatMessage {
        sized(id, "hi")
    }

    fn sized(id: &str, text: &str) -> ChatMessage {
        ChatMessage {
            room: "hangout:a".into(),
            id: id.into(),
            from: Member {
                id: None,
                name: Some("x".into()),
            },
            text: text.into(),
            ts: 0,
        }
    }

    #[test]
    fn rooms_are_bounded_in_bytes_and_forgotten_on_demand() {
        let history = History::new(50).with_byte_cap(3 * weight(&sized("1", &"a".repeat(1000))));
        for id in ["1", "2", "3", "4"] {
            history.push(sized(id, &"a".repeat(1000)));
        }
        let ids: Vec<String> = history
            .recent("hangout:a")
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, vec!["2".to_owned(), "3".to_owned(), "4".to_owned()]);
        // One message over the whole budget still stays (the newest).
        history.push(sized("5", &"b".repeat(10_000)));
        let ids: Vec<String> = history
            .recent("hangout:a")
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, vec!["5".to_owned()]);
        history.forget("hangout:a");
        assert!(history.recent("hangout:a").is_empty());
    }

    #[test]
    fn keeps_the_last_n_once_each() {
        let history = History::new(2);
        for id in ["1", "2", "2", "3"] {
            history.push(message(id));
        }
        let ids: Vec<String> = history
            .recent("hangout:a")
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, vec!["2".to_owned(), "3".to_owned()]);
        assert!(history.recent("hangout:b").is_empty());
    }
}
