//! Who is acting, as the HTTP layer finds out: which credential a request
//! presents and the Origin rule that goes with it; the checks themselves are
//! the use cases' (`app::caller`, `app::refresh::live_caller`).
//!
//! [`LiveCaller`] is an actix extractor: the access token from
//! `Authorization: Bearer` or the access cookie, the Origin rule for cookie
//! credentials applied on a write *before* authenticating, then
//! `app::caller::by_access_token` (signature checked, session confirmed active
//! by session-store). A new route only needs a `caller: LiveCaller` argument.

use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;

use crate::app::caller::{self, Caller};
use crate::http::auth;
use crate::http::context::HttpContext;
use crate::http::error::ApiError;
use crate::http::origin::{Credential, is_write};
use crate::state::AppState;

/// A caller whose credential verified and whose session is active.
#[derive(Debug, Clone)]
pub struct LiveCaller {
    pub caller: Caller,
    pub credential: Credential,
}

impl FromRequest for LiveCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let state = request
                .app_data::<Data<AppState>>()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("AppState is not registered"))?;
            let http = request
                .app_data::<Data<HttpContext>>()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("HttpContext is not registered"))?;
            live_by_access_token(&request, &state, &http).await
        })
    }
}

/// The caller by access token, with its session confirmed live.
pub async fn live_by_access_token(
    request: &HttpRequest,
    state: &AppState,
    http: &HttpContext,
) -> Result<LiveCaller, ApiError> {
    let (token, credential) = auth::presented_access_token(request)
        .ok_or(ApiError::NotAuthenticated("no access token was presented"))?;
    if is_write(request.method()) {
        http.origins.check(request, credential)?;
    }
    let caller = caller::by_access_token(state, &token).await?;
    Ok(LiveCaller { caller, credential })
}
