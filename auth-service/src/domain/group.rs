//! A group id as it arrives in a URL. The rule is nexus-domain's (the
//! room-id charset realtime accepts in `group:<id>`); anything else cannot
//! name a group, so routes answer it like an unknown group (404).

pub use nexus_domain::GroupId;
