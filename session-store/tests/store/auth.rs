//! SESSION_STORE_TOKEN: required on every SessionStore call when configured;
//! health stays open for orchestrators.

use nexus_proto::session_v1 as pb;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::*;

const TOKEN: &str = "test-store-token-0123456789";

#[tokio::test(flavor = "multi_thread")]
async fn calls_without_the_right_token_are_unauthenticated() {
    let store = TestStore::spawn_with(|config| config.token = Some(TOKEN.to_owned())).await;
    let request = || pb::ListUserSessionsRequest {
        user_id: user(),
        include_ended: true,
    };

    let missing = store
        .client_with_token(None)
        .list_user_sessions(request())
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::Unauthenticated);
    let wrong = store
        .client_with_token(Some("not-the-token"))
        .list_user_sessions(request())
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), tonic::Code::Unauthenticated);
    let denied_create = store
        .client_with_token(Some("not-the-token"))
        .create_session(create_request(&user(), Some("sb")))
        .await
        .unwrap_err();
    assert_eq!(denied_create.code(), tonic::Code::Unauthenticated);
    let db = db(store.database_url()).await;
    assert_eq!(
        count(&db, "SELECT count(*) FROM user_sessions").await,
        0,
        "nothing created"
    );

    // The configured token works.
    assert!(store.client().list_user_sessions(request()).await.is_ok());
    let created = store
        .client()
        .create_session(create_request(&user(), Some("sb")))
        .await
        .unwrap();
    assert!(created.into_inner().created);
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn health_reports_serving_without_a_token() {
    let store = TestStore::spawn_with(|config| config.token = Some(TOKEN.to_owned())).await;
    let channel = tonic::transport::Endpoint::from_shared(store.url().to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    for service in ["", session_store::startup::SERVICE_NAME] {
        let response = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            response.status(),
            ServingStatus::Serving,
            "service {service:?}"
        );
    }
    store.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reflection_lists_the_session_store_service() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let store = TestStore::spawn_with(|config| config.token = Some(TOKEN.to_owned())).await;
    let channel = tonic::transport::Endpoint::from_shared(store.url().to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(futures::stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().expect("one response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&session_store::startup::SERVICE_NAME.to_owned()),
        "{names:?}"
    );
    store.stop().await;
}
