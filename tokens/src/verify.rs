//! The one decoding path every token goes through.
//!
//! The caller picks the key (and with it the only acceptable algorithm) from
//! the header's `kid` or from configuration; the header's `alg` must equal that
//! key's algorithm, so a token cannot choose how it is checked.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
// Tokens larger than the cap every service shares are refused before any
// parsing (a real Supabase token is about 1 KB; it stops header bombs cheaply).
use nexus_domain::limits::MAX_TOKEN_BYTES;
use serde::de::DeserializeOwned;

use crate::{TokenError, VerificationKey};

/// What the claims must satisfy besides the signature.
pub(crate) struct Expectations<'a> {
    pub audience: &'a str,
    pub issuer: Option<&'a str>,
    pub leeway_secs: u64,
}

/// The token's header, after the cheap shape checks.
pub(crate) fn header(token: &str) -> Result<Header, TokenError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(TokenError::Missing);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    if token.split('.').count() != 3 {
        return Err(TokenError::Malformed);
    }
    jsonwebtoken::decode_header(token).map_err(|_| match declared_algorithm(token) {
        // `alg: none` and unknown algorithms fail header parsing; say so.
        Some(algorithm) => TokenError::AlgorithmNotAllowed(algorithm),
        None => TokenError::Malformed,
    })
}

/// The `alg` a header declares, read leniently to explain a refusal.
fn declared_algorithm(token: &str) -> Option<String> {
    use base64::Engine;
    let encoded = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()?;
    let header: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let algorithm = header.get("alg")?.as_str()?;
    Some(algorithm.chars().take(16).collect())
}

/// Whether `exp` is checked. Only reading a token for display (the name in an
/// access token that has just expired) ignores it; authenticating never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    Enforced,
    Ignored,
}

/// Verifies signature and registered claims and returns the claims.
pub(crate) fn decode<T: DeserializeOwned>(
    token: &str,
    header: &Header,
    key: &VerificationKey,
    expect: &Expectations<'_>,
) -> Result<T, TokenError> {
    decode_with(token, header, key, expect, Expiry::Enforced)
}

/// [`decode`], with `exp` checked or not.
pub(crate) fn decode_with<T: DeserializeOwned>(
    token: &str,
    header: &Header,
    key: &VerificationKey,
    expect: &Expectations<'_>,
    expiry: Expiry,
) -> Result<T, TokenError> {
    if header.alg != key.algorithm {
        return Err(TokenError::AlgorithmNotAllowed(algorithm_name(header.alg)));
    }
    let mut validation = Validation::new(key.algorithm);
    validation.leeway = expect.leeway_secs;
    validation.validate_nbf = true;
    validation.set_audience(&[expect.audience]);
    let mut required = vec!["sub", "aud"];
    match expiry {
        Expiry::Enforced => required.push("exp"),
        Expiry::Ignored => validation.validate_exp = false,
    }
    if let Some(issuer) = expect.issuer {
        validation.set_issuer(&[issuer]);
        required.push("iss");
    }
    validation.set_required_spec_claims(&required);
    jsonwebtoken::decode::<T>(token.trim(), &key.key, &validation)
        .map(|data| data.claims)
        .map_err(|error| map_error(error.kind()))
}

fn map_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm => {
            TokenError::AlgorithmNotAllowed("this algorithm".to_owned())
        }
        ErrorKind::MissingRequiredClaim(claim) => {
            TokenError::BadClaims(format!("the {claim} claim is missing"))
        }
        ErrorKind::InvalidClaimFormat(claim) => {
            TokenError::BadClaims(format!("the {claim} claim has the wrong type"))
        }
        ErrorKind::Json(_) => {
            TokenError::BadClaims("the claims do not have the expected shape".to_owned())
        }
        _ => TokenError::Malformed,
    }
}

pub(crate) fn algorithm_name(algorithm: Algorithm) -> String {
    format!("{algorithm:?}")
}
