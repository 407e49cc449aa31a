//! What only the HTTP layer needs, built once at start and shared next to the
//! use cases' `state::AppState`: how cookies are set, the
//! allowed Origins, which proxies' `X-Forwarded-For` to believe, the rate
//! limiters and the metrics handle. Kept out of `AppState` so the use cases
//! (and `state`) never depend on `http`.

use metrics_exporter_prometheus::PrometheusHandle;
use nexus_common::client_ip::TrustedProxies;

use crate::http::cookies::CookieSettings;
use crate::http::origin::AllowedOrigins;
use crate::http::rate_limit::Limiters;

#[derive(Debug)]
pub struct HttpContext {
    pub cookies: CookieSettings,
    pub origins: AllowedOrigins,
    pub proxies: TrustedProxies,
    pub limiters: Limiters,
    pub metrics: Option<PrometheusHandle>,
}
