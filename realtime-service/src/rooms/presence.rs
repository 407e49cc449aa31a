//! Who is in a room, across instances.
//!
//! Each instance knows its local members exactly (counted per socket, so a
//! user with two tabs stays present until both leave). Other instances'
//! members come from their relay messages: a delta on every join/leave and a
//! full snapshot of each room every few seconds. A remote instance's entry
//! for a room expires when no snapshot refreshed it for `ttl` (three snapshot
//! intervals), which is how a crashed instance's members disappear; until
//! then they may linger (documented trade-off: no coordination service).
//! Snapshots and expiry return the changes of the merged view they caused,
//! so local sockets hear of members who appear or vanish that way too.
//! When a room has no local members the instance unbinds from it and drops
//! what it knew about remote members there.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::rooms::Member;

#[derive(Default)]
struct RoomPresence {
    /// Local members and how many local sockets each has in the room.
    local: HashMap<Member, usize>,
    /// Members reported by other instances, by instance id.
    remote: HashMap<String, (BTreeSet<Member>, Instant)>,
    /// Other instances heard from in this room (any relay message), so chat
    /// messages are relayed only when someone elsewhere can receive them.
    peers: HashMap<String, Instant>,
}

impl RoomPresence {
    fn contains(&self, member: &Member, ttl: Duration) -> bool {
        self.local.contains_key(member)
            || self
                .remote
                .values()
                .any(|(members, seen)| seen.elapsed() < ttl && members.contains(member))
    }

    fn merged(&self, ttl: Duration) -> Vec<Member> {
        let mut all: BTreeSet<Member> = self.local.keys().cloned().collect();
        for (members, seen) in self.remote.values() {
            if seen.elapsed() < ttl {
                all.extend(members.iter().cloned());
            }
        }
        all.into_iter().collect()
    }
}

/// A change of the merged member list that local sockets are told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Joined(Member),
    Left(Member),
}

/// The changes between two merged views, in member order.
fn diff(before: &[Member], after: &[Member]) -> Vec<Change> {
    let before_set: BTreeSet<&Member> = before.iter().collect();
    let after_set: BTreeSet<&Member> = after.iter().collect();
    let mut changes: Vec<Change> = after
        .iter()
        .filter(|member| !before_set.contains(member))
        .cloned()
        .map(Change::Joined)
        .collect();
    changes.extend(
        before
            .iter()
            .filter(|member| !after_set.contains(member))
            .cloned()
            .map(Change::Left),
    );
    changes
}

/// What a local join changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joined {
    /// The room had no local members before: bind the relay to it.
    pub room_is_new: bool,
    /// The member was not visible in the room before: announce them.
    pub member_is_new: bool,
}

/// What a local leave changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Left {
    /// No local members remain: unbind the relay.
    pub room_is_empty: bool,
    /// The member has no local socket left in the room: tell the others.
    pub member_left_here: bool,
    /// The member is no longer visible anywhere: announce it locally.
    pub member_is_gone: bool,
}

/// Presence of all rooms this instance has members in.
pub struct Presence {
    rooms: Mutex<HashMap<String, RoomPresence>>,
    ttl: Duration,
}

impl Presence {
    pub fn new(ttl: Duration) -> Self {
        Self {
            rooms: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RoomPresence>> {
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn join_local(&self, room: &str, member: &Member) -> Joined {
        let mut rooms = self.lock();
        let room_is_new = rooms.get(room).is_none_or(|r| r.local.is_empty());
        let entry = rooms.entry(room.to_owned()).or_default();
        let member_is_new = !entry.contains(member, self.ttl);
        *entry.local.entry(member.clone()).or_insert(0) += 1;
        Joined {
            room_is_new,
            member_is_new,
        }
    }

    pub fn leave_local(&self, room: &str, member: &Member) -> Left {
        let mut rooms = self.lock();
        let Some(entry) = rooms.get_mut(room) else {
            return Left {
                room_is_empty: true,
                member_left_here: false,
                member_is_gone: false,
            };
        };
        let mut member_left_here = false;
        if let Some(count) = entry.local.get_mut(member) {
            *count -= 1;
            if *count == 0 {
                entry.local.remove(member);
                member_left_here = true;
            }
        }
        let member_is_gone = member_left_here && !entry.contains(member, self.ttl);
        let room_is_empty = entry.local.is_empty();
        if room_is_empty {
            rooms.remove(room);
        }
        Left {
            room_is_empty,
            member_left_here,
            member_is_gone,
        }
    }

    /// Everyone visible in the room, sorted.
    pub fn members(&self, room: &str) -> Vec<Member> {
        self.lock()
            .get(room)
            .map(|entry| entry.merged(self.ttl))
            .unwrap_or_default()
    }

    /// Local members of the room (for snapshots).
    pub fn local_members(&self, room: &str) -> Vec<Member> {
        self.lock()
            .get(room)
            .map(|entry| entry.local.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Rooms with local members.
    pub fn local_rooms(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// A remote join or leave; returns whether the merged view changed for
    /// that member (then local sockets are told).
    pub fn remote_delta(&self, instance: &str, room: &str, member: &Member, joined: bool) -> bool {
        let mut rooms = self.lock();
        let Some(entry) = rooms.get_mut(room) else {
            return false;
        };
        let before = entry.contains(member, self.ttl);
        let (members, seen) = entry
            .remote
            .entry(instance.to_owned())
            .or_insert_with(|| (BTreeSet::new(), Instant::now()));
        *seen = Instant::now();
        if joined {
            members.insert(member.clone());
        } else {
            members.remove(member);
        }
        before != entry.contains(member, self.ttl)
    }

    /// A remote instance's full list for a room (empty: it has left);
    /// returns how the merged view changed.
    pub fn remote_snapshot(&self, instance: &str, room: &str, members: Vec<Member>) -> Vec<Change> {
        let mut rooms = self.lock();
        let Some(entry) = rooms.get_mut(room) else {
            return Vec::new();
        };
        let before = entry.merged(self.ttl);
        if members.is_empty() {
            entry.remote.remove(instance);
        } else {
            entry.remote.insert(
                instance.to_owned(),
                (members.into_iter().collect(), Instant::now()),
            );
        }
        diff(&before, &entry.merged(self.ttl))
    }

    /// Whether the room has local members.
    pub fn has_local(&self, room: &str) -> bool {
        self.lock()
            .get(room)
            .is_some_and(|entry| !entry.local.is_empty())
    }

    /// Notes that `instance` has local members in `room` (it sent something).
    pub fn touch_peer(&self, room: &str, instance: &str) {
        if let Some(entry) = self.lock().get_mut(room) {
            entry.peers.insert(instance.to_owned(), Instant::now());
        }
    }

    /// Whether another instance was heard from in `room` within the TTL.
    pub fn has_peers(&self, room: &str) -> bool {
        let ttl = self.ttl;
        self.lock()
            .get(room)
            .is_some_and(|entry| entry.peers.values().any(|seen| seen.elapsed() < ttl))
    }

    /// Forgets remote entries that have not been refreshed within the TTL;
    /// returns, per room, who vanished from the merged view.
    pub fn expire(&self) -> Vec<(String, Vec<Change>)> {
        let ttl = self.ttl;
        let mut changed = Vec::new();
        for (room, entry) in self.lock().iter_mut() {
            // Entries past the TTL are already out of the merged view, so
            // compare with the view that still counted them.
            let before = entry.merged(Duration::MAX);
            entry.remote.retain(|_, (_, seen)| seen.elapsed() < ttl);
            entry.peers.retain(|_, seen| seen.elapsed() < ttl);
            let changes = diff(&before, &entry.merged(ttl));
            if !changes.is_empty() {
                changed.push((room.clone(), changes));
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str) -> Member {
        Member {
            id: Some(id.into()),
            name: None,
        }
    }

    #[test]
    fn local_members_are_counted_per_socket() {
        let presence = Presence::new(Duration::from_secs(30));
        let a = member("a");
        assert_eq!(
            presence.join_local("r", &a),
            Joined {
                room_is_new: true,
                member_is_new: true
            }
        );
        assert_eq!(
            presence.join_local("r", &a),
            Joined {
                room_is_new: false,
                member_is_new: false
            }
        );
        assert!(!presence.leave_local("r", &a).member_left_here);
        let left = presence.leave_local("r", &a);
        assert!(left.member_left_here && left.member_is_gone && left.room_is_empty);
        assert!(presence.members("r").is_empty());
    }

    #[test]
    fn remote_members_merge_and_expire() {
        let presence = Presence::new(Duration::from_millis(50));
        presence.join_local("r", &member("a"));
        assert!(presence.remote_delta("i2", "r", &member("b"), true));
        assert!(
            !presence.remote_delta("i2", "r", &member("a"), true),
            "a was already visible"
        );
        assert_eq!(presence.members("r"), vec![member("a"), member("b")]);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            presence.expire(),
            vec![("r".to_owned(), vec![Change::Left(member("b"))])]
        );
        assert_eq!(presence.members("r"), vec![member("a")]);
        assert!(!presence.has_peers("r"));
        presence.touch_peer("r", "i2");
        assert!(presence.has_peers("r"));
        // A snapshot shows who appeared; an empty one, who went.
        assert_eq!(
            presence.remote_snapshot("i3", "r", vec![member("c"), member("a")]),
            vec![Change::Joined(member("c"))]
        );
        assert_eq!(
            presence.remote_snapshot("i3", "r", Vec::new()),
            vec![Change::Left(member("c"))]
        );
        // Rooms without local members ignore remote traffic.
        assert!(!presence.remote_delta("i2", "other", &member("b"), true));
    }
}
