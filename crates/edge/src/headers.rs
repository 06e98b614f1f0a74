//! The headers every response carries, whatever produced it (handler, 404, error), plus the
//! per-request log line and metrics, and the plain-HTTP redirect.
//!
//! The policy is strict by default: no inline script or style, no framing, no referrer, camera,
//! microphone and screen capture for this origin only, and cross-origin isolation so the web
//! client can use `SharedArrayBuffer` and high-resolution timers for media work.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::AppState;

/// The Content-Security-Policy of every response. `trusted-types trygg` allows the client's one
/// named policy, which only turns the SFrame worker's own URL into a script URL
/// (`web/src/trusted-types.ts`).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
    media-src 'self' blob:; worker-src 'self' blob:; manifest-src 'self'; form-action 'self'; \
    base-uri 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; \
    trusted-types trygg";

/// Camera, microphone and screen capture for this origin only; everything else a meeting does
/// not need is switched off.
pub const PERMISSIONS_POLICY: &str = "camera=(self), microphone=(self), display-capture=(self), \
    geolocation=(), payment=(), usb=(), serial=(), hid=(), midi=(), \
    accelerometer=(), gyroscope=(), magnetometer=()";

/// Precomputed header values.
#[derive(Debug)]
pub struct SecurityHeaders {
    values: Vec<(HeaderName, HeaderValue)>,
}

impl SecurityHeaders {
    pub fn new(hsts_max_age_secs: u64) -> SecurityHeaders {
        let hsts = format!("max-age={hsts_max_age_secs}; includeSubDomains");
        let pairs: [(HeaderName, String); 10] = [
            (header::STRICT_TRANSPORT_SECURITY, hsts),
            (
                header::CONTENT_SECURITY_POLICY,
                CONTENT_SECURITY_POLICY.into(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            (header::REFERRER_POLICY, "no-referrer".into()),
            (
                HeaderName::from_static("permissions-policy"),
                PERMISSIONS_POLICY.into(),
            ),
            (
                HeaderName::from_static("cross-origin-opener-policy"),
                "same-origin".into(),
            ),
            (
                HeaderName::from_static("cross-origin-embedder-policy"),
                "require-corp".into(),
            ),
            (
                HeaderName::from_static("cross-origin-resource-policy"),
                "same-origin".into(),
            ),
            (header::X_FRAME_OPTIONS, "DENY".into()),
            (
                HeaderName::from_static("x-permitted-cross-domain-policies"),
                "none".into(),
            ),
        ];
        let values = pairs
            .into_iter()
            .map(|(name, value)| {
                // Invariant: every value above is plain ASCII without control characters.
                let value = HeaderValue::from_str(&value).expect("static header values are valid");
                (name, value)
            })
            .collect();
        SecurityHeaders { values }
    }
}

/// Middleware: sets the security headers, counts the request and logs one line without any
/// request content.
pub async fn apply(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // The route template (`/api/v1/meetings/{id}`), never the concrete path or query, which may
    // carry identifiers or tokens.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |path| path.as_str().to_owned());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in &state.headers.values {
        headers.insert(name.clone(), value.clone());
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let status = response.status();
    let elapsed = started.elapsed();
    state.metrics.observe_request(status, elapsed);
    tracing::info!(
        target: "trygg::http",
        %method,
        route,
        status = status.as_u16(),
        micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

/// The router of the plain-HTTP listener: every request is answered with a permanent redirect
/// to HTTPS and nothing else.
pub fn redirect_router(public_url: Option<String>, https_port: u16) -> Router {
    Router::new().fallback(move |request: Request| {
        let public_url = public_url.clone();
        async move { redirect(public_url.as_deref(), https_port, &request) }
    })
}

fn redirect(public_url: Option<&str>, https_port: u16, request: &Request) -> Response {
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", |value| value.as_str());
    let base = match public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let Some(host) = request_host(request) else {
                return (
                    StatusCode::BAD_REQUEST,
                    "Use https:// to reach this server.\n",
                )
                    .into_response();
            };
            if https_port == 443 {
                format!("https://{host}")
            } else {
                format!("https://{host}:{https_port}")
            }
        }
    };
    let location = format!("{base}{path_and_query}");
    match HeaderValue::from_str(&location) {
        Ok(value) if location.parse::<Uri>().is_ok() => {
            (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, value)]).into_response()
        }
        _ => (
            StatusCode::BAD_REQUEST,
            "Use https:// to reach this server.\n",
        )
            .into_response(),
    }
}

/// The host name of the request without its port, accepted only if it is a plain host name or
/// address (so a crafted `Host` header cannot turn the redirect into something else).
fn request_host(request: &Request) -> Option<String> {
    let raw = request.headers().get(header::HOST)?.to_str().ok()?;
    let authority: axum::http::uri::Authority = raw.parse().ok()?;
    let host = authority.host();
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    valid.then(|| host.to_owned())
}
