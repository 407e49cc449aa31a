//! When an instance is ready for traffic (`/readyz`): session-store serves
//! (its gRPC health service says SERVING for the session API) and both
//! broker links are attached. Without session-store no socket can be
//! admitted; without the broker, revocations and other instances' traffic
//! would be missed.

use serde::Serialize;

use crate::store::SessionStore;

/// What `/readyz` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub session_store: bool,
    pub broker: bool,
}

impl Readiness {
    /// Asks session-store's health service; `broker` is whether both broker
    /// links are up.
    pub async fn probe(store: &SessionStore, broker: bool) -> Self {
        Self {
            session_store: store.is_serving().await,
            broker,
        }
    }

    pub fn is_ready(self) -> bool {
        self.session_store && self.broker
    }
}
