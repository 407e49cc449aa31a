//! JWT header and claims decoding on the hardened path (`nexus_tokens`):
//! Supabase tokens (HS256 secret) and backend access tokens (fixed EdDSA key)
//! from arbitrary strings. Never panics, never accepts: the input cannot carry
//! a valid signature under keys it does not know.
#![no_main]

use std::sync::OnceLock;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;
use nexus_tokens::VerificationKey;
use nexus_tokens::access::AccessTokenVerifier;
use nexus_tokens::supabase::{SupabaseConfig, SupabaseVerifier};

fn supabase() -> &'static SupabaseVerifier {
    static VERIFIER: OnceLock<SupabaseVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let config = SupabaseConfig::from_values(
            None,
            None,
            Some("fuzz-supabase-jwt-secret-with-enough-length-0123".to_owned()),
        )
        .expect("config");
        SupabaseVerifier::new(&config).expect("verifier")
    })
}

fn access() -> &'static AccessTokenVerifier {
    static VERIFIER: OnceLock<AccessTokenVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&[3; 32]);
        let key = EncodingKey::from_ed_der(&der);
        let jwk = Jwk::from_encoding_key(&key, Algorithm::EdDSA).expect("jwk");
        let key = VerificationKey::from_jwk(&jwk).expect("usable");
        AccessTokenVerifier::from_keys([("k1".to_owned(), key)])
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    // Neither verifier does I/O on these paths (no JWKS configured).
    assert!(futures::executor::block_on(supabase().verify(token)).is_err());
    assert!(futures::executor::block_on(access().verify(token)).is_err());
});
