//! Size caps that several services must agree on.
//!
//! A cap one service enforces and another does not is a place where an
//! input accepted at one edge fails deeper in; so each shared cap is a
//! constant here, used by every service that checks it.

/// Longest id ([`crate::SessionId`], [`crate::UserId`]) in bytes (ids are
/// ASCII, so also in characters).
pub const MAX_ID_LEN: usize = 255;

/// Largest JWT any service reads, in bytes, checked before any parsing: a
/// real Supabase token is about 1 KB; the cap stops header-bomb tokens
/// cheaply. Tokens over it are refused as `token_too_large` by the
/// `nexus-tokens` verifiers; credential parsing hands them on unchanged so
/// that refusal says why.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Most session ids one `ValidateSessions` call takes (session-store
/// refuses more; realtime-service splits its batches by it).
pub const VALIDATE_BATCH_MAX: usize = 1000;

/// Most (group, user) pairs one `CheckMemberships` call takes (session-store
/// refuses more; realtime-service splits its batches by it).
pub const MAX_MEMBERSHIP_CHECKS: usize = 1000;

/// Longest user agent kept on a session, in characters: longer ones are cut
/// (browsers send arbitrary strings; a long one is not worth refusing a
/// login). auth-service used to cut at 255 and session-store at 512; 512 is
/// the one both now use.
pub const MAX_USER_AGENT_CHARS: usize = 512;
