//! realtime-service: Socket.IO rooms for Dark Rooms, Hangouts and group chats
//! where every socket holds a live backend session.
//!
//! See ARCHITECTURE notes in the README; module map: [`startup`] wires an
//! instance, [`connection`] admits sockets ([`auth`]), [`events`] handles
//! what clients send, [`rooms`] keeps presence and history, [`broker`]
//! links instances and session events, [`recheck`] re-validates sessions,
//! [`groups`] keeps group rooms in step with membership.

pub mod auth;
pub mod broker;
pub mod config;
pub mod connection;
pub mod domain;
pub mod events;
pub mod faults;
pub mod groups;
pub mod handshakes;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod recheck;
pub mod rooms;
pub mod sessions;
pub mod startup;
pub mod state;
