//! The HTTP side of passkeys (WebAuthn): registering one on the signed-in account, listing and
//! removing them, and signing in with one and nothing else. The ceremonies' options and the
//! browser's answers travel as JSON that this module does not look into; [`PasskeyApi`] verifies
//! them. A sign-in ceremony is bound to the browser that started it by a short-lived `__Host-`
//! cookie, so a challenge fetched elsewhere cannot be completed here.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};

use crate::extract::{Caller, JsonBody, SignedIn};
use crate::identity::{
    clear_cookie, cookie, set_cookie, signed_in_response, ApiError, NewSession, RequestContext,
};
use crate::{AppState, BoxFuture};

/// The cookie that ties a passkey sign-in ceremony to the browser that started it.
pub const CEREMONY_COOKIE: &str = "__Host-trygg-passkey";
const CEREMONY_COOKIE_MAX_AGE_SECS: u64 = 5 * 60;

/// One of the signed-in person's passkeys.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at_ms: i64,
    pub last_used_ms: Option<i64>,
}

/// The browser's answer to a registration ceremony, and the name to remember the passkey by.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct RegisterFinishRequest {
    pub name: String,
    /// The `PublicKeyCredential` from `navigator.credentials.create()`, in its JSON form.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// The browser's answer to a sign-in ceremony.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct SignInFinishRequest {
    /// The `PublicKeyCredential` from `navigator.credentials.get()`, in its JSON form.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// A started sign-in ceremony: the token for the cookie and the options for the browser.
#[derive(Debug)]
pub struct SignInStart {
    pub ceremony_token: String,
    pub options: serde_json::Value,
}

type ApiResult<T> = Result<T, ApiError>;

/// The passkey operations behind the API.
pub trait PasskeyApi: Send + Sync {
    /// Options for `navigator.credentials.create()`; needs a fresh second factor.
    fn register_start<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<serde_json::Value>>;
    fn register_finish<'a>(
        &'a self,
        session_token: &'a str,
        request: RegisterFinishRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<PasskeyView>>;
    fn list<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<Vec<PasskeyView>>>;
    /// Removes a passkey; the account's other sessions end (its ways in changed).
    fn remove<'a>(
        &'a self,
        session_token: &'a str,
        passkey_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<()>>;
    /// Starts a sign-in with a discoverable passkey: no e-mail address is asked for, so nothing
    /// about who has an account can be learnt from it.
    fn sign_in_start<'a>(
        &'a self,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<SignInStart>>;
    fn sign_in_finish<'a>(
        &'a self,
        ceremony_token: &'a str,
        request: SignInFinishRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<NewSession>>;
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/passkeys", get(list))
        .route("/api/v1/passkeys/{id}", delete(remove))
        .route("/api/v1/passkeys/register/start", post(register_start))
        .route("/api/v1/passkeys/register/finish", post(register_finish))
        .route("/api/v1/session/passkey/start", post(sign_in_start))
        .route("/api/v1/session/passkey/finish", post(sign_in_finish))
}

#[utoipa::path(get, path = "/api/v1/passkeys", responses(
    (status = 200, description = "The signed-in person's passkeys"),
    (status = 401, description = "Not signed in"),
))]
pub(crate) async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Response, ApiError> {
    let passkeys = state
        .services
        .passkeys()
        .list(&signed_in.token, &signed_in.context)
        .await?;
    Ok(Json(serde_json::json!({ "passkeys": passkeys })).into_response())
}

#[utoipa::path(delete, path = "/api/v1/passkeys/{id}", params(("id" = String, Path, description = "Passkey id")), responses(
    (status = 204, description = "Removed; the account's other sessions have ended"),
    (status = 403, description = "A fresh second factor is needed (step_up_required)"),
    (status = 404, description = "No such passkey of yours"),
))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(passkey_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .passkeys()
        .remove(&signed_in.token, &passkey_id, &signed_in.context)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/passkeys/register/start", responses(
    (status = 200, description = "Options for navigator.credentials.create()"),
    (status = 403, description = "A fresh second factor is needed (step_up_required)"),
))]
pub(crate) async fn register_start(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(
        state
            .services
            .passkeys()
            .register_start(&signed_in.token, &signed_in.context)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/passkeys/register/finish", request_body = RegisterFinishRequest, responses(
    (status = 200, description = "Registered", body = PasskeyView),
    (status = 400, description = "The authenticator's answer was refused"),
    (status = 403, description = "A fresh second factor is needed (step_up_required)"),
))]
pub(crate) async fn register_finish(
    State(state): State<AppState>,
    signed_in: SignedIn,
    JsonBody(request): JsonBody<RegisterFinishRequest>,
) -> Result<Json<PasskeyView>, ApiError> {
    Ok(Json(
        state
            .services
            .passkeys()
            .register_finish(&signed_in.token, request, &signed_in.context)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/session/passkey/start", responses(
    (status = 200, description = "Options for navigator.credentials.get()"),
    (status = 429, description = "Too many attempts"),
))]
pub(crate) async fn sign_in_start(
    State(state): State<AppState>,
    Caller(context): Caller,
) -> Result<Response, ApiError> {
    let start = state.services.passkeys().sign_in_start(&context).await?;
    let cookie = set_cookie(
        CEREMONY_COOKIE,
        &start.ceremony_token,
        CEREMONY_COOKIE_MAX_AGE_SECS,
    );
    Ok(([(header::SET_COOKIE, cookie)], Json(start.options)).into_response())
}

#[utoipa::path(post, path = "/api/v1/session/passkey/finish", request_body = SignInFinishRequest, responses(
    (status = 200, description = "Signed in"),
    (status = 401, description = "The passkey was not accepted, or the ceremony expired"),
    (status = 429, description = "Too many attempts"),
))]
pub(crate) async fn sign_in_finish(
    State(state): State<AppState>,
    Caller(context): Caller,
    headers: HeaderMap,
    JsonBody(request): JsonBody<SignInFinishRequest>,
) -> Result<Response, ApiError> {
    let ceremony = cookie(&headers, CEREMONY_COOKIE).ok_or_else(ceremony_expired)?;
    let session = state
        .services
        .passkeys()
        .sign_in_finish(ceremony, request, &context)
        .await?;
    let mut response = signed_in_response(session, |current| serde_json::to_value(current));
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie(CEREMONY_COOKIE));
    Ok(response)
}

/// The answer for a sign-in ceremony that is unknown, used or too old.
pub fn ceremony_expired() -> ApiError {
    ApiError::new(
        401,
        "passkey_expired",
        "Your passkey sign-in took too long. Start again.",
    )
}
