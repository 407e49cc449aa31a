//! realtime-service: Socket.IO rooms for Dark Rooms, Hangouts and group chats
//! where every socket holds a live backend session.
//!
//! Layers (no module names one above it; `scripts/check_module_cycles.py`
//! keeps the import graph free of circles):
//! - components, which never name `AppState`: [`domain`] values, [`config`],
//!   [`faults`], [`limits`], [`metrics`], the session-store adapter
//!   [`store`] (the only user of prost types), admission policy [`auth`],
//!   [`readiness`], room state [`rooms`], the [`sessions`] registry,
//!   pending [`handshakes`], per-socket state [`conn`], and the broker links
//!   [`broker`] (relay and session events, each calling the service back
//!   through a trait of its own);
//! - [`state`], which only aggregates the components;
//! - handlers and tasks over `Arc<AppState>`: [`connection`] (a socket's
//!   life), [`events`] (one file per client event), [`membership`] (leave
//!   bookkeeping shared by events, evictions and kicks), [`groups`] (group
//!   admission, expiry, eviction), [`kick`] (ended sessions), [`dispatch`]
//!   (what the broker links deliver), [`recheck`], [`http`], and
//!   [`startup`], which wires an instance.

pub mod auth;
pub mod broker;
pub mod config;
pub mod conn;
pub mod connection;
pub mod dispatch;
pub mod domain;
pub mod events;
pub mod faults;
pub mod groups;
pub mod handshakes;
pub mod http;
pub mod kick;
pub mod limits;
pub mod membership;
pub mod metrics;
pub mod readiness;
pub mod recheck;
pub mod rooms;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod store;
