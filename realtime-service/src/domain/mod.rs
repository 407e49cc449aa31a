//! Typed values that cross the service's edges ("parse, don't validate"):
//! once a value of these types exists it is known to be well formed.

pub mod alias;
pub mod grant;
pub mod hangout_id;
pub mod ids;
pub mod room;
pub mod text;
