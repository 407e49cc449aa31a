//! Key material auth-service alone holds: the asymmetric keys that sign
//! backend access tokens (published as JWKS) and the symmetric keys refresh
//! tokens are derived with, and the room-grant key that admits group members
//! to their group's realtime room.

pub mod access;
pub mod refresh;
pub mod room_grant;
