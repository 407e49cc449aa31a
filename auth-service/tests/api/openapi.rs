//! The OpenAPI document is served, is OpenAPI 3.1, and matches the routes
//! actix actually registered, both ways: a route without a spec entry fails
//! this test (and with it CI), and so does a spec entry without a route.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::dev::Service;
use serde_json::Value;

use crate::helpers::*;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every path pattern in the app's resource map, read from actix itself.
///
/// actix-web offers no public iterator over its routes, but `ResourceMap`
/// (which it builds from exactly what was registered) implements `Debug`
/// and prints each resource's `patterns`. Scopes would nest prefixes; route
/// modules register full paths (`http::route_module`), and this refuses
/// anything else rather than guessing.
async fn registered_patterns() -> BTreeSet<String> {
    let captured = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
    let sink = captured.clone();
    let app = actix_web::test::init_service(
        actix_web::App::new()
            .configure(auth_service::http::api::configure)
            .wrap_fn(move |request, service| {
                *sink.borrow_mut() = format!("{:?}", request.request().resource_map());
                service.call(request)
            }),
    )
    .await;
    let probe = actix_web::test::TestRequest::get()
        .uri("/no-such-route")
        .to_request();
    let _ = actix_web::test::call_service(&app, probe).await;
    let map = captured.borrow().clone();
    assert!(
        !map.contains("List("),
        "a route registered with several patterns: {map}"
    );
    assert_eq!(
        map.matches("is_prefix: true").count(),
        1,
        "only the app root may be a prefix (no web::scope): {map}"
    );
    let mut patterns = BTreeSet::new();
    let mut rest = map.as_str();
    while let Some(start) = rest.find("patterns: Single(\"") {
        rest = &rest[start + "patterns: Single(\"".len()..];
        let end = rest.find("\")").expect("pattern end");
        patterns.insert(rest[..end].to_owned());
        rest = &rest[end..];
    }
    patterns.remove("");
    assert!(patterns.len() >= 10, "found too few routes: {patterns:?}");
    patterns
}

fn spec_operations(document: &Value) -> BTreeMap<String, BTreeSet<String>> {
    document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = METHODS
                .iter()
                .filter(|method| item.get(**method).is_some())
                .map(|method| (*method).to_owned())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

#[actix_web::test]
async fn every_registered_route_has_a_spec_entry_and_every_entry_a_route() {
    let registered = registered_patterns().await;
    let document = serde_json::to_value(auth_service::http::api::document()).unwrap();
    let documented: BTreeSet<String> = spec_operations(&document).into_keys().collect();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty(),
        "routes without an OpenAPI entry: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "OpenAPI entries without a route: {unrouted:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_served_document_is_openapi_3_1_and_its_methods_are_exactly_the_routed_ones() {
    let env = TestEnv::spawn().await;
    let response = env
        .app
        .client
        .get(env.app.url("/api/auth/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let served: Value = response.json().await.unwrap();
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(
        served,
        serde_json::to_value(auth_service::http::api::document()).unwrap()
    );
    assert!(served["components"]["schemas"].get("Failure").is_some());
    assert!(
        served["components"]["securitySchemes"]
            .get("access_token")
            .is_some()
    );

    // Ask the running service which methods each documented path answers:
    // an unrouted method falls through to the app's default service (404
    // with error `not_found`), a routed one answers anything else (the probes
    // carry no credentials, so nothing changes).
    for (path, documented) in spec_operations(&served) {
        let concrete = path
            .replace("{id}", "3f1c0b9e-2a4d-4f7e-9a1b-0c2d3e4f5a6b")
            .replace("{user_id}", "0b6f7c52-1d5e-4c7a-9d0f-3a1b2c3d4e5f");
        assert!(!concrete.contains('{'), "unsubstituted parameter in {path}");
        for method in METHODS {
            let response = env
                .app
                .client
                .request(
                    method.to_uppercase().parse().unwrap(),
                    env.app.url(&concrete),
                )
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            let routed = !(status == 404 && body.contains("\"error\":\"not_found\""));
            assert_eq!(
                routed,
                documented.contains(method),
                "{method} {path}: answered {status} {body}"
            );
        }
    }
    env.stop().await;
}
