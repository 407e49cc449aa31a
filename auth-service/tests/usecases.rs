//! Use-case tests: `auth_service::app` called directly, without HTTP, against
//! a real session-store over gRPC (fresh database), the real gRPC adapters
//! behind the store ports, and real RabbitMQ for the events.
//!
//! What HTTP adds (cookies, Origin, rate limits, the envelope) is covered by
//! `tests/api`; here are the rules themselves: a bridge creates one session
//! per Supabase session, a refresh rotates, an old token after the reuse
//! interval revokes the session, logout revokes and announces, a user sees
//! and revokes only their own sessions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use auth_service::app::bridge::{self, BridgeError, BridgeInput, Bridged};
use auth_service::app::caller::{self, Caller, CallerError, SessionEnded};
use auth_service::app::logout::{self, Scope};
use auth_service::app::refresh::{self, RefreshError, RefreshInput};
use auth_service::app::sessions::{self, SessionsError};
use auth_service::domain::SessionId;
use auth_service::events::{EventPublisher, PublisherConfig};
use auth_service::group_store::GroupStore;
use auth_service::keys::access::AccessKeys;
use auth_service::keys::refresh::RefreshKeyring;
use auth_service::ports::SessionStatus;
use auth_service::secret_cache::SecretCache;
use auth_service::state::AppState;
use auth_service::store::SessionStore;
use nexus_common::events::SessionEventKind;
use nexus_common::store_client::StoreClientConfig;
use nexus_testkit::amqp::{AMQP_URL, EventQueue};
use nexus_testkit::store::TestStore;
use nexus_testkit::supabase::{SUPABASE_SECRET, claims_for, sign_hs256};
use nexus_tokens::supabase::{SupabaseConfig, SupabaseVerifier};

const REFRESH_KEY: &str = "k1:usecase-refresh-key-secret-0123456789abcdef";
const WAIT: Duration = Duration::from_secs(10);

/// A session-store on a fresh database, the use cases' state wired to it
/// exactly as `startup` wires it (minus HTTP), and the events they publish.
struct Env {
    store: TestStore,
    state: AppState,
    events: EventQueue,
}

impl Env {
    async fn spawn() -> Self {
        Self::spawn_with(Duration::from_secs(10)).await
    }

    async fn spawn_with(reuse_interval: Duration) -> Self {
        let store = TestStore::spawn().await;
        let config = StoreClientConfig {
            url: store.url().to_owned(),
            token: None,
            timeout: Duration::from_secs(5),
        };
        let exchange = format!("test.usecases.{}", uuid::Uuid::new_v4().simple());
        let events = EventQueue::bind(&exchange).await;
        let (publisher, _task) = EventPublisher::start(PublisherConfig {
            amqp_url: AMQP_URL.to_owned(),
            exchange,
            buffer: 1_000,
        });
        let supabase =
            SupabaseConfig::from_values(None, None, Some(SUPABASE_SECRET.to_owned())).unwrap();
        let access_keys = Arc::new(AccessKeys::generate_dev().unwrap());
        let state = AppState {
            supabase: SupabaseVerifier::new(&supabase).unwrap(),
            access_verifier: access_keys.verifier().unwrap(),
            access_keys,
            refresh_keys: Arc::new(RefreshKeyring::parse(REFRESH_KEY).unwrap()),
            store: Arc::new(SessionStore::connect_lazy(&config).unwrap()),
            groups: Arc::new(GroupStore::connect_lazy(&config).unwrap()),
            room_grants: None,
            events: publisher,
            secrets: SecretCache::new(1_000),
            access_ttl: Duration::from_secs(900),
            reuse_interval,
        };
        Self {
            store,
            state,
            events,
        }
    }

    /// Bridges a Supabase session of `user` (a fresh Supabase session id
    /// unless `supabase_session` names one).
    async fn bridge(&self, user: &str, supabase_session: Option<&str>) -> Bridged {
        bridge::bridge(&self.state, &input(user, supabase_session))
            .await
            .expect("bridged")
    }

    async fn caller(&self, bridged: &Bridged) -> Caller {
        caller::by_access_token(&self.state, &bridged.access.token)
            .await
            .expect("a live caller")
    }

    async fn status(&self, session: &SessionId) -> SessionStatus {
        self.state
            .store
            .validate(session)
            .await
            .expect("session")
            .status
    }

    async fn stop(self) {
        self.events.cleanup().await;
        self.store.stop().await;
    }
}

fn supabase_token(user: &str, supabase_session: &str) -> String {
    sign_hs256(
        &claims_for(user, supabase_session),
        SUPABASE_SECRET.as_bytes(),
    )
}

fn input(user: &str, supabase_session: Option<&str>) -> BridgeInput {
    let fresh = uuid::Uuid::new_v4().to_string();
    BridgeInput {
        supabase_token: supabase_token(user, supabase_session.unwrap_or(&fresh)),
        user_agent: Some("usecase-tests/1.0".to_owned()),
        ip_address: Some("198.51.100.7".to_owned()),
    }
}

fn new_user() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn refresh_input(token: &str, previous_access_token: Option<&str>) -> RefreshInput {
    RefreshInput {
        refresh_token: token.to_owned(),
        previous_access_token: previous_access_token.map(str::to_owned),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bridge_creates_one_session_per_supabase_session() {
    let mut env = Env::spawn().await;
    let user = new_user();
    let supabase_session = uuid::Uuid::new_v4().to_string();

    let first = env.bridge(&user, Some(&supabase_session)).await;
    assert!(first.created);
    assert_eq!(first.user.as_str(), user);
    assert_eq!(first.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(
        first.session.user_agent.as_deref(),
        Some("usecase-tests/1.0")
    );
    assert_eq!(env.status(&first.session.id).await, SessionStatus::Active);
    let claims = env
        .state
        .access_verifier
        .verify(&first.access.token)
        .await
        .expect("the access token verifies");
    assert_eq!(claims.sid, first.session.id.as_str());
    assert_eq!(claims.sub, user);
    let created = env.events.next(WAIT).await;
    assert_eq!(created.kind(), Some(SessionEventKind::Created));
    assert_eq!(created.data.session_id, first.session.id.as_str());
    assert_eq!(created.data.user_id, user);

    // The same Supabase session again: the same session and current token.
    let again = env.bridge(&user, Some(&supabase_session)).await;
    assert!(!again.created);
    assert_eq!(again.session.id, first.session.id);
    assert_eq!(again.refresh_token.expose(), first.refresh_token.expose());
    // Another Supabase session of the same user: another backend session.
    let other = env.bridge(&user, None).await;
    assert!(other.created);
    assert_ne!(other.session.id, first.session.id);
    let created = env.events.next(WAIT).await;
    assert_eq!(
        created.data.session_id,
        other.session.id.as_str(),
        "no event for the session returned again"
    );

    let forged = BridgeInput {
        supabase_token: format!("{}x", supabase_token(&user, &supabase_session)),
        ..input(&user, None)
    };
    assert!(matches!(
        bridge::bridge(&env.state, &forged).await,
        Err(BridgeError::SupabaseToken(_))
    ));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_rotates_and_a_second_tab_gets_the_current_token() {
    let mut env = Env::spawn().await;
    let bridged = env.bridge(&new_user(), None).await;
    let first = bridged.refresh_token.expose().to_owned();

    let rotated = refresh::refresh(
        &env.state,
        &refresh_input(&first, Some(&bridged.access.token)),
    )
    .await
    .expect("rotated");
    let second = rotated.refresh_token.expose().to_owned();
    assert_ne!(second, first);
    assert_eq!(rotated.session.id, bridged.session.id);
    let claims = env
        .state
        .access_verifier
        .verify(&rotated.access.token)
        .await
        .expect("a new access token");
    assert_eq!(claims.sid, bridged.session.id.as_str());
    assert_eq!(
        claims.name.as_deref(),
        Some("Ada Lovelace"),
        "the name carries over from the previous access token"
    );
    let refreshed = env.events.next_of(SessionEventKind::Refreshed, WAIT).await;
    assert_eq!(refreshed.data.session_id, bridged.session.id.as_str());

    // The superseded token within the reuse interval: a second tab gets the
    // current token, nothing rotates, the session lives on.
    let tab = refresh::refresh(&env.state, &refresh_input(&first, None))
        .await
        .expect("the current token again");
    assert_eq!(tab.refresh_token.expose(), second);
    let claims = env
        .state
        .access_verifier
        .verify(&tab.access.token)
        .await
        .expect("access token");
    assert_eq!(claims.name, None, "no previous access token, no name");
    assert_eq!(env.status(&bridged.session.id).await, SessionStatus::Active);

    // The current token rotates on.
    let third = refresh::refresh(&env.state, &refresh_input(&second, None))
        .await
        .expect("rotated again");
    assert_ne!(third.refresh_token.expose(), second);

    // A forged token never reaches session-store.
    let mut forged = second.clone();
    forged.push('x');
    assert!(matches!(
        refresh::refresh(&env.state, &refresh_input(&forged, None)).await,
        Err(RefreshError::Token(_))
    ));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reusing_a_superseded_refresh_token_revokes_the_session() {
    let mut env = Env::spawn_with(Duration::ZERO).await;
    let bridged = env.bridge(&new_user(), None).await;
    let first = bridged.refresh_token.expose().to_owned();
    let rotated = refresh::refresh(&env.state, &refresh_input(&first, None))
        .await
        .expect("rotated");

    let reuse = refresh::refresh(&env.state, &refresh_input(&first, None)).await;
    assert!(matches!(reuse, Err(RefreshError::Reuse)), "{reuse:?}");
    assert_eq!(
        env.status(&bridged.session.id).await,
        SessionStatus::Revoked
    );
    let detected = env
        .events
        .next_of(SessionEventKind::ReuseDetected, WAIT)
        .await;
    assert_eq!(detected.data.session_id, bridged.session.id.as_str());
    assert_eq!(detected.data.user_id, bridged.user.as_str());
    assert_eq!(detected.data.reason.as_deref(), Some("refresh_token_reuse"));
    assert!(
        env.state.secrets.get(&bridged.session.id).is_none(),
        "the cached secret is forgotten"
    );

    // The whole family is dead: the newest refresh token and the access token.
    let newest = refresh::refresh(
        &env.state,
        &refresh_input(rotated.refresh_token.expose(), None),
    )
    .await;
    assert!(
        matches!(newest, Err(RefreshError::Ended(SessionEnded::Revoked))),
        "{newest:?}"
    );
    let access = caller::by_access_token(&env.state, &rotated.access.token).await;
    assert!(
        matches!(access, Err(CallerError::Ended(SessionEnded::Revoked))),
        "{access:?}"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_revokes_and_publishes() {
    let mut env = Env::spawn().await;
    let user = new_user();
    let laptop = env.bridge(&user, None).await;
    let phone = env.bridge(&user, None).await;
    let caller = env.caller(&laptop).await;

    let local = logout::logout(&env.state, &caller, Scope::Local)
        .await
        .expect("logged out");
    assert_eq!(local.revoked_sessions, 1);
    let revoked = env.events.next_of(SessionEventKind::Revoked, WAIT).await;
    assert_eq!(revoked.data.session_id, laptop.session.id.as_str());
    assert_eq!(revoked.data.user_id, user);
    assert_eq!(revoked.data.reason.as_deref(), Some("logout"));
    assert_eq!(env.status(&laptop.session.id).await, SessionStatus::Revoked);
    assert_eq!(env.status(&phone.session.id).await, SessionStatus::Active);
    assert!(
        env.state.secrets.get(&laptop.session.id).is_none(),
        "the cached secret is forgotten"
    );
    // Neither of the laptop's tokens names a live caller any more.
    assert!(matches!(
        caller::by_access_token(&env.state, &laptop.access.token).await,
        Err(CallerError::Ended(SessionEnded::Revoked))
    ));
    assert!(matches!(
        refresh::live_caller(&env.state, laptop.refresh_token.expose()).await,
        Err(RefreshError::Ended(SessionEnded::Revoked))
    ));

    // The phone logs out everywhere by its current refresh token.
    let phone_caller = refresh::live_caller(&env.state, phone.refresh_token.expose())
        .await
        .expect("a live caller by refresh token");
    assert_eq!(phone_caller, env.caller(&phone).await);
    let global = logout::logout(&env.state, &phone_caller, Scope::Global)
        .await
        .expect("logged out");
    assert_eq!(global.revoked_sessions, 1, "only the phone was still live");
    let revoked = env.events.next_of(SessionEventKind::Revoked, WAIT).await;
    assert_eq!(revoked.data.session_id, phone.session.id.as_str());
    assert_eq!(revoked.data.reason.as_deref(), Some("logout_global"));
    assert_eq!(env.status(&phone.session.id).await, SessionStatus::Revoked);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn users_list_and_revoke_only_their_own_sessions() {
    let mut env = Env::spawn().await;
    let (ann, bob) = (new_user(), new_user());
    let ann_one = env.bridge(&ann, None).await;
    let ann_two = env.bridge(&ann, None).await;
    let bob_one = env.bridge(&bob, None).await;
    for _ in 0..3 {
        assert_eq!(
            env.events.next(WAIT).await.kind(),
            Some(SessionEventKind::Created)
        );
    }
    let ann_caller = env.caller(&ann_one).await;
    let bob_caller = env.caller(&bob_one).await;

    let ids = |list: Vec<auth_service::ports::SessionView>| -> HashSet<SessionId> {
        list.into_iter().map(|session| session.id).collect()
    };
    assert_eq!(
        ids(sessions::list(&env.state, &ann_caller).await.unwrap()),
        HashSet::from([ann_one.session.id.clone(), ann_two.session.id.clone()])
    );
    assert_eq!(
        ids(sessions::list(&env.state, &bob_caller).await.unwrap()),
        HashSet::from([bob_one.session.id.clone()])
    );

    // Bob's session is not Ann's to see or end: not found, untouched, unannounced.
    let foreign = sessions::revoke(&env.state, &ann_caller, &bob_one.session.id).await;
    assert!(
        matches!(foreign, Err(SessionsError::NotFound)),
        "{foreign:?}"
    );
    assert_eq!(env.status(&bob_one.session.id).await, SessionStatus::Active);
    env.events.assert_quiet(Duration::from_millis(500)).await;

    // Her own other session is.
    let revoked = sessions::revoke(&env.state, &ann_caller, &ann_two.session.id)
        .await
        .expect("revoked");
    assert!(revoked.revoked);
    assert!(!revoked.current);
    let event = env.events.next(WAIT).await;
    assert_eq!(event.kind(), Some(SessionEventKind::Revoked));
    assert_eq!(event.data.session_id, ann_two.session.id.as_str());
    assert_eq!(event.data.reason.as_deref(), Some("revoked_by_user"));
    assert_eq!(
        ids(sessions::list(&env.state, &ann_caller).await.unwrap()),
        HashSet::from([ann_one.session.id.clone()])
    );
    // Revoking it again changes nothing and announces nothing.
    let again = sessions::revoke(&env.state, &ann_caller, &ann_two.session.id)
        .await
        .expect("already revoked");
    assert!(!again.revoked);
    env.events.assert_quiet(Duration::from_millis(500)).await;
    // Her current session is marked as such.
    let own = sessions::revoke(&env.state, &ann_caller, &ann_one.session.id)
        .await
        .expect("revoked");
    assert!(own.revoked && own.current);
    env.stop().await;
}
