//! Admission to a group room: the grant (signed by auth-service, for this
//! user and room, not expired) and, because a grant outlives a removal by up
//! to its TTL, the membership as session-store knows it now.

use std::time::Instant;

use crate::conn::Conn;
use crate::domain::grant::GrantError;
use crate::domain::room::RoomName;
use crate::state::AppState;

/// A group join that passed admission: when it was decided and until when
/// the grant lets the member stay.
#[derive(Debug, Clone, Copy)]
pub struct Admitted {
    pub at: Instant,
    pub exp: i64,
}

/// Checks grant and membership; session-store down means no admission
/// (`Unavailable`: the client retries), never a guess.
pub async fn admit(
    state: &AppState,
    conn: &Conn,
    room: &RoomName,
    grant: Option<&str>,
) -> Result<Admitted, GrantError> {
    let at = Instant::now();
    let exp = state
        .grant_keys
        .verify_until(grant, &conn.identity.user, room)?;
    // The verifier's leeway is for clock skew at the edges of a JWT's life;
    // a member is out at `exp` (see `expiry`), so a grant at or past it
    // admits nobody.
    if exp <= unix_now() {
        return Err(GrantError::Invalid);
    }
    let pair = (
        super::group_id(room).to_owned(),
        conn.identity.user.as_str().to_owned(),
    );
    match state.store.memberships(std::slice::from_ref(&pair)).await {
        Some(answers) if answers.first() == Some(&true) => Ok(Admitted { at, exp }),
        Some(_) => Err(GrantError::NotMember),
        None => Err(GrantError::Unavailable),
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
