//! One async lock per room, so membership changes of a room happen one at
//! a time, together with what follows from them: presence, the relay's
//! bind/unbind and the `room:presence` announcements.
//!
//! Without it a join and a leave (or a disconnect) of the same room could
//! interleave: "joined" announced after "left", a ghost member, or an
//! unbind racing a bind so a room with local members stops receiving the
//! other instances' traffic. Locks exist only while held or awaited: the
//! map keeps weak references and forgets dead ones as it grows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// The per-room locks of one instance.
#[derive(Debug, Default)]
pub struct RoomLocks {
    locks: Mutex<Locks>,
}

#[derive(Debug, Default)]
struct Locks {
    by_room: HashMap<String, Weak<AsyncMutex<()>>>,
    /// Prune dead entries when the map reaches this size.
    prune_at: usize,
}

/// Held while a room's membership changes.
pub type RoomGuard = OwnedMutexGuard<()>;

impl RoomLocks {
    /// Waits for the room's lock (first come, first served).
    pub async fn lock(&self, room: &str) -> RoomGuard {
        let lock = {
            let mut locks = self
                .locks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let existing = locks.by_room.get(room).and_then(Weak::upgrade);
            match existing {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(AsyncMutex::new(()));
                    if locks.by_room.len() >= locks.prune_at {
                        locks.by_room.retain(|_, weak| weak.strong_count() > 0);
                        locks.prune_at = (locks.by_room.len() * 2).max(1024);
                    }
                    locks.by_room.insert(room.to_owned(), Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }

    /// Rooms with a live lock (tests: nothing is left behind).
    pub fn live(&self) -> usize {
        self.locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .by_room
            .values()
            .filter(|weak| weak.strong_count() > 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_per_room_and_nothing_left_behind() {
        let locks = Arc::new(RoomLocks::default());
        let held = locks.lock("a").await;
        let waiting = tokio::spawn({
            let locks = locks.clone();
            async move {
                let _guard = locks.lock("a").await;
            }
        });
        let other_room = locks.lock("b").await;
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(held);
        waiting.await.expect("gets the lock once released");
        drop(other_room);
        assert_eq!(locks.live(), 0);
    }
}
