//! The fake Supabase: the project's legacy HS256 secret, an EC (ES256) and
//! an RSA (RS256) signing key with their JWKS, and the claims of a valid
//! Supabase access token. Supabase is a third-party service, so this is the
//! one stand-in the tests use; every verifier under test is the real one.

use std::sync::OnceLock;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::jwks::JwksServer;

/// The project's legacy JWT secret (`SUPABASE_JWT_SECRET`).
pub const SUPABASE_SECRET: &str = "test-supabase-jwt-secret-with-enough-length-0123";
/// `SUPABASE_URL`.
pub const SUPABASE_URL: &str = "https://testref.supabase.co";
/// The `iss` of the project's tokens (`SUPABASE_URL` + `/auth/v1`).
pub const ISSUER: &str = "https://testref.supabase.co/auth/v1";
/// Key ids of the asymmetric keys in the JWKS.
pub const EC_KID: &str = "supabase-ec-1";
pub const RSA_KID: &str = "supabase-rsa-1";
/// Where the JWKS is served (Supabase's own path).
const JWKS_PATH: &str = "/auth/v1/.well-known/jwks.json";

/// EC key the fake Supabase signs with; generated once per test process.
pub struct EcKey {
    pub key: EncodingKey,
    pub jwk: Jwk,
}

/// RSA key, generated only by the tests that need one (2048-bit generation
/// takes seconds in a debug build).
pub struct RsaKey {
    pub key: EncodingKey,
    pub public_pem: String,
    pub jwk: Jwk,
}

pub fn ec_key() -> &'static EcKey {
    static KEY: OnceLock<EcKey> = OnceLock::new();
    KEY.get_or_init(|| {
        use p256::pkcs8::EncodePrivateKey;
        let secret = p256::SecretKey::random(&mut rand_core06::OsRng);
        let key = EncodingKey::from_ec_der(secret.to_pkcs8_der().expect("pkcs8").as_bytes());
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).expect("ec jwk");
        jwk.common.key_id = Some(EC_KID.to_owned());
        EcKey { key, jwk }
    })
}

pub fn rsa_key() -> &'static RsaKey {
    static KEY: OnceLock<RsaKey> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        let private = rsa::RsaPrivateKey::new(&mut rand_core06::OsRng, 2048).expect("rsa key");
        let key = EncodingKey::from_rsa_der(private.to_pkcs1_der().expect("pkcs1").as_bytes());
        let public_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem");
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("rsa jwk");
        jwk.common.key_id = Some(RSA_KID.to_owned());
        RsaKey {
            key,
            public_pem,
            jwk,
        }
    })
}

/// The project's JWKS with the EC key only.
pub async fn serve_jwks() -> JwksServer {
    JwksServer::serve(
        &JwkSet {
            keys: vec![ec_key().jwk.clone()],
        },
        JWKS_PATH,
    )
    .await
}

/// The project's JWKS with the EC and the RSA key.
pub async fn serve_jwks_with_rsa() -> JwksServer {
    JwksServer::serve(
        &JwkSet {
            keys: vec![ec_key().jwk.clone(), rsa_key().jwk.clone()],
        },
        JWKS_PATH,
    )
    .await
}

/// Claims of a valid Supabase access token for a new user and session.
pub fn claims() -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": ISSUER,
        "sub": uuid::Uuid::new_v4().to_string(),
        "aud": "authenticated",
        "exp": now + 3600,
        "iat": now,
        "email": "ada@example.com",
        "phone": "",
        "app_metadata": {"provider": "email"},
        "user_metadata": {"full_name": "Ada Lovelace"},
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": uuid::Uuid::new_v4().to_string(),
        "is_anonymous": false,
    })
}

/// Claims for a given user and Supabase session.
pub fn claims_for(user_id: &str, supabase_session: &str) -> Value {
    let mut claims = claims();
    claims["sub"] = json!(user_id);
    claims["session_id"] = json!(supabase_session);
    claims
}

/// Signs with an HS256 secret (the project's, or a wrong one).
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("sign")
}

/// A token signed with the project's secret: what a Supabase login hands out.
pub fn token(claims: &Value) -> String {
    sign_hs256(claims, SUPABASE_SECRET.as_bytes())
}

pub fn sign_es256(claims: &Value, kid: &str) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &ec_key().key).expect("sign")
}

pub fn sign_rs256(claims: &Value, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &rsa_key().key).expect("sign")
}
