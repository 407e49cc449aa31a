//! The hangouts that were created, so `room:join` of a hangout nobody
//! created is refused and a joiner learns its name.
//!
//! Kept in memory per instance and shared through the room relay: the
//! creating instance announces each hangout to every instance (`hangouts`
//! routing key), and an instance asked for an authentic hangout id it does
//! not know (it started later, or the announcement is still on its way) asks
//! the others and waits briefly for an answer (see `broker::relay`). Ids are
//! authenticated (`domain::hangout_id`), so only ids some instance minted
//! ever cause such a lookup. Bounded: at most `MAX_HANGOUTS`, each forgotten
//! after a day without a join; a hangout no running instance remembers is
//! gone (refused like one never created).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::sync::Cache;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::rooms::Member;

const MAX_HANGOUTS: u64 = 100_000;
const IDLE: Duration = Duration::from_secs(24 * 3600);

/// A created hangout, as joiners and other instances see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hangout {
    pub room: String,
    pub name: String,
    pub creator: Member,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// The hangouts this instance knows.
pub struct Hangouts {
    known: Cache<String, Arc<Hangout>>,
    /// Lookups in flight, woken when the hangout becomes known.
    waiting: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Default for Hangouts {
    fn default() -> Self {
        Self {
            known: Cache::builder()
                .max_capacity(MAX_HANGOUTS)
                .time_to_idle(IDLE)
                .build(),
            waiting: Mutex::new(HashMap::new()),
        }
    }
}

impl Hangouts {
    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps `hangout` (created here or announced by another instance); the
    /// first announcement wins, later ones cannot rename it.
    pub fn remember(&self, hangout: Hangout) {
        let room = hangout.room.clone();
        let _ = self
            .known
            .entry(room.clone())
            .or_insert_with(|| Arc::new(hangout));
        if let Some(notify) = self.waiting().remove(&room) {
            notify.notify_waiters();
        }
    }

    pub fn get(&self, room: &str) -> Option<Arc<Hangout>> {
        self.known.get(room)
    }

    /// The hangout, asking the other instances when it is not known here:
    /// `ask` publishes the question (`false`: it could not, the broker is
    /// down), then the answer is awaited for at most `wait`.
    pub async fn lookup(
        &self,
        room: &str,
        wait: Duration,
        ask: impl Future<Output = bool>,
    ) -> Option<Arc<Hangout>> {
        if let Some(known) = self.get(room) {
            return Some(known);
        }
        let notify = self
            .waiting()
            .entry(room.to_owned())
            .or_insert_with(|| Arc::new(Notify::new()))
            .clone();
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        // Remembered between the first look and registering as a waiter.
        if let Some(known) = self.get(room) {
            return Some(known);
        }
        if ask.await {
            let _ = tokio::time::timeout(wait, notified).await;
        }
        {
            let mut waiting = self.waiting();
            if waiting
                .get(room)
                .is_some_and(|current| Arc::ptr_eq(current, &notify))
            {
                waiting.remove(room);
            }
        }
        self.get(room)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hangout(room: &str, name: &str) -> Hangout {
        Hangout {
            room: room.into(),
            name: name.into(),
            creator: Member {
                id: Some("u1".into()),
                name: Some("Ann".into()),
            },
            created_at: 1,
        }
    }

    #[test]
    fn the_first_announcement_wins() {
        let hangouts = Hangouts::default();
        hangouts.remember(hangout("hangout:a", "Friday"));
        hangouts.remember(hangout("hangout:a", "Renamed by someone else"));
        assert_eq!(
            hangouts.get("hangout:a").map(|h| h.name.clone()),
            Some("Friday".into())
        );
        assert!(hangouts.get("hangout:b").is_none());
    }

    #[tokio::test]
    async fn a_lookup_waits_for_the_answer_and_gives_up_after_the_wait() {
        let hangouts = Arc::new(Hangouts::default());
        // Answered while waiting.
        let answering = hangouts.clone();
        let found = hangouts
            .lookup("hangout:a", Duration::from_secs(10), async move {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    answering.remember(hangout("hangout:a", "Friday"));
                });
                true
            })
            .await;
        assert_eq!(found.map(|h| h.name.clone()), Some("Friday".into()));
        // Nobody answers: none, after the wait.
        let missing = hangouts
            .lookup("hangout:b", Duration::from_millis(30), async { true })
            .await;
        assert!(missing.is_none());
        // The question could not be asked: none, without waiting (an hour).
        let unasked = hangouts
            .lookup("hangout:c", Duration::from_secs(3600), async { false })
            .await;
        assert!(unasked.is_none());
        assert!(hangouts.waiting().is_empty(), "no waiter left behind");
    }
}
