//! Why a token was refused, in words a client can act on and a stable code.
//!
//! Messages never echo the token or any key material.

/// A refused token. Every variant but [`TokenError::KeysUnavailable`] is the
/// client's problem (401); that one means the verifying keys could not be
/// fetched (503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no token was presented")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token is too large")]
    TooLarge,
    #[error("tokens signed with {0} are not accepted")]
    AlgorithmNotAllowed(String),
    #[error("the token names no key id")]
    MissingKeyId,
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued for another audience")]
    WrongAudience,
    #[error("the token was issued by an unexpected issuer")]
    WrongIssuer,
    #[error("the token does not carry the authenticated role")]
    WrongRole,
    #[error("the token's claims are invalid: {0}")]
    BadClaims(String),
    #[error("the keys to verify the token are unavailable")]
    KeysUnavailable,
}

impl TokenError {
    /// A stable machine-readable code for the `error` field of responses.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "token_missing",
            Self::Malformed => "token_malformed",
            Self::TooLarge => "token_too_large",
            Self::AlgorithmNotAllowed(_) => "token_algorithm_not_allowed",
            Self::MissingKeyId => "token_missing_kid",
            Self::UnknownKey => "token_unknown_key",
            Self::BadSignature => "token_bad_signature",
            Self::Expired => "token_expired",
            Self::NotYetValid => "token_not_yet_valid",
            Self::WrongAudience => "token_wrong_audience",
            Self::WrongIssuer => "token_wrong_issuer",
            Self::WrongRole => "token_wrong_role",
            Self::BadClaims(_) => "token_bad_claims",
            Self::KeysUnavailable => "keys_unavailable",
        }
    }

    /// Whether the failure is on the server side (keys could not be fetched).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::KeysUnavailable)
    }
}
