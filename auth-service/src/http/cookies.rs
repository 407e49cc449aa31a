//! The two httpOnly cookies.
//!
//! Access token: `Path=/`, `SameSite=Lax`, lives as long as the token, so the
//! realtime handshake and page loads carry it. Refresh token: `Path=/api/auth`,
//! `SameSite=Strict`, so it is only ever sent to this service and never on a
//! cross-site request. `Secure` unless `COOKIE_SECURE=false` (plain-HTTP
//! development only).
//!
//! With `COOKIE_SECURE=true` the names carry the browser-enforced prefixes
//! (`__Host-nexus_access_token`, `__Secure-nexus_refresh_token`), so a sibling
//! subdomain cannot plant a cookie the service would read as its own. Both
//! names are read on input (`nexus_tokens::access::*_COOKIE_NAMES`) and both
//! are cleared on logout, so switching `COOKIE_SECURE` logs nobody out and
//! leaves no stale token behind.

use std::time::Duration;

use actix_web::HttpResponseBuilder;
use actix_web::cookie::{Cookie, SameSite};
use nexus_tokens::access::{
    ACCESS_COOKIE, ACCESS_COOKIE_SECURE, REFRESH_COOKIE, REFRESH_COOKIE_SECURE,
};

/// Refresh cookies outlive access tokens; the session's own lifetime
/// (enforced by session-store) is what really ends them.
const REFRESH_COOKIE_MAX_AGE: Duration = Duration::from_secs(30 * 86_400);

#[derive(Debug, Clone, Copy)]
pub struct CookieSettings {
    pub secure: bool,
}

impl CookieSettings {
    fn base(
        self,
        name: &'static str,
        value: String,
        path: &'static str,
        same_site: SameSite,
    ) -> Cookie<'static> {
        Cookie::build(name, value)
            .path(path)
            .http_only(true)
            .secure(self.secure)
            .same_site(same_site)
            .finish()
    }

    fn access_name(self) -> &'static str {
        if self.secure {
            ACCESS_COOKIE_SECURE
        } else {
            ACCESS_COOKIE
        }
    }

    fn refresh_name(self) -> &'static str {
        if self.secure {
            REFRESH_COOKIE_SECURE
        } else {
            REFRESH_COOKIE
        }
    }

    fn access(self, value: String) -> Cookie<'static> {
        self.base(self.access_name(), value, "/", SameSite::Lax)
    }

    fn refresh(self, value: String) -> Cookie<'static> {
        self.base(self.refresh_name(), value, "/api/auth", SameSite::Strict)
    }

    /// Sets both cookies.
    pub fn set(
        self,
        response: &mut HttpResponseBuilder,
        access: &str,
        access_ttl: Duration,
        refresh: &str,
    ) {
        let mut access = self.access(access.to_owned());
        access.set_max_age(cookie_duration(access_ttl));
        let mut refresh = self.refresh(refresh.to_owned());
        refresh.set_max_age(cookie_duration(REFRESH_COOKIE_MAX_AGE));
        response.cookie(access).cookie(refresh);
    }

    /// Expires both cookies (same name, path and attributes, empty value),
    /// under the prefixed and, with `COOKIE_SECURE=true`, the bare names too.
    pub fn clear_on(self, response: &mut actix_web::HttpResponse) {
        let mut cookies = vec![self.access(String::new()), self.refresh(String::new())];
        if self.secure {
            cookies.push(self.base(ACCESS_COOKIE, String::new(), "/", SameSite::Lax));
            cookies.push(self.base(REFRESH_COOKIE, String::new(), "/api/auth", SameSite::Strict));
        }
        for mut cookie in cookies {
            cookie.make_removal();
            if let Err(error) = response.add_cookie(&cookie) {
                tracing::error!(%error, "cannot clear a cookie");
            }
        }
    }
}

fn cookie_duration(duration: Duration) -> actix_web::cookie::time::Duration {
    actix_web::cookie::time::Duration::seconds(
        i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
    )
}
