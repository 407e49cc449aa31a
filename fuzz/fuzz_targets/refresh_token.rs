//! Refresh-token opening: the outer-tag check every refresh, logout and
//! bridge-replacement runs on attacker-chosen strings before any store call.
//! Never panics; anything it accepts was derived by us; a genuine token with
//! one byte changed never opens.
#![no_main]

use std::sync::OnceLock;

use auth_service::domain::{Generation, RefreshSecret, SessionId};
use auth_service::keys::refresh::RefreshKeyring;
use libfuzzer_sys::fuzz_target;

fn keyring() -> &'static RefreshKeyring {
    static KEYS: OnceLock<RefreshKeyring> = OnceLock::new();
    KEYS.get_or_init(|| {
        RefreshKeyring::parse(
            "k2:fuzz-refresh-key-two-0123456789abcdef,k1:fuzz-refresh-key-one-0123456789abcdef",
        )
        .expect("keys")
        .with_retired(&["k0".to_owned()])
        .expect("retired")
    })
}

fuzz_target!(|data: &[u8]| {
    let keys = keyring();
    if let Ok(raw) = std::str::from_utf8(data) {
        if let Ok(presented) = keys.open(raw) {
            // Only tokens carrying our tag open; its secret is not known here.
            assert!(!keys.matches_secret(
                &presented,
                &RefreshSecret::from_bytes(&[0; 32]).expect("32")
            ));
        }
    }
    // A genuine token with one byte flipped (position and value from the input).
    if data.len() >= 3 {
        let sid = SessionId::parse("3f1c0b9e-2a4d-4f7e-9a1b-0c2d3e4f5a6b").expect("sid");
        let generation = Generation::new(u64::from(data[0]) + 1).expect("non-zero");
        let token = keys.derive_current(
            &sid,
            generation,
            &RefreshSecret::from_bytes(&[7; 32]).expect("32"),
        );
        let mut bytes = token.expose().as_bytes().to_vec();
        let at = usize::from(data[1]) % bytes.len();
        if bytes[at] != data[2] {
            bytes[at] = data[2];
            if let Ok(tampered) = std::str::from_utf8(&bytes) {
                assert!(keys.open(tampered).is_err(), "a tampered token opened");
            }
        }
    }
});
