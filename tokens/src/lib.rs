//! Verifying the JWTs Nexus services accept.
//!
//! Two kinds of token reach the backend:
//! - Supabase access tokens ([`supabase`]), the user's proof of sign-in, verified by
//!   auth-service's bridge and by realtime-service for the existing frontend;
//! - backend access tokens ([`access`]), signed by auth-service and verified by any
//!   service through auth-service's JWKS, without a shared secret.
//!
//! Both go through one hardened path ([`verify`]): size cap, algorithm chosen by
//! the key rather than the token header (no `alg: none`, no algorithm confusion),
//! `kid` lookup in a cached JWKS ([`jwks`]), audience, issuer, expiry with leeway.
//! Signing lives in auth-service, the only holder of private keys.

pub mod access;
pub mod error;
pub mod grant;
pub mod jwks;
pub mod supabase;
mod verify;

pub use error::TokenError;
pub use jwks::{JwksCache, VerificationKey};
