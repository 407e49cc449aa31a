//! The last few messages of each room, returned on join.
//!
//! Best effort and per instance (DESIGN.md): kept in memory, including
//! messages relayed from other instances while this one had members in the
//! room. Bounded in rooms (LRU-ish via moka, idle rooms forgotten after an
//! hour) and in messages per room.

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
}

impl History {
    pub fn new(per_room: usize) -> Self {
        Self {
            rooms: Cache::builder()
                .max_capacity(MAX_ROOMS)
                .time_to_idle(IDLE)
                .build(),
            per_room,
        }
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
        ChatMessage {
            room: "hangout:a".into(),
            id: id.into(),
            from: Member {
                id: None,
                name: Some("x".into()),
            },
            text: "hi".into(),
            ts: 0,
        }
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
