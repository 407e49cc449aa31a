//! Rooms that lost their last local member, and since when: their history
//! is dropped once they stayed empty for a grace period (long enough for a
//! client to reconnect and find it), so a flood of joins to fresh rooms
//! does not hold memory for the history's whole idle time. The sweeper
//! that drops them runs in `membership`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most vacant rooms remembered; beyond it the oldest is due at once.
const MAX_VACANT: usize = 10_000;

/// Vacant rooms by the instant they emptied.
#[derive(Debug, Default)]
pub struct Vacancies(Mutex<HashMap<String, Instant>>);

impl Vacancies {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The room's last local member left; returns a room that is due at
    /// once because the map is full.
    pub fn emptied(&self, room: &str) -> Option<String> {
        let mut vacant = self.lock();
        let evicted = if vacant.len() >= MAX_VACANT {
            let oldest = vacant
                .iter()
                .min_by_key(|(_, since)| **since)
                .map(|(room, _)| room.clone());
            if let Some(oldest) = &oldest {
                vacant.remove(oldest);
            }
            oldest
        } else {
            None
        };
        vacant.insert(room.to_owned(), Instant::now());
        evicted
    }

    /// Someone joined the room again.
    pub fn filled(&self, room: &str) {
        self.lock().remove(room);
    }

    /// Rooms vacant for at least `grace` (removed from the map).
    pub fn due(&self, grace: Duration) -> Vec<String> {
        let mut due = Vec::new();
        self.lock().retain(|room, since| {
            let keep = since.elapsed() < grace;
            if !keep {
                due.push(room.clone());
            }
            keep
        });
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_are_due_after_the_grace_unless_filled_again() {
        let vacant = Vacancies::default();
        assert_eq!(vacant.emptied("a"), None);
        vacant.emptied("b");
        vacant.filled("b");
        assert!(vacant.due(Duration::from_secs(60)).is_empty());
        assert_eq!(vacant.due(Duration::ZERO), vec!["a".to_owned()]);
        assert!(vacant.due(Duration::ZERO).is_empty());
    }
}
