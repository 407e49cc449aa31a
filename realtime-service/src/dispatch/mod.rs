//! What arrives from the broker, applied to this instance: the relay's
//! traffic from other instances ([`relay`]) and the session and group
//! events ([`session_events`]). The broker links (`broker`) call these
//! through the traits they define, so the links never see `AppState`.

pub mod relay;
pub mod session_events;
