//! The HTTP side of account administration: listing, inviting, changing roles, disabling,
//! resetting a second factor and ending someone's sessions. Every request needs a session and,
//! when it changes anything, its CSRF token; whether the person may do it (and whether they must
//! confirm their second factor first) is decided behind [`AccountsApi`] by the policies.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};

use crate::extract::{JsonBody, SignedIn};
use crate::identity::{ApiError, RequestContext};
use crate::{AppState, BoxFuture};

/// One account in the administrators' list.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccountSummary {
    pub id: String,
    pub kind: String,
    pub display_name: String,
    pub email: String,
    pub roles: Vec<String>,
    pub status: String,
    pub created_at_ms: i64,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct InviteRequest {
    pub email: String,
    pub display_name: String,
    pub roles: Vec<String>,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct RolesRequest {
    pub roles: Vec<String>,
}

/// An account together with a one-time enrolment link (as a path: the client knows its origin).
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    pub account: AccountSummary,
    /// `/enrol#<token>`; works once, until `expires_at_ms`.
    pub enrolment_path: String,
    pub expires_at_ms: i64,
}

type ApiResult<T> = Result<T, ApiError>;

/// Account administration behind the API.
pub trait AccountsApi: Send + Sync {
    fn list<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<Vec<AccountSummary>>>;
    fn invite<'a>(
        &'a self,
        session_token: &'a str,
        request: InviteRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<Enrolment>>;
    fn set_roles<'a>(
        &'a self,
        session_token: &'a str,
        account_id: &'a str,
        request: RolesRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<AccountSummary>>;
    fn disable<'a>(
        &'a self,
        session_token: &'a str,
        account_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<AccountSummary>>;
    fn reset_mfa<'a>(
        &'a self,
        session_token: &'a str,
        account_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<Enrolment>>;
    /// Ends every session of the account; returns how many.
    fn revoke_sessions<'a>(
        &'a self,
        session_token: &'a str,
        account_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<u64>>;
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/accounts", get(list).post(invite))
        .route("/api/v1/accounts/{id}/roles", put(set_roles))
        .route("/api/v1/accounts/{id}/disable", post(disable))
        .route("/api/v1/accounts/{id}/reset-mfa", post(reset_mfa))
        .route(
            "/api/v1/accounts/{id}/revoke-sessions",
            post(revoke_sessions),
        )
}

#[utoipa::path(get, path = "/api/v1/accounts", responses(
    (status = 200, description = "Every account (administrators only)"),
    (status = 403, description = "Not allowed"),
))]
async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<serde_json::Value>, ApiError> {
    let accounts = state
        .services
        .accounts()
        .list(&signed_in.token, &signed_in.context)
        .await?;
    Ok(Json(serde_json::json!({ "accounts": accounts })))
}

#[utoipa::path(post, path = "/api/v1/accounts", request_body = InviteRequest, responses(
    (status = 201, description = "Invited; the enrolment link works once", body = Enrolment),
    (status = 400, description = "Invalid e-mail address, name or roles"),
    (status = 403, description = "Not allowed, or a fresh second factor is needed (step_up_required)"),
    (status = 409, description = "An account with that e-mail address exists"),
))]
async fn invite(
    State(state): State<AppState>,
    signed_in: SignedIn,
    JsonBody(request): JsonBody<InviteRequest>,
) -> Result<(StatusCode, Json<Enrolment>), ApiError> {
    let enrolment = state
        .services
        .accounts()
        .invite(&signed_in.token, request, &signed_in.context)
        .await?;
    Ok((StatusCode::CREATED, Json(enrolment)))
}

#[utoipa::path(put, path = "/api/v1/accounts/{id}/roles", request_body = RolesRequest, params(("id" = String, Path, description = "Account id")), responses(
    (status = 200, description = "Roles replaced; the account's sessions ended", body = AccountSummary),
    (status = 403, description = "Not allowed, or step-up needed"),
    (status = 404, description = "No such account"),
))]
async fn set_roles(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(account_id): Path<String>,
    JsonBody(request): JsonBody<RolesRequest>,
) -> Result<Json<AccountSummary>, ApiError> {
    Ok(Json(
        state
            .services
            .accounts()
            .set_roles(&signed_in.token, &account_id, request, &signed_in.context)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/accounts/{id}/disable", params(("id" = String, Path, description = "Account id")), responses(
    (status = 200, description = "Disabled; its sessions ended", body = AccountSummary),
    (status = 403, description = "Not allowed, or step-up needed"),
    (status = 404, description = "No such account"),
))]
async fn disable(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(account_id): Path<String>,
) -> Result<Json<AccountSummary>, ApiError> {
    Ok(Json(
        state
            .services
            .accounts()
            .disable(&signed_in.token, &account_id, &signed_in.context)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/accounts/{id}/reset-mfa", params(("id" = String, Path, description = "Account id")), responses(
    (status = 200, description = "Second factor removed; a new enrolment link", body = Enrolment),
    (status = 403, description = "Not allowed, or step-up needed"),
    (status = 404, description = "No such account"),
))]
async fn reset_mfa(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(account_id): Path<String>,
) -> Result<Json<Enrolment>, ApiError> {
    Ok(Json(
        state
            .services
            .accounts()
            .reset_mfa(&signed_in.token, &account_id, &signed_in.context)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/accounts/{id}/revoke-sessions", params(("id" = String, Path, description = "Account id")), responses(
    (status = 200, description = "Every session of the account ended"),
    (status = 403, description = "Not allowed"),
    (status = 404, description = "No such account"),
))]
async fn revoke_sessions(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(account_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ended = state
        .services
        .accounts()
        .revoke_sessions(&signed_in.token, &account_id, &signed_in.context)
        .await?;
    Ok(Json(serde_json::json!({ "ended": ended })))
}
