//! The HTTP side of booking meetings: advisers create, list, change and cancel their meetings.
//! What may be done to which meeting is decided behind [`MeetingsApi`] by the policy engine;
//! this module carries JSON in and out and never logs a title, a passcode or an address.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::extract::{JsonBody, SignedIn};
use crate::identity::{ApiError, RequestContext};
use crate::{AppState, BoxFuture};

/// A meeting as its host sees it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MeetingView {
    /// 32 hex characters (128 random bits), the only id in the link.
    pub id: String,
    pub title: String,
    /// The validity window: the link lets nobody in outside it.
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    /// `scheduled`, `cancelled` or `ended`.
    pub status: String,
    pub has_passcode: bool,
    /// Whether the join flow takes an identity proof (the customer's e-ID, or a returning
    /// customer's passkey): required without a passcode, an alternative to it with one.
    pub identity_proof: bool,
    /// The path of the customer's link, `/m/<id>`.
    pub link_path: String,
}

/// A new meeting.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct MeetingRequest {
    pub title: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    /// A passcode the customer must give (6 to 64 characters), or none.
    pub passcode: Option<String>,
    /// Take an identity proof in the join flow: required without a passcode, an alternative to
    /// it with one. Needs a customer e-ID provider (`[customer_idp]`).
    #[serde(default)]
    pub identity_proof: bool,
}

/// A change to a meeting: the new title and window; the passcode is kept unless `passcode`
/// sets a new one or `remove_passcode` removes it, and the identity proof unless
/// `identity_proof` says otherwise.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct MeetingChange {
    pub title: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub passcode: Option<String>,
    #[serde(default)]
    pub remove_passcode: bool,
    pub identity_proof: Option<bool>,
}

type ApiResult<T> = Result<T, ApiError>;

/// The meeting-booking operations behind the API.
pub trait MeetingsApi: Send + Sync {
    fn create<'a>(
        &'a self,
        session_token: &'a str,
        request: MeetingRequest,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<MeetingView>>;
    fn list<'a>(
        &'a self,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<Vec<MeetingView>>>;
    fn get<'a>(
        &'a self,
        session_token: &'a str,
        meeting_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<MeetingView>>;
    fn update<'a>(
        &'a self,
        session_token: &'a str,
        meeting_id: &'a str,
        change: MeetingChange,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<MeetingView>>;
    /// Cancels a scheduled meeting: its link lets nobody in any more, and anyone in it is
    /// sent away.
    fn cancel<'a>(
        &'a self,
        session_token: &'a str,
        meeting_id: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<MeetingView>>;
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/meetings", get(list).post(create))
        .route("/api/v1/meetings/{id}", get(get_one).put(update))
        .route("/api/v1/meetings/{id}/cancel", post(cancel))
}

#[utoipa::path(post, path = "/api/v1/meetings", request_body = MeetingRequest, responses(
    (status = 201, description = "Booked", body = MeetingView),
    (status = 400, description = "A title, window or passcode was refused"),
    (status = 403, description = "Not allowed to book meetings"),
))]
pub(crate) async fn create(
    State(state): State<AppState>,
    signed_in: SignedIn,
    JsonBody(request): JsonBody<MeetingRequest>,
) -> Result<Response, ApiError> {
    let view = state
        .services
        .meetings()
        .create(&signed_in.token, request, &signed_in.context)
        .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[utoipa::path(get, path = "/api/v1/meetings", responses(
    (status = 200, description = "The meetings the signed-in person hosts, soonest first"),
))]
pub(crate) async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Response, ApiError> {
    let meetings = state
        .services
        .meetings()
        .list(&signed_in.token, &signed_in.context)
        .await?;
    Ok(Json(serde_json::json!({ "meetings": meetings })).into_response())
}

#[utoipa::path(get, path = "/api/v1/meetings/{id}", params(("id" = String, Path, description = "Meeting id")), responses(
    (status = 200, description = "The meeting", body = MeetingView),
    (status = 404, description = "No such meeting of yours"),
))]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(meeting_id): Path<String>,
) -> Result<Json<MeetingView>, ApiError> {
    Ok(Json(
        state
            .services
            .meetings()
            .get(&signed_in.token, &meeting_id, &signed_in.context)
            .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/meetings/{id}", request_body = MeetingChange, params(("id" = String, Path, description = "Meeting id")), responses(
    (status = 200, description = "Changed", body = MeetingView),
    (status = 400, description = "A title, window or passcode was refused"),
    (status = 404, description = "No such meeting of yours"),
    (status = 409, description = "The meeting is cancelled or over"),
))]
pub(crate) async fn update(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(meeting_id): Path<String>,
    JsonBody(change): JsonBody<MeetingChange>,
) -> Result<Json<MeetingView>, ApiError> {
    Ok(Json(
        state
            .services
            .meetings()
            .update(&signed_in.token, &meeting_id, change, &signed_in.context)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/cancel", params(("id" = String, Path, description = "Meeting id")), responses(
    (status = 200, description = "Cancelled", body = MeetingView),
    (status = 404, description = "No such meeting of yours"),
    (status = 409, description = "The meeting is cancelled or over already"),
))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(meeting_id): Path<String>,
) -> Result<Json<MeetingView>, ApiError> {
    Ok(Json(
        state
            .services
            .meetings()
            .cancel(&signed_in.token, &meeting_id, &signed_in.context)
            .await?,
    ))
}
