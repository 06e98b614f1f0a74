//! The HTTP side of single sign-on with OpenID Connect: staff through the organisation's
//! identity provider, customers through an e-ID broker. Both are browser redirects:
//!
//! 1. `GET /api/v1/sso/{staff|customer}/start` answers 303 to the provider's authorisation
//!    endpoint and sets `__Host-trygg-sso`, a random value that binds the sign-in under way to
//!    this browser (the state, nonce and PKCE verifier stay on the server). A customer may name
//!    where to come back to with `?return_to=/m/<meeting id>` (a meeting's join page, where the
//!    e-ID is the identity proof); no other path is accepted, so this is no open redirect.
//! 2. The provider sends the browser back to `GET /api/v1/sso/{kind}/callback?code&state`; the
//!    cookie is presented, cleared, and [`SsoApi::callback`] decides. Success sets the session
//!    cookie and answers 303 to the web client; failure answers 303 to the sign-in page with a
//!    stable error code (`/sign-in?sso_error=mfa_required`, or the join page it came from),
//!    which the client shows in words.
//!
//! The binding cookie is `SameSite=Lax`, not `Strict` like the session cookie: the callback is a
//! top-level navigation from the provider's site, on which a browser sends no `Strict` cookie.
//! Lax still withholds it from cross-site subrequests and POSTs, and it lives ten minutes.
//!
//! This module never logs a query string, code, state, token or claim; what the provider said is
//! judged behind [`SsoApi`].

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::extract::{Caller, SignedIn};
use crate::identity::{cookie, ApiError, NewSession, RequestContext, SESSION_COOKIE};
use crate::{AppState, BoxFuture};

/// The cookie binding a sign-in under way to the browser that started it.
pub const SSO_COOKIE: &str = "__Host-trygg-sso";
const SSO_COOKIE_MAX_AGE_SECS: u64 = 10 * 60;
const SESSION_COOKIE_MAX_AGE_SECS: u64 = 12 * 60 * 60;

/// Which identity provider a request is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// The organisation's identity provider, for staff.
    Staff,
    /// An e-ID broker, for customers.
    Customer,
}

impl ProviderKind {
    /// Parses the path segment; anything else is no provider.
    pub fn parse(text: &str) -> Option<ProviderKind> {
        match text {
            "staff" => Some(ProviderKind::Staff),
            "customer" => Some(ProviderKind::Customer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Staff => "staff",
            ProviderKind::Customer => "customer",
        }
    }
}

/// Which identity providers are configured, for the sign-in page.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct SsoAvailability {
    pub staff: bool,
    pub customer: bool,
}

/// Where to send the browser to sign in, and the value of the binding cookie.
#[derive(Debug)]
pub struct SsoStart {
    pub authorization_url: String,
    pub binding: String,
}

/// What the provider sent back. Every field is optional: the callback is reachable by anyone.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 9207: the issuer of the response, checked against the configured one when present.
    pub iss: Option<String>,
    /// The provider's error code when the person cancelled or the provider refused.
    pub error: Option<String>,
}

/// A finished sign-in: the session, and where the web client should land.
#[derive(Debug)]
pub struct SsoSignedIn {
    pub session: NewSession,
    /// A path of the web client, such as `/` or a [`ReturnPath`].
    pub landing_path: String,
}

/// A refused sign-in: a stable code for the sign-in page to explain (`mfa_required`,
/// `no_account`, `no_role`, `state`, `cancelled`, `failed`, ...), and the page that started it
/// if it was not the sign-in page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoRefusal {
    pub code: &'static str,
    pub return_to: Option<ReturnPath>,
}

/// Where a customer's sign-in returns to: a meeting's join page, `/m/` and 32 lower-case hex
/// digits. Nothing else parses, so `return_to` cannot send anyone elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnPath(String);

impl ReturnPath {
    pub fn parse(text: &str) -> Option<ReturnPath> {
        let id = text.strip_prefix("/m/")?;
        let valid = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| ReturnPath(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The query of `/api/v1/sso/{kind}/start`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct StartParams {
    pub return_to: Option<String>,
}

/// A customer's identity as verified by their e-ID, as they (and later a host) see it: the
/// personal identity number masked.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VerifiedIdentityView {
    pub name: String,
    /// For example `19850312-****`.
    pub personal_number_masked: String,
    pub verified_at_ms: i64,
}

type ApiResult<T> = Result<T, ApiError>;

/// Single sign-on behind the API.
pub trait SsoApi: Send + Sync {
    fn availability(&self) -> SsoAvailability;
    /// Prepares a sign-in at the provider of `kind`. `origin` is `https://host[:port]` of the
    /// request, used for the redirect URI when no public URL is configured; `return_to` is where
    /// a customer lands afterwards (never given for staff).
    fn start<'a>(
        &'a self,
        kind: ProviderKind,
        origin: &'a str,
        return_to: Option<ReturnPath>,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<SsoStart>>;
    /// Judges what the provider sent back; `binding` is the cookie the browser presented.
    fn callback<'a>(
        &'a self,
        kind: ProviderKind,
        params: CallbackParams,
        binding: Option<&'a str>,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<SsoSignedIn, SsoRefusal>>;
    /// The signed-in customer's own verified identity.
    fn customer_identity<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<VerifiedIdentityView>>;
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sso/{kind}/start", get(start))
        .route("/api/v1/sso/{kind}/callback", get(callback))
        .route("/api/v1/customer/identity", get(customer_identity))
}

fn provider(kind: &str) -> Result<ProviderKind, ApiError> {
    ProviderKind::parse(kind).ok_or_else(|| {
        ApiError::new(
            404,
            "not_found",
            "No such identity provider: use staff or customer.",
        )
    })
}

/// `https://` and the host the request was sent to (HTTP/2 `:authority` or `Host`).
pub(crate) fn request_origin(uri: &axum::http::Uri, headers: &HeaderMap) -> Option<String> {
    let host = uri
        .authority()
        .map(|authority| authority.as_str().to_owned())
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        })?;
    let plausible = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    plausible.then(|| format!("https://{host}"))
}

#[utoipa::path(get, path = "/api/v1/sso/{kind}/start",
    params(("kind" = String, Path, description = "`staff` or `customer`")),
    responses(
        (status = 303, description = "To the identity provider"),
        (status = 400, description = "`return_to` is not a meeting's join page, or given for staff"),
        (status = 404, description = "No such provider, or it is not configured"),
        (status = 503, description = "The provider cannot be reached"),
    ))]
async fn start(
    State(state): State<AppState>,
    Caller(context): Caller,
    Path(kind): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    params: Result<Query<StartParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let kind = provider(&kind)?;
    let origin = request_origin(&uri, &headers)
        .ok_or_else(|| ApiError::new(400, "bad_request", "The request names no valid host."))?;
    let bad_return = || {
        ApiError::new(
            400,
            "invalid_return_to",
            "return_to must be a meeting's link (/m/ and its id), and only for customers.",
        )
    };
    let Query(params) = params.map_err(|_| bad_return())?;
    let return_to = match params.return_to.as_deref() {
        None => None,
        Some(text) if kind == ProviderKind::Customer => {
            Some(ReturnPath::parse(text).ok_or_else(bad_return)?)
        }
        Some(_) => return Err(bad_return()),
    };
    let started = state
        .services
        .sso()
        .start(kind, &origin, return_to, &context)
        .await?;
    let location = HeaderValue::from_str(&started.authorization_url).map_err(|_| {
        ApiError::new(
            502,
            "sso_unavailable",
            "The identity provider's address is not usable.",
        )
    })?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (
                header::SET_COOKIE,
                binding_cookie(&started.binding, SSO_COOKIE_MAX_AGE_SECS),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/sso/{kind}/callback",
    params(("kind" = String, Path, description = "`staff` or `customer`")),
    responses(
        (status = 303, description = "Signed in (to the web client) or refused (to the sign-in page with `sso_error`)"),
    ))]
async fn callback(
    State(state): State<AppState>,
    Caller(context): Caller,
    Path(kind): Path<String>,
    headers: HeaderMap,
    params: Result<Query<CallbackParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let kind = provider(&kind)?;
    // A query that does not parse is judged like an empty one: refused, and audited.
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let binding = cookie(&headers, SSO_COOKIE);
    let outcome = state
        .services
        .sso()
        .callback(kind, params, binding, &context)
        .await;
    let mut response = match outcome {
        Ok(signed_in) => {
            let mut response = redirect(&signed_in.landing_path);
            response
                .headers_mut()
                .append(header::SET_COOKIE, session_cookie(&signed_in.session.token));
            response
        }
        Err(refusal) => {
            let page = refusal
                .return_to
                .as_ref()
                .map_or("/sign-in", ReturnPath::as_str);
            redirect(&format!("{page}?sso_error={}", refusal.code))
        }
    };
    // The binding is used up either way.
    response
        .headers_mut()
        .append(header::SET_COOKIE, binding_cookie("", 0));
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/customer/identity", responses(
    (status = 200, description = "The signed-in customer's verified identity, personal identity number masked", body = VerifiedIdentityView),
    (status = 401, description = "Not signed in"),
    (status = 404, description = "No verified identity (not a customer signed in with an e-ID)"),
))]
async fn customer_identity(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<VerifiedIdentityView>, ApiError> {
    Ok(Json(
        state
            .services
            .sso()
            .customer_identity(&signed_in.token, &signed_in.context)
            .await?,
    ))
}

fn redirect(path: &str) -> Response {
    // Invariant: paths are built here from constants, return paths and stable codes, all
    // visible ASCII.
    let location = HeaderValue::from_str(path).unwrap_or(HeaderValue::from_static("/sign-in"));
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

fn binding_cookie(value: &str, max_age_secs: u64) -> HeaderValue {
    let text = format!(
        "{SSO_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}"
    );
    // Invariant: the value is a base64url token or empty, so the header is visible ASCII.
    HeaderValue::from_str(&text).expect("cookie values are visible ASCII")
}

fn session_cookie(token: &str) -> HeaderValue {
    let text = format!(
        "{SESSION_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={SESSION_COOKIE_MAX_AGE_SECS}"
    );
    // Invariant: session tokens are base64url, so the header is visible ASCII.
    HeaderValue::from_str(&text).expect("cookie values are visible ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_and_origins_are_parsed_strictly() {
        assert_eq!(ProviderKind::parse("staff"), Some(ProviderKind::Staff));
        assert_eq!(
            ProviderKind::parse("customer"),
            Some(ProviderKind::Customer)
        );
        assert_eq!(ProviderKind::parse("Staff"), None);
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8443"));
        let uri: axum::http::Uri = "/api/v1/sso/staff/start".parse().unwrap();
        assert_eq!(
            request_origin(&uri, &headers).as_deref(),
            Some("https://127.0.0.1:8443")
        );
        headers.insert(header::HOST, HeaderValue::from_static("evil/x?y"));
        assert_eq!(request_origin(&uri, &headers), None);
    }

    #[test]
    fn a_customer_returns_only_to_a_meetings_join_page() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            ReturnPath::parse(&format!("/m/{id}")).unwrap().as_str(),
            format!("/m/{id}")
        );
        for bad in [
            "".to_owned(),
            "/".to_owned(),
            "/account".to_owned(),
            "https://evil.example/m/0123456789abcdef0123456789abcdef".to_owned(),
            "//evil.example/m/0123456789abcdef0123456789abcdef".to_owned(),
            format!("/m/{}", id.to_uppercase()),
            format!("/m/{id}0"),
            format!("/m/{id}/"),
            format!("/m/{id}?x=1"),
            "/m/0123456789abcdef0123456789abcde\u{e9}".to_owned(),
        ] {
            assert_eq!(ReturnPath::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn the_binding_cookie_survives_the_return_from_the_provider() {
        let value = binding_cookie("abc", 600);
        let text = value.to_str().unwrap();
        assert!(text.starts_with("__Host-trygg-sso=abc;"), "{text}");
        for part in [
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
            "Max-Age=600",
        ] {
            assert!(text.contains(part), "{text}");
        }
        assert!(!text.contains("Domain"));
    }
}
