//! Hangout ids that prove they were minted by a realtime instance.
//!
//! `hangout:<32 hex random><20 hex tag>`, the tag an HMAC of the random part
//! under a key derived from `DARKROOM_ALIAS_KEY` (the secret every instance
//! already shares). A made-up or altered hangout id is refused by any
//! instance at once, without asking the others over the relay: only
//! authentic ids cost a lookup (see `rooms::hangouts`), so a client cannot
//! turn a flood of invented ids into broker traffic. 128 random bits keep
//! hangouts unguessable, as the plain UUIDs before them.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::alias::AliasKey;
use crate::domain::room::{RoomKind, RoomName};

const RANDOM_HEX: usize = 32;
const TAG_BYTES: usize = 10;

/// Mints and checks hangout ids.
#[derive(Clone)]
pub struct HangoutIds(Hmac<Sha256>);

impl std::fmt::Debug for HangoutIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HangoutIds(<secret>)")
    }
}

impl HangoutIds {
    pub fn new(key: &AliasKey) -> Self {
        let derived = key.derive("nexus.realtime.hangout-id.v1");
        let mac = Hmac::<Sha256>::new_from_slice(&derived).expect("HMAC takes any key length");
        Self(mac)
    }

    fn tag(&self, random: &str) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(random.as_bytes());
        mac
    }

    /// A fresh hangout.
    pub fn mint(&self) -> RoomName {
        let random = uuid::Uuid::new_v4().simple().to_string();
        let tag = self.tag(&random).finalize().into_bytes();
        let id = format!("{random}{}", hex_lower(&tag[..TAG_BYTES]));
        RoomName::minted_hangout(&id)
    }

    /// Whether `room` is a hangout some instance sharing the key minted.
    pub fn is_authentic(&self, room: &RoomName) -> bool {
        if room.kind() != RoomKind::Hangout {
            return false;
        }
        let id = room.id();
        if id.len() != RANDOM_HEX + 2 * TAG_BYTES
            || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return false;
        }
        let (random, tag) = id.split_at(RANDOM_HEX);
        let Some(tag) = hex_decode(tag) else {
            return false;
        };
        self.tag(random).verify_truncated_left(&tag).is_ok()
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(secret: &[u8]) -> HangoutIds {
        HangoutIds::new(&AliasKey::new(secret).expect("key"))
    }

    #[test]
    fn minted_ids_verify_and_forgeries_do_not() {
        let ids = ids(b"0123456789abcdef0123");
        let room = ids.mint();
        assert!(ids.is_authentic(&room), "{room}");
        assert_ne!(ids.mint(), room, "fresh every time");
        assert!(RoomName::parse(room.as_str()).is_ok());

        let id = room.id().to_owned();
        // Every single-character change of the tag or the random part.
        for at in [0, 31, 32, id.len() - 1] {
            let mut forged = id.clone().into_bytes();
            forged[at] = if forged[at] == b'0' { b'1' } else { b'0' };
            let forged = RoomName::parse(&format!(
                "hangout:{}",
                String::from_utf8(forged).expect("ascii")
            ))
            .expect("valid name");
            assert!(!ids.is_authentic(&forged), "{forged}");
        }
        for made_up in [
            "hangout:friday",
            "hangout:0123456789abcdef0123456789abcdef",
            &format!("hangout:{}", id.to_uppercase()),
            &format!("hangout:{id}0"),
        ] {
            let room = RoomName::parse(made_up).expect("valid name");
            assert!(!ids.is_authentic(&room), "{made_up}");
        }
        // Another deployment's key, and other kinds of rooms.
        assert!(!super::tests::ids(b"another-secret-0123456789").is_authentic(&room));
        let dark = RoomName::parse(&format!("darkroom:{id}")).expect("valid name");
        assert!(!ids.is_authentic(&dark));
    }
}
