//! Generated types for `nexus.session.v1.SessionStore` and
//! `nexus.session.v1.GroupStore` (same package, two proto files).
//!
//! Only this crate and the gRPC adapters in each service know prost types;
//! services convert to their domain types at the edge.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

pub mod session {
    pub mod v1 {
        tonic::include_proto!("nexus.session.v1");
    }
}

pub use session::v1 as session_v1;

/// Encoded `FileDescriptorSet` of the session API, for `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/session_store_descriptor.bin"));
