//! Fault injection: pauses and delays at the points where events of
//! different sockets or tasks can interleave, so tests provoke a race on
//! purpose instead of hoping for it.
//!
//! Never read from the environment: production builds carry the default
//! (every gate open, every delay zero), which costs one `Option` check.
//! Tests set them in the `RealtimeConfig` (`config`)
//! they build by hand.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// The injection points.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Held in the connect middleware after the session was found active and
    /// before the socket joins `session:<sid>` (a revocation arriving then).
    pub admit: Gate,
    /// Held at the start of the connect handler, which socketioxide spawns
    /// only after CONNECT reached the client (events and disconnects
    /// arriving before it ran).
    pub connect_handler: Gate,
    /// Held in `room:join` once it holds the room's lock, before it records
    /// the membership (a disconnect handled while a join is in flight).
    pub join_locked: Gate,
    /// Held before the relay binds a room's queue (a message published on
    /// another instance while this one is still joining).
    pub relay_bind: Gate,
    /// Held before the relay unbinds a room's queue (a join arriving while
    /// the last member's leave is still unbinding).
    pub relay_unbind: Gate,
    /// Added before every relay publish (a slow or blocked broker).
    pub relay_publish_delay: Duration,
}

/// A point that tasks pass freely unless a test armed it; an armed gate
/// counts arrivals and holds each until the test lets it through.
#[derive(Debug, Clone, Default)]
pub struct Gate(Option<Arc<GateInner>>);

#[derive(Debug)]
struct GateInner {
    arrived: Semaphore,
    open: Semaphore,
    finished: Semaphore,
}

/// Held by a task that passed a gate; dropping it tells the test the task
/// finished what followed the gate.
#[must_use = "hold it until the work after the gate is done"]
#[derive(Debug)]
pub struct Passed(Option<Arc<GateInner>>);

impl Drop for Passed {
    fn drop(&mut self) {
        if let Some(gate) = &self.0 {
            gate.finished.add_permits(1);
        }
    }
}

impl Gate {
    /// An armed gate (closed until [`Gate::release`]).
    pub fn armed() -> Self {
        Self(Some(Arc::new(GateInner {
            arrived: Semaphore::new(0),
            open: Semaphore::new(0),
            finished: Semaphore::new(0),
        })))
    }

    /// Where the service passes the point.
    pub async fn pass(&self) -> Passed {
        if let Some(gate) = &self.0 {
            gate.arrived.add_permits(1);
            if let Ok(permit) = gate.open.acquire().await {
                permit.forget();
            }
        }
        Passed(self.0.clone())
    }

    /// Test side: waits until one more task finished the work after the
    /// gate (dropped its [`Passed`]).
    pub async fn finished(&self) {
        if let Some(gate) = &self.0
            && let Ok(permit) = gate.finished.acquire().await
        {
            permit.forget();
        }
    }

    /// Test side: waits until one more task reached the gate.
    pub async fn reached(&self) {
        if let Some(gate) = &self.0
            && let Ok(permit) = gate.arrived.acquire().await
        {
            permit.forget();
        }
    }

    /// Test side: lets `n` waiting (or future) tasks through.
    pub fn release(&self, n: usize) {
        if let Some(gate) = &self.0 {
            gate.open.add_permits(n);
        }
    }

    /// Test side: opens the gate for good.
    pub fn open_for_good(&self) {
        self.release(Semaphore::MAX_PERMITS / 4);
    }
}

/// Sleeps `delay` when it is not zero.
pub async fn delay(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unarmed_gate_is_open_and_an_armed_one_holds_until_released() {
        let _ = Gate::default().pass().await;
        let gate = Gate::armed();
        let passing = tokio::spawn({
            let gate = gate.clone();
            async move {
                let _passed = gate.pass().await;
            }
        });
        gate.reached().await;
        assert!(!passing.is_finished());
        gate.release(1);
        passing.await.expect("passes once released");
        gate.finished().await;
    }
}
