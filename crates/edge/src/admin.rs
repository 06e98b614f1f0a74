//! The HTTP side of account administration: listing, inviting, changing roles, disabling,
//! resetting a second factor and ending someone's sessions. Every request needs a session and,
//! when it changes anything, its CSRF token; whether the person may do it (and whether they must
//! confirm their second factor first) is decided behind [`AccountsApi`] by the policies.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};

use crate::identity::{bad_body, context, require_csrf, session_token, ApiError, RequestContext};
use crate::{AppState, BoxFuture, PeerAddr};

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

/// The session token of a state-changing request, after the session and CSRF checks.
async fn checked<'h>(
    state: &AppState,
    headers: &'h HeaderMap,
    context: &RequestContext,
) -> ApiResult<&'h str> {
    let token = session_token(headers)?;
    let current = state.services.identity().current(token, context).await?;
    require_csrf(headers, &current)?;
    Ok(token)
}

fn respond<T: serde::Serialize>(result: ApiResult<T>, success: StatusCode) -> Response {
    match result {
        Ok(value) => (success, Json(value)).into_response(),
        Err(error) => error.into_response(),
    }
}

#[utoipa::path(get, path = "/api/v1/accounts", responses(
    (status = 200, description = "Every account (administrators only)"),
    (status = 403, description = "Not allowed"),
))]
async fn list(
    State(state): State<AppState>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
) -> Response {
    let context = context(peer, &headers);
    let result = async {
        let token = session_token(&headers)?;
        state.services.accounts().list(token, &context).await
    }
    .await;
    match result {
        Ok(accounts) => Json(serde_json::json!({ "accounts": accounts })).into_response(),
        Err(error) => error.into_response(),
    }
}

#[utoipa::path(post, path = "/api/v1/accounts", request_body = InviteRequest, responses(
    (status = 201, description = "Invited; the enrolment link works once", body = Enrolment),
    (status = 400, description = "Invalid e-mail address, name or roles"),
    (status = 403, description = "Not allowed, or a fresh second factor is needed (step_up_required)"),
    (status = 409, description = "An account with that e-mail address exists"),
))]
async fn invite(
    State(state): State<AppState>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    body: Result<Json<InviteRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let context = context(peer, &headers);
    let Ok(Json(request)) = body else {
        return bad_body();
    };
    let result = async {
        let token = checked(&state, &headers, &context).await?;
        state
            .services
            .accounts()
            .invite(token, request, &context)
            .await
    }
    .await;
    respond(result, StatusCode::CREATED)
}

#[utoipa::path(put, path = "/api/v1/accounts/{id}/roles", request_body = RolesRequest, params(("id" = String, Path, description = "Account id")), responses(
    (status = 200, description = "Roles replaced; the account's sessions ended", body = AccountSummary),
    (status = 403, description = "Not allowed, or step-up needed"),
    (status = 404, description = "No such account"),
))]
async fn set_roles(
    State(state): State<AppState>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    Path(account_id): Path<String>,
    body: Result<Json<RolesRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let context = context(peer, &headers);
    let Ok(Json(request)) = body else {
        return bad_body();
    };
    let result = async {
        let token = checked(&state, &headers, &context).await?;
        state
            .services
            .accounts()
            .set_roles(token, &account_id, request, &context)
            .await
    }
    .await;
    respond(result, StatusCode::OK)
}

#[utoipa::path(post, path = "/api/v1/accounts/{id}/disable", params(("id" = String, Path, description = "Account id")), responses(
    (status = 200, description = "Disabled; its sessions ended", body = AccountSummary),
    (status = 403, description = "Not allowed, or step-up needed"),
    (status = 404, description = "No such account"),
))]
async fn disable(
    State(state): State<AppState>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    Path(account_id): Path<String>,
) -> Response {
    let context = context(peer, &headers);
    let result = async {
        let token = checked(&state, &headers, &context).await?;
        state
            .services
            .accounts()
            .disable(token, &account_id, &context)
            .await
    }
    .await;
    respond(result, StatusCode::OK)
}

#[utoipa::path(post, path = "/api/v1/accounts/{id}/reset-mfa", params(("id" = String, Path, description = "Account id")), responses(
    (status = 200, description = "Second factor removed; a new enrolment link", body = Enrolment),
    (status = 403, description = "Not allowed, or step-up needed"),
    (status = 404, description = "No such account"),
))]
async fn reset_mfa(
    State(state): State<AppState>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    Path(account_id): Path<String>,
) -> Response {
    let context = context(peer, &headers);
    let result = async {
        let token = checked(&state, &headers, &context).await?;
        state
            .services
            .accounts()
            .reset_mfa(token, &account_id, &context)
            .await
    }
    .await;
    respond(result, StatusCode::OK)
}

#[utoipa::path(post, path = "/api/v1/accounts/{id}/revoke-sessions", params(("id" = String, Path, description = "Account id")), responses(
    (status = 200, description = "Every session of the account ended"),
    (status = 403, description = "Not allowed"),
    (status = 404, description = "No such account"),
))]
async fn revoke_sessions(
    State(state): State<AppState>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
    Path(account_id): Path<String>,
) -> Response {
    let context = context(peer, &headers);
    let result = async {
        let token = checked(&state, &headers, &context).await?;
        let ended = state
            .services
            .accounts()
            .revoke_sessions(token, &account_id, &context)
            .await?;
        Ok(serde_json::json!({ "ended": ended }))
    }
    .await;
    respond(result, StatusCode::OK)
}
