//! Every bad Supabase token is a 401 in the envelope and creates nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::*;

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn with(claims: &Value, key: &str, value: Value) -> Value {
    let mut claims = claims.clone();
    claims[key] = value;
    claims
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_supabase_tokens_are_refused_with_401_in_the_envelope() {
    let env = TestEnv::spawn_with_rsa().await;
    let claims = supabase_claims();
    let now = chrono::Utc::now().timestamp();
    let valid = sign_hs256(&claims, SUPABASE_SECRET.as_bytes());

    // alg: none, unsigned.
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    // Algorithm confusion: HS256 "signed" with the RSA public key of the JWKS.
    let mut confusion_claims = claims.clone();
    confusion_claims["sub"] = json!(uuid::Uuid::new_v4().to_string());
    let confusion = {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(RSA_KID.to_owned());
        jsonwebtoken::encode(
            &header,
            &confusion_claims,
            &jsonwebtoken::EncodingKey::from_secret(rsa_key().public_pem.as_bytes()),
        )
        .unwrap()
    };
    // Tampered payload: a valid signature over other claims.
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let tampered_sub = uuid::Uuid::new_v4().to_string();
    parts[1] = b64(&with(&claims, "sub", json!(tampered_sub)));
    let tampered = parts.join(".");
    let truncated = valid[..valid.len() - 11].to_owned();
    let huge_header = format!(
        "{}.{}.sig",
        b64(&json!({"alg": "HS256", "pad": "x".repeat(100 * 1024)})),
        b64(&claims)
    );

    let cases: Vec<(&str, String, &str)> = vec![
        ("alg none", alg_none, "token_algorithm_not_allowed"),
        (
            "HS256 with the RSA public key",
            confusion,
            "token_bad_signature",
        ),
        (
            "expired",
            sign_hs256(
                &with(&claims, "exp", json!(now - 3600)),
                SUPABASE_SECRET.as_bytes(),
            ),
            "token_expired",
        ),
        (
            "not yet valid",
            sign_hs256(
                &with(&claims, "nbf", json!(now + 3600)),
                SUPABASE_SECRET.as_bytes(),
            ),
            "token_not_yet_valid",
        ),
        (
            "wrong audience",
            sign_hs256(
                &with(&claims, "aud", json!("anon")),
                SUPABASE_SECRET.as_bytes(),
            ),
            "token_wrong_audience",
        ),
        (
            "wrong issuer",
            sign_hs256(
                &with(&claims, "iss", json!("https://evil.example/auth/v1")),
                SUPABASE_SECRET.as_bytes(),
            ),
            "token_wrong_issuer",
        ),
        (
            "wrong role",
            sign_hs256(
                &with(&claims, "role", json!("service_role")),
                SUPABASE_SECRET.as_bytes(),
            ),
            "token_wrong_role",
        ),
        (
            "unknown kid",
            sign_es256(&claims, "no-such-kid"),
            "token_unknown_key",
        ),
        (
            "wrong secret",
            sign_hs256(&claims, b"another-secret-another-secret-another"),
            "token_bad_signature",
        ),
        ("tampered payload", tampered, "token_bad_signature"),
        ("truncated", truncated, "token_bad_signature"),
        ("100 KB header", huge_header, "token_too_large"),
        ("garbage", "not-a-jwt".to_owned(), "token_malformed"),
    ];
    for (name, token, code) in cases {
        // In the JSON body, so even the 100 KB token reaches the handler.
        let response = env
            .app
            .client
            .post(env.app.url("/api/auth/session/bridge"))
            .header("Origin", ORIGIN)
            .json(&json!({"access_token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["success"], false, "{name}: {body}");
        assert_eq!(body["error"], code, "{name}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with("Invalid Supabase token"),
            "{name}: {message}"
        );
        assert!(!message.contains(SUPABASE_SECRET), "{name}");
    }

    // Empty: no token at all, as header or body.
    let empty = env.app.bridge("").await;
    assert_failure(empty, 401, "not_authenticated").await;
    let blank_body = env
        .app
        .client
        .post(env.app.url("/api/auth/session/bridge"))
        .header("Origin", ORIGIN)
        .json(&json!({"access_token": ""}))
        .send()
        .await
        .unwrap();
    assert_failure(blank_body, 401, "token_missing").await;

    // Nothing was created by any of them, for any user the tokens name.
    for user in [
        claims["sub"].as_str().unwrap(),
        confusion_claims["sub"].as_str().unwrap(),
        tampered_sub.as_str(),
    ] {
        assert_eq!(env.store.sessions_of(user, true).await, vec![], "{user}");
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_jwks_hs256_only_projects_refuse_asymmetric_tokens_and_vice_versa() {
    let store = TestStore::spawn().await;
    let mut config = AuthSettings::new(store.url()).build();
    config.supabase = nexus_tokens::supabase::SupabaseConfig::from_values(
        None,
        None,
        Some(SUPABASE_SECRET.to_owned()),
    )
    .unwrap();
    let app = TestApp::start(config).await;
    let es = app.bridge(&sign_es256(&supabase_claims(), EC_KID)).await;
    assert_failure(es, 401, "token_algorithm_not_allowed").await;
    let hs = app
        .bridge(&sign_hs256(&supabase_claims(), SUPABASE_SECRET.as_bytes()))
        .await;
    assert_eq!(hs.status(), 200);
    app.stop().await;
    store.stop().await;
}
