//! Dark-room aliases: `HMAC-SHA256(DARKROOM_ALIAS_KEY, room \0 user id)`
//! rendered as "Adjective Animal NNNN".
//!
//! Keyed, so nobody without the key can compute a user's alias or tell two
//! rooms' aliases of one user apart from two users; deterministic, so the
//! alias is stable in a room and every instance (sharing the key) agrees.
//! About 41 million combinations: a collision inside one room is possible but
//! rare, and harmless (it only confuses the display).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::ids::UserId;
use crate::domain::room::RoomName;

const ADJECTIVES: [&str; 64] = [
    "Quiet",
    "Brave",
    "Calm",
    "Swift",
    "Gentle",
    "Bold",
    "Clever",
    "Witty",
    "Silent",
    "Bright",
    "Lucky",
    "Mellow",
    "Nimble",
    "Proud",
    "Shy",
    "Sunny",
    "Misty",
    "Rapid",
    "Cosmic",
    "Velvet",
    "Amber",
    "Crimson",
    "Golden",
    "Silver",
    "Hidden",
    "Wandering",
    "Dreamy",
    "Fierce",
    "Humble",
    "Jolly",
    "Kind",
    "Lively",
    "Merry",
    "Noble",
    "Patient",
    "Quirky",
    "Rustic",
    "Sleepy",
    "Tidy",
    "Urban",
    "Vivid",
    "Wild",
    "Young",
    "Zesty",
    "Arctic",
    "Breezy",
    "Cheerful",
    "Daring",
    "Eager",
    "Frosty",
    "Glowing",
    "Hazy",
    "Icy",
    "Jazzy",
    "Keen",
    "Lunar",
    "Mystic",
    "Nova",
    "Opal",
    "Polar",
    "Royal",
    "Solar",
    "Stormy",
    "Twilight",
];

const ANIMALS: [&str; 64] = [
    "Otter", "Fox", "Owl", "Heron", "Lynx", "Panda", "Raven", "Badger", "Bison", "Cobra", "Crane",
    "Dingo", "Eagle", "Falcon", "Gecko", "Hare", "Ibis", "Jackal", "Koala", "Lemur", "Marten",
    "Newt", "Ocelot", "Puffin", "Quail", "Robin", "Seal", "Tapir", "Urchin", "Viper", "Walrus",
    "Yak", "Zebra", "Alpaca", "Beaver", "Camel", "Dolphin", "Elk", "Ferret", "Gazelle", "Hedgehog",
    "Iguana", "Jaguar", "Kestrel", "Llama", "Moose", "Narwhal", "Orca", "Pelican", "Rabbit",
    "Salmon", "Tiger", "Turtle", "Vulture", "Wombat", "Wolf", "Bear", "Crow", "Deer", "Finch",
    "Goose", "Hawk", "Mole", "Swan",
];

/// The key aliases are derived with.
#[derive(Clone)]
pub struct AliasKey(Hmac<Sha256>);

impl std::fmt::Debug for AliasKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AliasKey(<secret>)")
    }
}

/// Why an alias key was refused.
#[derive(Debug, thiserror::Error)]
#[error("the dark-room alias key must be at least 16 bytes")]
pub struct WeakAliasKey;

impl AliasKey {
    pub fn new(secret: &[u8]) -> Result<Self, WeakAliasKey> {
        if secret.len() < 16 {
            return Err(WeakAliasKey);
        }
        Hmac::<Sha256>::new_from_slice(secret)
            .map(Self)
            .map_err(|_| WeakAliasKey)
    }

    /// A fixed key for development (logged as such at start).
    pub fn development() -> Self {
        Self(
            Hmac::<Sha256>::new_from_slice(b"nexus-development-darkroom-alias-key")
                .unwrap_or_else(|_| unreachable_hmac()),
        )
    }

    /// A 32-byte key for another use of the same shared secret, separated
    /// by `purpose` (aliases hash `room \0 user`, and a room name always
    /// has a `:`, so a purpose without one never collides with an alias).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(b"derive\0");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The alias of `user` in `room`.
    pub fn alias(&self, room: &RoomName, user: &UserId) -> String {
        let mut mac = self.0.clone();
        mac.update(room.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(user.as_str().as_bytes());
        let digest = mac.finalize().into_bytes();
        let adjective = ADJECTIVES[usize::from(digest[0]) % ADJECTIVES.len()];
        let animal = ANIMALS[usize::from(digest[1]) % ANIMALS.len()];
        let number = u16::from_be_bytes([digest[2], digest[3]]) % 10_000;
        format!("{adjective} {animal} {number:04}")
    }
}

/// HMAC accepts keys of any length; this cannot happen.
fn unreachable_hmac() -> Hmac<Sha256> {
    #[allow(clippy::panic)]
    {
        panic!("HMAC-SHA256 refused a key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(raw: &str) -> RoomName {
        RoomName::parse(raw).expect("room")
    }

    #[test]
    fn stable_in_a_room_distinct_across_rooms_and_keys() {
        let key = AliasKey::new(b"0123456789abcdef0123").expect("key");
        let user = UserId::parse("user-1").expect("user");
        let a = key.alias(&room("darkroom:a"), &user);
        assert_eq!(a, key.alias(&room("darkroom:a"), &user));
        assert_ne!(a, key.alias(&room("darkroom:b"), &user));
        let other = AliasKey::new(b"another-key-0123456789").expect("key");
        assert_ne!(a, other.alias(&room("darkroom:a"), &user));
        assert_eq!(a.split(' ').count(), 3, "{a}");
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(AliasKey::new(b"short").is_err());
    }
}
