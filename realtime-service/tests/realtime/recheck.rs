//! The periodic re-check in batches (`ValidateSessions`): across several
//! batches it finds exactly the sessions that ended, against a real
//! session-store over gRPC.

use std::collections::HashMap;

use nexus_domain::SessionStatus;
use realtime_service::domain::ids::SessionId;
use realtime_service::store::SessionLookup;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_recheck_over_several_batches_finds_exactly_the_ended_sessions() {
    let backend = Backend::start().await;
    let app = TestApp::spawn(backend.config()).await;
    let live = backend.session("mo").await;
    let revoked = backend.session("ned").await;
    let other_live = backend.session("ola").await;
    backend.revoke_silently("ned", &revoked).await;

    // 2,500 sessions: three batches, the real ones spread over them.
    let mut ids: Vec<String> = (0..2_497)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    ids.insert(10, live.clone());
    ids.insert(1_200, revoked.clone());
    ids.insert(2_400, other_live.clone());
    let sessions: Vec<SessionId> = ids
        .iter()
        .map(|id| SessionId::parse(id).expect("session id"))
        .collect();
    let checked = realtime_service::recheck::check(&app.state, sessions).await;
    assert_eq!(checked.unavailable, 0);
    let ended: HashMap<&str, SessionLookup> = checked
        .ended
        .iter()
        .map(|(session, state)| (session.as_str(), *state))
        .collect();
    assert_eq!(ended.len(), 2_498, "every session but the two live ones");
    assert_eq!(
        ended.get(revoked.as_str()),
        Some(&SessionLookup::Known(SessionStatus::Revoked))
    );
    assert!(!ended.contains_key(live.as_str()));
    assert!(!ended.contains_key(other_live.as_str()));
    assert!(
        ended
            .iter()
            .filter(|(id, _)| **id != revoked.as_str())
            .all(|(_, state)| *state == SessionLookup::Unknown)
    );
    app.stop().await;
    backend.stop().await;
}
