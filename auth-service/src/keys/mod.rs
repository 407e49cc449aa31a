//! Key material auth-service alone holds: the asymmetric keys that sign
//! backend access tokens (published as JWKS) and the symmetric keys refresh
//! tokens are derived with.

pub mod access;
pub mod refresh;
