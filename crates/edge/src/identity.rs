//! The HTTP side of sign-in, enrolment and sessions: JSON bodies, the `__Host-` cookies, CSRF
//! and cross-site checks. What a credential is worth is decided behind [`IdentityApi`]; this
//! module only carries requests to it and answers back, and never logs a body or a cookie.
//!
//! Cross-site requests are refused for every state-changing method: a browser request whose
//! `Sec-Fetch-Site` says it comes from another site, or whose `Origin` is not this host, gets
//! 403 before any handler runs. Requests made while signed in must also carry the session's
//! CSRF token in `X-CSRF-Token`.

use std::net::IpAddr;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};

use crate::extract::{Caller, JsonBody, SignedIn};
use crate::{AppState, BoxFuture};

/// The session cookie: HttpOnly, Secure, SameSite=Strict, host-only (`__Host-`).
pub const SESSION_COOKIE: &str = "__Host-trygg-session";
/// The cookie of a sign-in that has passed the password and waits for the second factor.
pub const PENDING_COOKIE: &str = "__Host-trygg-pending";
/// Lifetime of the session cookie in the browser; the server's own timeouts decide earlier.
const SESSION_COOKIE_MAX_AGE_SECS: u64 = 12 * 60 * 60;
const PENDING_COOKIE_MAX_AGE_SECS: u64 = 5 * 60;

/// Facts about a request that identity decisions use (throttling, the device list). Never logged.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub source: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// An error answer: HTTP status, a stable code for programs, a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Extra fields for the body, e.g. `("retry_after_secs", "60")`; numbers stay numbers.
    pub extra: Vec<(&'static str, serde_json::Value)>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: Vec::new(),
        }
    }

    pub fn with(mut self, key: &'static str, value: impl Into<serde_json::Value>) -> ApiError {
        self.extra.push((key, value.into()));
        self
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(401, "unauthenticated", "Sign in to continue.")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::Map::new();
        body.insert("code".into(), self.code.into());
        body.insert("message".into(), self.message.into());
        for (key, value) in self.extra {
            body.insert(key.into(), value);
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(serde_json::Value::Object(body))).into_response()
    }
}

/// Who is signed in, as the client sees it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Current {
    pub account: AccountView,
    pub session: SessionView,
    /// To be sent back as `X-CSRF-Token` on every state-changing request.
    pub csrf_token: String,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: String,
    pub kind: String,
    pub display_name: String,
    pub email: String,
    pub roles: Vec<String>,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: String,
    pub auth_method: String,
    pub created_at_ms: i64,
    pub mfa_at_ms: Option<i64>,
}

/// One of the signed-in person's sessions.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionListItem {
    pub id: String,
    pub device: String,
    pub auth_method: String,
    pub created_at_ms: i64,
    pub last_seen_ms: i64,
    pub current: bool,
}

/// A new session: the token for the cookie (never put in a body) and what the client sees.
#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    pub current: Current,
}

/// The second factor offered after the password.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct MfaRequest {
    pub totp_code: Option<String>,
    pub recovery_code: Option<String>,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct PasswordRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct EnrolmentStartRequest {
    pub token: String,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct EnrolmentFinishRequest {
    pub token: String,
    pub password: String,
    pub totp_code: String,
}

/// A password change: both factors again, and the new password.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct PasswordChangeRequest {
    pub current_password: String,
    pub new_password: String,
    pub totp_code: String,
}

/// What an enrolling person needs to set up their authenticator.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EnrolmentStart {
    pub email: String,
    pub display_name: String,
    pub min_password_length: usize,
    pub totp: TotpSetup,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TotpSetup {
    pub secret: String,
    pub uri: String,
    pub qr_data_url: String,
}

/// A finished enrolment: the recovery codes (shown once) and the new session.
#[derive(Debug)]
pub struct EnrolmentDone {
    pub recovery_codes: Vec<String>,
    pub session: NewSession,
}

type ApiResult<T> = Result<T, ApiError>;

/// The identity operations behind the API.
pub trait IdentityApi: Send + Sync {
    /// Whether `presented` is the CSRF token of the session `session_token` names. No IO: the
    /// token is derived from the session token itself.
    fn csrf_valid(&self, session_token: &str, presented: &str) -> bool;
    fn current<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<Current>>;
    /// Checks e-mail and password; returns the token of the pending second step.
    fn password_step<'a>(
        &'a self,
        request: PasswordRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<String>>;
    fn mfa_step<'a>(
        &'a self,
        pending_token: &'a str,
        request: MfaRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<NewSession>>;
    fn sign_out<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<()>>;
    fn sessions<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<Vec<SessionListItem>>>;
    fn revoke_session<'a>(
        &'a self,
        session_token: &'a str,
        session_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<()>>;
    /// Confirms the second factor again on the current session (step-up), for actions that
    /// need a recent one.
    fn step_up<'a>(
        &'a self,
        session_token: &'a str,
        request: MfaRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<Current>>;
    /// Changes the password; every session of the account ends and a new one replaces the
    /// current one.
    fn change_password<'a>(
        &'a self,
        session_token: &'a str,
        request: PasswordChangeRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<NewSession>>;
    fn enrolment_start<'a>(
        &'a self,
        request: EnrolmentStartRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<EnrolmentStart>>;
    fn enrolment_finish<'a>(
        &'a self,
        request: EnrolmentFinishRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<EnrolmentDone>>;
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/session", get(current).delete(sign_out))
        .route("/api/v1/session/password", post(password_step))
        .route("/api/v1/session/mfa", post(mfa_step))
        .route("/api/v1/sessions", get(sessions))
        .route("/api/v1/sessions/{id}", delete(revoke_session))
        .route("/api/v1/enrolment/start", post(enrolment_start))
        .route("/api/v1/enrolment/finish", post(enrolment_finish))
        .route("/api/v1/account/password", post(change_password))
        .route("/api/v1/session/step-up", post(step_up))
}

/// Middleware: refuses state-changing requests that a browser says come from another site.
pub async fn refuse_cross_site(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method();
    let changes_state = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    // HTTP/2 carries the host in the `:authority` pseudo-header, which hyper puts in the URI.
    let host = request
        .uri()
        .authority()
        .map(|authority| authority.as_str().to_owned())
        .or_else(|| {
            request
                .headers()
                .get(header::HOST)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        });
    if changes_state && is_cross_site(request.headers(), host.as_deref()) {
        return ApiError::new(
            403,
            "cross_site_refused",
            "This request came from another site and was refused.",
        )
        .into_response();
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap, host: Option<&str>) -> bool {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        if !matches!(site, "same-origin" | "none") {
            return true;
        }
    }
    if let Some(origin) = text("origin") {
        let origin_host = origin.strip_prefix("https://").unwrap_or("\u{0}");
        if Some(origin_host) != host {
            return true;
        }
    }
    false
}

/// The value of cookie `name`, if the request carries it.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

pub(crate) fn set_cookie(name: &str, value: &str, max_age_secs: u64) -> HeaderValue {
    let text = format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}"
    );
    // Invariant: names are constants and values are base64url tokens, all visible ASCII.
    HeaderValue::from_str(&text).expect("cookie values are visible ASCII")
}

pub(crate) fn clear_cookie(name: &str) -> HeaderValue {
    set_cookie(name, "", 0)
}

#[utoipa::path(get, path = "/api/v1/session", responses(
    (status = 200, description = "The signed-in account and session", body = Current),
    (status = 401, description = "Not signed in"),
))]
async fn current(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<Current>, ApiError> {
    let current = state
        .services
        .identity()
        .current(&signed_in.token, &signed_in.context)
        .await?;
    Ok(Json(current))
}

#[utoipa::path(post, path = "/api/v1/session/password", request_body = PasswordRequest, responses(
    (status = 200, description = "Password accepted; the second factor is next"),
    (status = 401, description = "Wrong e-mail address or password (the same answer for both)"),
    (status = 429, description = "Too many attempts"),
))]
async fn password_step(
    State(state): State<AppState>,
    Caller(context): Caller,
    JsonBody(request): JsonBody<PasswordRequest>,
) -> Result<Response, ApiError> {
    let pending = state
        .services
        .identity()
        .password_step(request, &context)
        .await?;
    let cookie = set_cookie(PENDING_COOKIE, &pending, PENDING_COOKIE_MAX_AGE_SECS);
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(serde_json::json!({ "next": "mfa" })),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/session/mfa", request_body = MfaRequest, responses(
    (status = 200, description = "Signed in", body = Current),
    (status = 401, description = "Wrong or reused code, or the sign-in took too long"),
    (status = 429, description = "Too many attempts"),
))]
async fn mfa_step(
    State(state): State<AppState>,
    Caller(context): Caller,
    headers: HeaderMap,
    JsonBody(request): JsonBody<MfaRequest>,
) -> Result<Response, ApiError> {
    let pending = cookie(&headers, PENDING_COOKIE).ok_or_else(|| {
        ApiError::new(
            401,
            "mfa_expired",
            "Your sign-in took too long. Start again.",
        )
    })?;
    let session = state
        .services
        .identity()
        .mfa_step(pending, request, &context)
        .await?;
    Ok(signed_in_response(session, |current| {
        serde_json::to_value(current)
    }))
}

#[utoipa::path(delete, path = "/api/v1/session", responses(
    (status = 204, description = "Signed out"),
    (status = 401, description = "Not signed in"),
    (status = 403, description = "Missing CSRF token"),
))]
async fn sign_out(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Response, ApiError> {
    state
        .services
        .identity()
        .sign_out(&signed_in.token, &signed_in.context)
        .await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, clear_cookie(SESSION_COOKIE))],
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/sessions", responses(
    (status = 200, description = "The signed-in person's live sessions"),
    (status = 401, description = "Not signed in"),
))]
async fn sessions(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Response, ApiError> {
    let list = state
        .services
        .identity()
        .sessions(&signed_in.token, &signed_in.context)
        .await?;
    Ok(Json(serde_json::json!({ "sessions": list })).into_response())
}

#[utoipa::path(delete, path = "/api/v1/sessions/{id}", params(("id" = String, Path, description = "Session id")), responses(
    (status = 204, description = "The session is signed out"),
    (status = 404, description = "No such live session of yours"),
))]
async fn revoke_session(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(session_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .identity()
        .revoke_session(&signed_in.token, &session_id, &signed_in.context)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/enrolment/start", request_body = EnrolmentStartRequest, responses(
    (status = 200, description = "Authenticator set-up", body = EnrolmentStart),
    (status = 410, description = "The enrolment link has expired or was used"),
))]
async fn enrolment_start(
    State(state): State<AppState>,
    Caller(context): Caller,
    JsonBody(request): JsonBody<EnrolmentStartRequest>,
) -> Result<Json<EnrolmentStart>, ApiError> {
    Ok(Json(
        state
            .services
            .identity()
            .enrolment_start(request, &context)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/enrolment/finish", request_body = EnrolmentFinishRequest, responses(
    (status = 200, description = "Enrolled and signed in; recovery codes shown once"),
    (status = 400, description = "The password was refused"),
    (status = 401, description = "Wrong code"),
    (status = 410, description = "The enrolment link has expired or was used"),
))]
async fn enrolment_finish(
    State(state): State<AppState>,
    Caller(context): Caller,
    JsonBody(request): JsonBody<EnrolmentFinishRequest>,
) -> Result<Response, ApiError> {
    let done = state
        .services
        .identity()
        .enrolment_finish(request, &context)
        .await?;
    let codes = done.recovery_codes;
    Ok(signed_in_response(done.session, move |current| {
        Ok(serde_json::json!({ "recovery_codes": codes, "session": current }))
    }))
}

#[utoipa::path(post, path = "/api/v1/account/password", request_body = PasswordChangeRequest, responses(
    (status = 200, description = "Changed; every earlier session has ended and this one was renewed", body = Current),
    (status = 400, description = "The new password was refused"),
    (status = 401, description = "Wrong current password or code"),
    (status = 403, description = "Missing CSRF token"),
))]
async fn change_password(
    State(state): State<AppState>,
    signed_in: SignedIn,
    JsonBody(request): JsonBody<PasswordChangeRequest>,
) -> Result<Response, ApiError> {
    let session = state
        .services
        .identity()
        .change_password(&signed_in.token, request, &signed_in.context)
        .await?;
    Ok(signed_in_response(session, |current| {
        serde_json::to_value(current)
    }))
}

#[utoipa::path(post, path = "/api/v1/session/step-up", request_body = MfaRequest, responses(
    (status = 200, description = "The second factor is fresh again", body = Current),
    (status = 401, description = "Wrong or reused code"),
    (status = 403, description = "Missing CSRF token"),
))]
async fn step_up(
    State(state): State<AppState>,
    signed_in: SignedIn,
    JsonBody(request): JsonBody<MfaRequest>,
) -> Result<Json<Current>, ApiError> {
    Ok(Json(
        state
            .services
            .identity()
            .step_up(&signed_in.token, request, &signed_in.context)
            .await?,
    ))
}

/// The answer that starts a session: `body` made from what the client sees, the session cookie
/// set and the pending-sign-in cookie cleared.
pub(crate) fn signed_in_response(
    session: NewSession,
    body: impl FnOnce(&Current) -> serde_json::Result<serde_json::Value>,
) -> Response {
    let body = body(&session.current).unwrap_or(serde_json::Value::Null);
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &session.token, SESSION_COOKIE_MAX_AGE_SECS),
    );
    headers.append(header::SET_COOKIE, clear_cookie(PENDING_COOKIE));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        type Case<'a> = (&'a [(&'static str, &'a str)], Option<&'a str>, bool);
        let host = Some("trygg.example:8443");
        let cases: &[Case] = &[
            (&[], host, false),
            (&[("sec-fetch-site", "same-origin")], host, false),
            (&[("sec-fetch-site", "none")], host, false),
            (&[("sec-fetch-site", "cross-site")], host, true),
            (&[("sec-fetch-site", "same-site")], host, true),
            (&[("origin", "https://trygg.example:8443")], host, false),
            (&[("origin", "https://trygg.example:8443")], None, true),
            (&[("origin", "https://evil.example")], host, true),
            (&[("origin", "http://trygg.example:8443")], host, true),
            (&[("origin", "null")], host, true),
        ];
        for (pairs, host, expected) in cases {
            assert_eq!(
                is_cross_site(&headers(pairs), *host),
                *expected,
                "{pairs:?} {host:?}"
            );
        }
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let map = headers(&[(
            "cookie",
            "a=1; __Host-trygg-session=tok; __Host-trygg-sessionx=no",
        )]);
        assert_eq!(cookie(&map, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&map, PENDING_COOKIE), None);
        let value = set_cookie(SESSION_COOKIE, "tok", 60);
        let text = value.to_str().unwrap();
        for part in [
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
            "Max-Age=60",
        ] {
            assert!(text.contains(part), "{text}");
        }
        assert!(!text.contains("Domain"), "__Host- cookies carry no Domain");
    }
}
