//! The recent messages of each room: the `history` a joiner gets, and the
//! buffer connection-state recovery answers from (DESIGN.md, "Recovery").
//!
//! Per instance and best effort: kept in memory, including messages relayed
//! from other instances while this one had members in the room. Each room's
//! buffer has an `epoch`, new whenever this instance starts holding the room
//! afresh (first message or join, or after the room was forgotten), and gives
//! every message it emits a `seq`, one more than the previous one. A client
//! that presents `{epoch, seq}` gets exactly the messages after `seq` when
//! they are all still held (at most `recovery_messages`, none older than
//! `recovery_window`), else the latest history and `recovered: false`.
//!
//! Order: a message is sequenced *and emitted* while its room's
//! [`Sequencer`] is held, so every socket receives a room's messages in `seq`
//! order; a join takes the sequencer too, which makes its snapshot a clean
//! cut (everything up to the reply's `seq` in the reply, everything after it
//! emitted to the socket live, nothing twice, nothing lost).
//!
//! Bounded in rooms (moka, idle rooms forgotten after an hour), in messages
//! and in bytes per room (oldest dropped first; the newest message always
//! stays); a room nobody is in any more is forgotten after a grace period
//! (`rooms::vacancy`), which starts a new epoch when it is held again.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::rooms::ChatMessage;

const MAX_ROOMS: u64 = 10_000;
const IDLE: Duration = Duration::from_secs(3600);
/// Longest epoch a client may present (ours are 16 hex characters).
pub const MAX_EPOCH_LEN: usize = 64;

/// How much each room's buffer holds.
#[derive(Debug, Clone, Copy)]
pub struct BufferLimits {
    /// Messages a plain join returns (the latest ones).
    pub history_len: usize,
    /// Messages kept for recovery (the buffer holds the larger of the two).
    pub recovery_messages: usize,
    /// Messages older than this are not recovered.
    pub recovery_window: Duration,
    /// Bytes of messages a room's buffer holds at most (see [`weight`]).
    pub history_bytes: usize,
}

impl BufferLimits {
    fn capacity(&self) -> usize {
        self.history_len.max(self.recovery_messages)
    }
}

/// What a message weighs in a room's byte budget: its strings plus a fixed
/// overhead for the rest.
fn weight(message: &ChatMessage) -> usize {
    let from = message.from.id.as_deref().map_or(0, str::len)
        + message.from.name.as_deref().map_or(0, str::len);
    message.text.len() + message.id.len() + message.room.len() + message.epoch.len() + from + 64
}

/// Where a client says it stopped: the last `seq` it saw in `epoch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since {
    pub epoch: String,
    pub seq: u64,
}

/// What a join answers from the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub epoch: String,
    /// The last `seq` emitted in the room before the join (0: none yet).
    pub seq: u64,
    /// `Some` when the join asked for recovery: whether `history` is exactly
    /// what came after the client's `seq`.
    pub recovered: Option<bool>,
    /// Oldest first.
    pub history: Vec<ChatMessage>,
}

struct Held {
    at: Instant,
    message: ChatMessage,
}

/// One room's buffer.
pub struct RoomBuffer {
    epoch: String,
    last_seq: u64,
    /// Contiguous in `seq`, oldest first.
    held: VecDeque<Held>,
    /// Sum of the held messages' [`weight`].
    bytes: usize,
}

impl RoomBuffer {
    fn new() -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self {
            epoch: random[..16].to_owned(),
            last_seq: 0,
            held: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Gives `message` this room's next `seq` and epoch and keeps it; `None`
    /// when a message with the same id is already held (a duplicate relay
    /// delivery, not to be emitted again).
    fn append(
        &mut self,
        mut message: ChatMessage,
        limits: &BufferLimits,
        now: Instant,
    ) -> Option<ChatMessage> {
        if self.held.iter().any(|held| held.message.id == message.id) {
            return None;
        }
        self.last_seq += 1;
        message.seq = self.last_seq;
        message.epoch = self.epoch.clone();
        if limits.capacity() > 0 {
            while self.held.len() >= limits.capacity() {
                self.drop_oldest();
            }
            self.bytes += weight(&message);
            self.held.push_back(Held {
                at: now,
                message: message.clone(),
            });
            while self.bytes > limits.history_bytes && self.held.len() > 1 {
                self.drop_oldest();
            }
        }
        Some(message)
    }

    fn drop_oldest(&mut self) {
        if let Some(oldest) = self.held.pop_front() {
            self.bytes -= weight(&oldest.message);
        }
    }

    fn snapshot(&self, since: Option<&Since>, limits: &BufferLimits, now: Instant) -> Snapshot {
        let (recovered, history) = match since.map(|since| self.recover(since, limits, now)) {
            None => (None, self.latest(limits.history_len)),
            Some(None) => (Some(false), self.latest(limits.history_len)),
            Some(Some(missed)) => (Some(true), missed),
        };
        Snapshot {
            epoch: self.epoch.clone(),
            seq: self.last_seq,
            recovered,
            history,
        }
    }

    /// Exactly the messages after `since.seq`, or `None` when this buffer
    /// cannot tell (other epoch, a `seq` it never emitted, or some of them
    /// gone: evicted by count or older than the window).
    fn recover(
        &self,
        since: &Since,
        limits: &BufferLimits,
        now: Instant,
    ) -> Option<Vec<ChatMessage>> {
        if since.epoch != self.epoch || since.seq > self.last_seq {
            return None;
        }
        if since.seq == self.last_seq {
            return Some(Vec::new());
        }
        let first = self.held.front()?;
        if first.message.seq > since.seq + 1 {
            return None;
        }
        let missed: Vec<&Held> = self
            .held
            .iter()
            .filter(|held| held.message.seq > since.seq)
            .collect();
        let oldest = missed.first()?;
        let too_old = now.saturating_duration_since(oldest.at) > limits.recovery_window;
        let too_many = missed.len() > limits.recovery_messages;
        if too_old || too_many {
            return None;
        }
        Some(
            missed
                .into_iter()
                .map(|held| held.message.clone())
                .collect(),
        )
    }

    fn latest(&self, count: usize) -> Vec<ChatMessage> {
        let skip = self.held.len().saturating_sub(count);
        self.held
            .iter()
            .skip(skip)
            .map(|held| held.message.clone())
            .collect()
    }
}

/// Recent messages by room.
#[derive(Clone)]
pub struct History {
    rooms: Cache<String, Arc<Mutex<RoomBuffer>>>,
    limits: BufferLimits,
}

impl History {
    pub fn new(limits: BufferLimits) -> Self {
        Self {
            rooms: Cache::builder()
                .max_capacity(MAX_ROOMS)
                .time_to_idle(IDLE)
                .build(),
            limits,
        }
    }

    /// Drops a room's buffer (it has been empty for the grace period); the
    /// next message or join starts a new epoch.
    pub fn forget(&self, room: &str) {
        self.rooms.invalidate(room);
    }

    /// Every message the room's buffer holds, oldest first (what the relay
    /// sends an instance that just started holding the room).
    pub async fn recent(&self, room: &str) -> Vec<ChatMessage> {
        match self.rooms.get(room) {
            Some(buffer) => {
                let buffer = buffer.lock().await;
                buffer
                    .held
                    .iter()
                    .map(|held| held.message.clone())
                    .collect()
            }
            None => Vec::new(),
        }
    }

    /// Takes the room's order: until the returned guard is dropped no other
    /// message of the room is sequenced or emitted. Hold it only across
    /// local work (the local adapter's emit is immediate), never across a
    /// broker call.
    pub async fn sequencer(&self, room: &str) -> Sequencer {
        let buffer = self
            .rooms
            .get_with(room.to_owned(), || Arc::new(Mutex::new(RoomBuffer::new())));
        Sequencer {
            buffer: buffer.lock_owned().await,
            limits: self.limits,
        }
    }
}

/// A room's buffer, held exclusively (see [`History::sequencer`]).
pub struct Sequencer {
    buffer: OwnedMutexGuard<RoomBuffer>,
    limits: BufferLimits,
}

impl Sequencer {
    /// Sequences and keeps `message`; emit what it returns before dropping
    /// the sequencer. `None`: a duplicate, emit nothing.
    pub fn append(&mut self, message: ChatMessage) -> Option<ChatMessage> {
        self.buffer.append(message, &self.limits, Instant::now())
    }

    /// What a join answers: the latest history, or the recovery of `since`.
    pub fn snapshot(&self, since: Option<&Since>) -> Snapshot {
        self.buffer.snapshot(since, &self.limits, Instant::now())
    }

    pub fn epoch(&self) -> &str {
        &self.buffer.epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rooms::Member;

    fn message(id: &str) -> ChatMessage {
        sized(id, &format!("text {id}"))
    }

    fn sized(id: &str, text: &str) -> ChatMessage {
        ChatMessage {
            room: "hangout:a".into(),
            id: id.into(),
            seq: 0,
            epoch: String::new(),
            from: Member {
                id: None,
                name: Some("x".into()),
            },
            text: text.into(),
            ts: 0,
        }
    }

    fn limits(history_len: usize, recovery_messages: usize) -> BufferLimits {
        BufferLimits {
            history_len,
            recovery_messages,
            recovery_window: Duration::from_secs(60),
            history_bytes: usize::MAX,
        }
    }

    #[tokio::test]
    async fn rooms_are_bounded_in_bytes_and_forgotten_on_demand() {
        let mut limits = limits(50, 50);
        let kilobyte = sized("1", &"a".repeat(1000));
        limits.history_bytes = 3 * weight(&kilobyte) + 100;
        let history = History::new(limits);
        for id in ["1", "2", "3", "4"] {
            let mut sequencer = history.sequencer("hangout:a").await;
            sequencer.append(sized(id, &"a".repeat(1000)));
        }
        let held: Vec<String> = history
            .recent("hangout:a")
            .await
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(held, ["2", "3", "4"]);
        // One message over the whole budget still stays (the newest).
        history
            .sequencer("hangout:a")
            .await
            .append(sized("5", &"b".repeat(10_000)));
        let held: Vec<String> = history
            .recent("hangout:a")
            .await
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(held, ["5"]);
        let epoch = history.sequencer("hangout:a").await.epoch().to_owned();
        history.forget("hangout:a");
        assert!(history.recent("hangout:a").await.is_empty());
        assert_ne!(
            history.sequencer("hangout:a").await.epoch(),
            epoch,
            "a new epoch"
        );
    }

    fn ids(messages: &[ChatMessage]) -> Vec<&str> {
        messages.iter().map(|m| m.id.as_str()).collect()
    }

    fn since(buffer: &RoomBuffer, seq: u64) -> Since {
        Since {
            epoch: buffer.epoch.clone(),
            seq,
        }
    }

    /// A buffer that emitted messages "1".."=n" at `start`.
    fn filled(n: u64, limits: &BufferLimits, start: Instant) -> RoomBuffer {
        let mut buffer = RoomBuffer::new();
        for id in 1..=n {
            buffer.append(message(&id.to_string()), limits, start);
        }
        buffer
    }

    #[test]
    fn sequences_strictly_and_keeps_each_message_once() {
        let limits = limits(2, 2);
        let now = Instant::now();
        let mut buffer = RoomBuffer::new();
        let seqs: Vec<Option<u64>> = ["1", "2", "2", "3"]
            .into_iter()
            .map(|id| buffer.append(message(id), &limits, now).map(|m| m.seq))
            .collect();
        assert_eq!(seqs, vec![Some(1), Some(2), None, Some(3)]);
        let snapshot = buffer.snapshot(None, &limits, now);
        assert_eq!(ids(&snapshot.history), vec!["2", "3"]);
        assert_eq!(snapshot.seq, 3);
        assert_eq!(snapshot.recovered, None);
        assert!(snapshot.history.iter().all(|m| m.epoch == buffer.epoch));
        assert_eq!(RoomBuffer::new().snapshot(None, &limits, now).seq, 0);
        assert_ne!(RoomBuffer::new().epoch, RoomBuffer::new().epoch);
    }

    #[test]
    fn recovers_exactly_what_came_after_seq() {
        let limits = limits(2, 10);
        let now = Instant::now();
        let buffer = filled(6, &limits, now);
        let snapshot = buffer.snapshot(Some(&since(&buffer, 3)), &limits, now);
        assert_eq!(snapshot.recovered, Some(true));
        assert_eq!(ids(&snapshot.history), vec!["4", "5", "6"]);
        let seqs: Vec<u64> = snapshot.history.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, vec![4, 5, 6]);
        // Nothing missed: recovered, empty.
        let current = buffer.snapshot(Some(&since(&buffer, 6)), &limits, now);
        assert_eq!(current.recovered, Some(true));
        assert!(current.history.is_empty());
        // From the very beginning, while everything is still held.
        let all = buffer.snapshot(Some(&since(&buffer, 0)), &limits, now);
        assert_eq!((all.recovered, all.history.len()), (Some(true), 6));
    }

    #[test]
    fn gone_messages_other_epochs_and_unknown_seqs_are_not_recovered() {
        let limits = limits(2, 3);
        let now = Instant::now();
        let buffer = filled(6, &limits, now);
        // Only 4, 5, 6 are held: after 2 means 3 is missing.
        let gone = buffer.snapshot(Some(&since(&buffer, 2)), &limits, now);
        assert_eq!(gone.recovered, Some(false));
        assert_eq!(
            ids(&gone.history),
            vec!["5", "6"],
            "the latest history instead"
        );
        let held = buffer.snapshot(Some(&since(&buffer, 3)), &limits, now);
        assert_eq!(held.recovered, Some(true));
        assert_eq!(ids(&held.history), vec!["4", "5", "6"]);

        let other_epoch = Since {
            epoch: "0123456789abcdef".into(),
            seq: 5,
        };
        let snapshot = buffer.snapshot(Some(&other_epoch), &limits, now);
        assert_eq!(snapshot.recovered, Some(false));
        assert_eq!(snapshot.epoch, buffer.epoch);
        // A seq this buffer never emitted (a client from before a restart
        // that reused the epoch, or a liar) is not "nothing missed".
        for seq in [7, u64::MAX] {
            let snapshot = buffer.snapshot(Some(&since(&buffer, seq)), &limits, now);
            assert_eq!(snapshot.recovered, Some(false), "seq {seq}");
        }
        // A fresh buffer knows no epoch at all.
        let fresh = RoomBuffer::new();
        let snapshot = fresh.snapshot(Some(&since(&buffer, 0)), &limits, now);
        assert_eq!(
            (snapshot.recovered, snapshot.history.len()),
            (Some(false), 0)
        );
    }

    #[test]
    fn messages_older_than_the_window_are_not_recovered() {
        let limits = limits(10, 10);
        let start = Instant::now();
        let buffer = filled(3, &limits, start);
        let within = start + limits.recovery_window;
        let snapshot = buffer.snapshot(Some(&since(&buffer, 1)), &limits, within);
        assert_eq!(snapshot.recovered, Some(true));
        let after = within + Duration::from_millis(1);
        let snapshot = buffer.snapshot(Some(&since(&buffer, 1)), &limits, after);
        assert_eq!(snapshot.recovered, Some(false));
        assert_eq!(snapshot.history.len(), 3, "still the room's history");
    }

    #[test]
    fn recovery_is_bounded_by_its_own_count_even_when_history_holds_more() {
        let limits = limits(5, 2);
        let now = Instant::now();
        let buffer = filled(5, &limits, now);
        let snapshot = buffer.snapshot(Some(&since(&buffer, 2)), &limits, now);
        assert_eq!(snapshot.recovered, Some(false), "3 missed, 2 recoverable");
        let snapshot = buffer.snapshot(Some(&since(&buffer, 3)), &limits, now);
        assert_eq!(snapshot.recovered, Some(true));
        assert_eq!(ids(&snapshot.history), vec!["4", "5"]);
    }

    #[test]
    fn a_zero_sized_buffer_still_sequences() {
        let limits = limits(0, 0);
        let now = Instant::now();
        let mut buffer = RoomBuffer::new();
        assert_eq!(
            buffer.append(message("1"), &limits, now).map(|m| m.seq),
            Some(1)
        );
        assert_eq!(
            buffer.append(message("2"), &limits, now).map(|m| m.seq),
            Some(2)
        );
        let snapshot = buffer.snapshot(Some(&since(&buffer, 1)), &limits, now);
        assert_eq!((snapshot.recovered, snapshot.seq), (Some(false), 2));
        let current = buffer.snapshot(Some(&since(&buffer, 2)), &limits, now);
        assert_eq!(current.recovered, Some(true));
    }

    #[tokio::test]
    async fn the_sequencer_orders_concurrent_appends() {
        let history = History::new(limits(1000, 1000));
        let mut tasks = Vec::new();
        for task in 0..8 {
            let history = history.clone();
            tasks.push(tokio::spawn(async move {
                let mut seen = Vec::new();
                for n in 0..50 {
                    let mut sequencer = history.sequencer("hangout:a").await;
                    let appended = sequencer
                        .append(message(&format!("{task}-{n}")))
                        .map(|m| m.seq);
                    tokio::task::yield_now().await;
                    seen.extend(appended);
                }
                seen
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            let seen = task.await.expect("task");
            assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
            all.extend(seen);
        }
        all.sort_unstable();
        assert_eq!(all, (1..=400).collect::<Vec<u64>>());
        let snapshot = history.sequencer("hangout:a").await.snapshot(None);
        assert_eq!(snapshot.seq, 400);
    }
}
