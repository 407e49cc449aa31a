//! Per-socket state, kept in the socket's extensions from admission to the
//! last handler: who the socket is, the rooms it joined, its event rate,
//! whether its session ended, and its connection slots.
//!
//! Its own module (not `connection`'s) because every handler reads it:
//! the event handlers, the group evictions and the kicks all depend on it,
//! while the socket's life (`connection`) depends on them.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::auth::Identity;
use crate::domain::alias::AliasKey;
use crate::domain::room::RoomName;
use crate::limits::{IpSlot, RateLimiter, UserSlot};
use crate::rooms::Member;

/// Where a socket is in its life, as far as counting it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Admitted, not counted yet.
    Admitted,
    /// Counted in the session registry and the gauge.
    Counted,
    /// Disconnected: never counted again.
    Closed,
}

/// The rooms a socket joined (not the private ones), and whether it is
/// closed: one lock, so a join can never add a room after the disconnect
/// took the list.
#[derive(Debug, Default)]
pub struct RoomSet {
    pub rooms: HashSet<RoomName>,
    pub closed: bool,
}

/// Per-socket state, stored in the socket's extensions (as `Arc<Conn>`).
#[derive(Debug)]
pub struct Conn {
    pub identity: Identity,
    rooms: Mutex<RoomSet>,
    pub rate: RateLimiter,
    lifecycle: Mutex<Lifecycle>,
    /// Set when the session ended: every event is refused from then on.
    revoked: AtomicBool,
    /// Released by the disconnect handler (or, whatever path the socket
    /// took, when its state is dropped).
    slots: Mutex<Option<(IpSlot, UserSlot)>>,
}

impl Conn {
    /// An admitted socket holding its two connection slots.
    pub fn new(identity: Identity, rate: RateLimiter, slots: (IpSlot, UserSlot)) -> Self {
        Self {
            identity,
            rooms: Mutex::new(RoomSet::default()),
            rate,
            lifecycle: Mutex::new(Lifecycle::Admitted),
            revoked: AtomicBool::new(false),
            slots: Mutex::new(Some(slots)),
        }
    }

    /// How this socket's user appears in `room` (dark rooms show only the
    /// room-specific alias).
    pub fn member(&self, room: &RoomName, aliases: &AliasKey) -> Member {
        if room.is_anonymous() {
            Member {
                id: None,
                name: Some(aliases.alias(room, &self.identity.user)),
            }
        } else {
            Member {
                id: Some(self.identity.user.as_str().to_owned()),
                name: self.identity.name.clone(),
            }
        }
    }

    pub fn rooms(&self) -> MutexGuard<'_, RoomSet> {
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn lifecycle(&self) -> MutexGuard<'_, Lifecycle> {
        self.lifecycle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Gives the connection slots back (the disconnect).
    pub fn release_slots(&self) {
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
    }

    /// Marks the socket revoked; returns whether it already was.
    pub fn revoke(&self) -> bool {
        self.revoked.swap(true, Ordering::SeqCst)
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::SeqCst)
    }
}
