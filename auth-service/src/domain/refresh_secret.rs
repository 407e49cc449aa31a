//! The per-session random secret refresh tokens are derived from.
//!
//! auth-service generates it at the bridge and hands it to session-store,
//! which keeps it; it is useless without the refresh keys only auth-service
//! holds, and the keys are useless without it.

use std::fmt;

/// Exactly 32 random bytes. `Debug` never prints them.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshSecret([u8; 32]);

#[derive(Debug, thiserror::Error)]
#[error("refresh secret must be exactly 32 bytes, got {0}")]
pub struct BadSecretLength(pub usize);

impl RefreshSecret {
    pub fn random() -> Self {
        Self(rand::random())
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BadSecretLength> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| BadSecretLength(bytes.len()))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_32_bytes_are_a_secret() {
        assert!(RefreshSecret::from_bytes(&[0; 32]).is_ok());
        assert!(RefreshSecret::from_bytes(&[0; 31]).is_err());
        assert_ne!(RefreshSecret::random(), RefreshSecret::random());
        assert_eq!(
            format!("{:?}", RefreshSecret::random()),
            "RefreshSecret(<redacted>)"
        );
    }
}
