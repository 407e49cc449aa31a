//! Token verification against real signatures: HS256 Supabase tokens, Ed25519
//! backend tokens, and a JWKS served over HTTP on loopback.

use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use nexus_tokens::TokenError;
use nexus_tokens::access::{AUDIENCE, AccessClaims, AccessTokenVerifier, ISSUER};
use nexus_tokens::jwks::JwksCache;
use nexus_tokens::supabase::{SupabaseConfig, SupabaseVerifier};
use serde_json::{Value, json};

const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
const PROJECT: &str = "https://abcdefgh.supabase.co";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn supabase_claims() -> Value {
    json!({
        "iss": format!("{PROJECT}/auth/v1"),
        "sub": "3f1c7a0e-8d2b-4c55-9a61-0b7d2e4f9c10",
        "aud": "authenticated",
        "exp": now() + 3600,
        "iat": now(),
        "email": "someone@example.com",
        "phone": "",
        "app_metadata": {"provider": "email"},
        "user_metadata": {"full_name": "Ada"},
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now()}],
        "session_id": "9b2d1c4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
        "is_anonymous": false
    })
}

fn hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signable")
}

fn hs_verifier() -> SupabaseVerifier {
    let config = SupabaseConfig::from_values(Some(PROJECT), None, Some(SECRET.to_owned()))
        .expect("configured");
    // SUPABASE_URL derives a JWKS URL too; keep this verifier HS256-only.
    let config = SupabaseConfig {
        jwks_url: None,
        ..config
    };
    SupabaseVerifier::new(&config).expect("verifier")
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

#[tokio::test]
async fn valid_supabase_token_yields_user_and_session() {
    let claims = hs_verifier()
        .verify(&hs256(&supabase_claims(), SECRET))
        .await
        .expect("valid");
    assert_eq!(claims.sub, "3f1c7a0e-8d2b-4c55-9a61-0b7d2e4f9c10");
    assert_eq!(
        claims.session_id.as_deref(),
        Some("9b2d1c4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e")
    );
    assert_eq!(claims.display_name().as_deref(), Some("Ada"));
}

/// Whether a refusal is the one a case expects.
type Expected = fn(&TokenError) -> bool;

#[tokio::test]
async fn bad_supabase_tokens_are_refused_with_the_reason() {
    let verifier = hs_verifier();
    let base = supabase_claims();
    let unsigned = {
        let header = base64_url(br#"{"alg":"none","typ":"JWT"}"#);
        format!("{header}.{}.", base64_url(base.to_string().as_bytes()))
    };
    let cases: Vec<(&str, String, Expected)> = vec![
        (
            "expired",
            hs256(&with(base.clone(), "exp", json!(now() - 120)), SECRET),
            |e| *e == TokenError::Expired,
        ),
        (
            "not yet valid",
            hs256(&with(base.clone(), "nbf", json!(now() + 600)), SECRET),
            |e| *e == TokenError::NotYetValid,
        ),
        (
            "wrong audience",
            hs256(&with(base.clone(), "aud", json!("anon")), SECRET),
            |e| *e == TokenError::WrongAudience,
        ),
        (
            "wrong issuer",
            hs256(
                &with(base.clone(), "iss", json!("https://evil.example/auth/v1")),
                SECRET,
            ),
            |e| *e == TokenError::WrongIssuer,
        ),
        (
            "anon role",
            hs256(&with(base.clone(), "role", json!("anon")), SECRET),
            |e| *e == TokenError::WrongRole,
        ),
        (
            "service role",
            hs256(&with(base.clone(), "role", json!("service_role")), SECRET),
            |e| *e == TokenError::WrongRole,
        ),
        (
            "other secret",
            hs256(&base, "another-secret-of-sufficient-length-0123456789"),
            |e| *e == TokenError::BadSignature,
        ),
        ("alg none", unsigned, |e| {
            matches!(e, TokenError::AlgorithmNotAllowed(_))
        }),
        ("empty", String::new(), |e| *e == TokenError::Missing),
        ("truncated", hs256(&base, SECRET)[..40].to_owned(), |e| {
            *e == TokenError::Malformed
        }),
        ("huge", format!("{}.e30.sig", "A".repeat(100 * 1024)), |e| {
            *e == TokenError::TooLarge
        }),
    ];
    for (name, token, expected) in cases {
        let error = verifier.verify(&token).await.expect_err(name);
        assert!(expected(&error), "{name}: got {error:?}");
    }
}

#[tokio::test]
async fn asymmetric_tokens_are_refused_without_a_jwks() {
    let (key, _) = ed25519_key(7);
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("k1".into());
    let token = jsonwebtoken::encode(&header, &supabase_claims(), &key).expect("signable");
    let error = hs_verifier()
        .verify(&token)
        .await
        .expect_err("no JWKS configured");
    assert!(
        matches!(error, TokenError::AlgorithmNotAllowed(_)),
        "{error:?}"
    );
}

#[test]
fn configuration_without_any_key_source_is_refused() {
    let error = SupabaseConfig::from_values(None, None, None).expect_err("nothing configured");
    assert!(error.to_string().contains("SUPABASE_URL"));
}

/// A deterministic Ed25519 key from a seed (PKCS#8 v1 DER) and its public JWK.
fn ed25519_key(seed: u8) -> (EncodingKey, Jwk) {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&[seed; 32]);
    let key = EncodingKey::from_ed_der(&der);
    let jwk = Jwk::from_encoding_key(&key, Algorithm::EdDSA).expect("public key");
    (key, jwk)
}

fn access_claims(exp_in: i64) -> AccessClaims {
    AccessClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: "user-1".into(),
        sid: "session-1".into(),
        iat: now(),
        exp: now() + exp_in,
        jti: "j1".into(),
        name: None,
    }
}

fn sign(key: &EncodingKey, kid: &str, claims: &AccessClaims) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, key).expect("signable")
}

async fn serve_jwks(
    keys: Vec<(String, Jwk)>,
) -> (
    String,
    tokio::sync::watch::Sender<Vec<(String, Jwk)>>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (tx, rx) = tokio::sync::watch::channel(keys);
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let rx = rx.clone();
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let keys = rx.borrow().clone();
                let set = JwkSet {
                    keys: keys
                        .into_iter()
                        .map(|(kid, mut jwk)| {
                            jwk.common.key_id = Some(kid);
                            jwk
                        })
                        .collect(),
                };
                axum::Json(set)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("http://{addr}/jwks.json"), tx, hits)
}

#[tokio::test]
async fn access_tokens_verify_through_jwks_and_refetch_on_new_kid() {
    let (key1, jwk1) = ed25519_key(1);
    let (key2, jwk2) = ed25519_key(2);
    let (url, keys, hits) = serve_jwks(vec![("k1".into(), jwk1.clone())]).await;
    let cache =
        JwksCache::with_intervals(url, Duration::from_millis(200), Duration::from_secs(600))
            .expect("cache");
    let verifier = AccessTokenVerifier::from_jwks(cache);

    let claims = verifier
        .verify(&sign(&key1, "k1", &access_claims(60)))
        .await
        .expect("valid");
    assert_eq!(claims.sid, "session-1");
    verifier
        .verify(&sign(&key1, "k1", &access_claims(60)))
        .await
        .expect("cached");
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "second lookup is cached"
    );

    // A rotated key appears in the set: an unknown kid triggers one refetch.
    keys.send_replace(vec![("k1".into(), jwk1), ("k2".into(), jwk2)]);
    tokio::time::sleep(Duration::from_millis(250)).await;
    verifier
        .verify(&sign(&key2, "k2", &access_claims(60)))
        .await
        .expect("new key found");

    // Made-up kids cannot make the cache hammer the key server.
    let before = hits.load(std::sync::atomic::Ordering::SeqCst);
    for _ in 0..20 {
        let error = verifier
            .verify(&sign(&key2, "nope", &access_claims(60)))
            .await
            .expect_err("unknown");
        assert_eq!(error, TokenError::UnknownKey);
    }
    assert!(hits.load(std::sync::atomic::Ordering::SeqCst) <= before + 1);
}

#[tokio::test]
async fn access_tokens_with_wrong_key_or_claims_are_refused() {
    let (key1, jwk1) = ed25519_key(1);
    let (other, _) = ed25519_key(9);
    let verifier = AccessTokenVerifier::from_keys([(
        "k1".to_owned(),
        nexus_tokens::VerificationKey::from_jwk(&jwk1).expect("usable"),
    )]);
    let forged = sign(&other, "k1", &access_claims(60));
    assert_eq!(
        verifier.verify(&forged).await,
        Err(TokenError::BadSignature)
    );
    let expired = sign(&key1, "k1", &access_claims(-60));
    assert_eq!(verifier.verify(&expired).await, Err(TokenError::Expired));
    let mut foreign = access_claims(60);
    foreign.aud = "authenticated".into();
    assert_eq!(
        verifier.verify(&sign(&key1, "k1", &foreign)).await,
        Err(TokenError::WrongAudience)
    );
    // An HS256 token "signed" with the public key bytes must not pass.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    let confused = jsonwebtoken::encode(
        &header,
        &access_claims(60),
        &EncodingKey::from_secret(b"public"),
    )
    .expect("signable");
    assert!(matches!(
        verifier.verify(&confused).await,
        Err(TokenError::AlgorithmNotAllowed(_))
    ));
}

#[tokio::test]
async fn unreachable_jwks_is_unavailable_not_unauthorized() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
    drop(listener);
    let verifier = AccessTokenVerifier::from_jwks(JwksCache::new(url).expect("cache"));
    let (key, _) = ed25519_key(1);
    let error = verifier
        .verify(&sign(&key, "k1", &access_claims(60)))
        .await
        .expect_err("no keys");
    assert!(error.is_unavailable(), "{error:?}");
}

fn base64_url(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A JWKS endpoint that answers after `delay_ms` (changeable while it runs)
/// with `document`; counts requests.
async fn serve_slow_document(
    document: String,
    delay_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let counter = counter.clone();
            let delay_ms = delay_ms.clone();
            let document = document.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let delay = delay_ms.load(Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(delay)).await;
                ([("content-type", "application/json")], document)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("http://{addr}/jwks.json"), hits)
}

fn key_set(kid: &str, mut jwk: Jwk) -> Value {
    jwk.common.key_id = Some(kid.into());
    serde_json::to_value(JwkSet { keys: vec![jwk] }).expect("jwks json")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_key_server_never_stalls_verification_once_keys_are_cached() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let (key, jwk) = ed25519_key(1);
    let delay = Arc::new(AtomicU64::new(0));
    let (url, hits) = serve_slow_document(key_set("k1", jwk).to_string(), delay.clone()).await;
    let cache =
        JwksCache::with_intervals(url, Duration::from_millis(50), Duration::from_millis(100))
            .expect("cache");
    let verifier = AccessTokenVerifier::from_jwks(cache);
    let token = sign(&key, "k1", &access_claims(60));
    verifier.verify(&token).await.expect("first fetch");

    // The key server turns slow and the cached set goes stale.
    delay.store(4_000, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    for _ in 0..10 {
        let started = std::time::Instant::now();
        verifier
            .verify(&token)
            .await
            .expect("stale key still verifies");
        assert!(
            started.elapsed() < Duration::from_millis(1_000),
            "verification waited {:?} for the key server",
            started.elapsed()
        );
    }
    // One background refresh is in flight, not one per verification.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_oversized_key_set_is_refused() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;
    let (key, jwk) = ed25519_key(1);
    let mut document = key_set("k1", jwk);
    document["padding"] = json!("x".repeat(2 * 1024 * 1024));
    let (url, _) = serve_slow_document(document.to_string(), Arc::new(AtomicU64::new(0))).await;
    let verifier = AccessTokenVerifier::from_jwks(JwksCache::new(url).expect("cache"));
    assert_eq!(
        verifier
            .verify(&sign(&key, "k1", &access_claims(60)))
            .await
            .err(),
        Some(TokenError::KeysUnavailable)
    );
}
