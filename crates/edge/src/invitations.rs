//! The HTTP side of inviting a customer to a meeting by e-mail: the host gives an address and the
//! server sends the meeting's link there. Whether the caller may invite to this meeting, what the
//! e-mail says and how it is sent is decided behind [`InvitationsApi`]; this module carries JSON
//! in and out, works out the address the request was sent to (for the link when
//! `server.public_url` is unset) and never logs the address it carries.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use crate::extract::{JsonBody, SignedIn};
use crate::identity::{ApiError, RequestContext};
use crate::{AppState, BoxFuture};

/// Whom to invite.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct InvitationRequest {
    /// The customer's e-mail address. Stored encrypted under the meeting's data key; never
    /// logged or audited.
    pub email: String,
    /// The customer's offset from UTC in minutes at the meeting's start (for example 60 for
    /// Swedish winter time), so the e-mail states the time as the customer reads a clock. The
    /// e-mail always names the offset; without it the time is given in UTC.
    #[serde(default)]
    pub utc_offset_minutes: Option<i32>,
}

/// An invitation that the mail server accepted.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct InvitationSent {
    /// The invitation's random id (the address is not echoed).
    pub id: String,
    pub sent_at_ms: i64,
    /// How many invitations this meeting has had, this one included.
    pub invitations_sent: i64,
    /// How many more it may have.
    pub invitations_left: i64,
}

/// Inviting by e-mail, behind the API.
pub trait InvitationsApi: Send + Sync {
    /// Sends the meeting's link to `request.email`. `origin` is `https://host[:port]` of the
    /// request, used for the link only when no public URL is configured.
    fn invite<'a>(
        &'a self,
        session_token: &'a str,
        meeting_id: &'a str,
        request: InvitationRequest,
        origin: Option<&'a str>,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<InvitationSent, ApiError>>;
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/meetings/{id}/invitations", post(invite))
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/invitations", request_body = InvitationRequest,
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 201, description = "The mail server accepted the invitation", body = InvitationSent),
        (status = 400, description = "Not an e-mail address, or an impossible UTC offset"),
        (status = 404, description = "No such meeting of yours"),
        (status = 409, description = "The meeting is cancelled or over"),
        (status = 429, description = "This meeting has had as many invitations as it may"),
        (status = 502, description = "The mail server refused the invitation; nothing was recorded"),
        (status = 503, description = "E-mail is not configured, or the mail server cannot be reached"),
    ))]
pub(crate) async fn invite(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(meeting_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    JsonBody(request): JsonBody<InvitationRequest>,
) -> Result<Response, ApiError> {
    let origin = crate::sso::request_origin(&uri, &headers);
    let sent = state
        .services
        .invitations()
        .invite(
            &signed_in.token,
            &meeting_id,
            request,
            origin.as_deref(),
            &signed_in.context,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(sent)).into_response())
}
