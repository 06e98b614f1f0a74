//! The JSON API and the operational endpoints, described for OpenAPI by `utoipa` from the
//! handlers themselves so the description cannot drift from the code.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::AppState;

/// What the web client shows about this server before anyone signs in.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Info {
    /// Always "Trygg".
    pub product: String,
    /// The server's version.
    pub version: String,
    /// The organisation this server belongs to, once one is set up.
    pub organisation: Option<String>,
    /// Which single sign-on providers are configured (the sign-in page offers them).
    pub sso: crate::sso::SsoAvailability,
}

/// The health answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when the database does not answer.
    pub status: &'static str,
}

/// An error body: a stable code for programs and a sentence for people.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ApiError {
    pub code: &'static str,
    pub message: &'static str,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Trygg",
        description = "Secure digital customer meetings. Every endpoint is served over HTTPS only."
    ),
    paths(
        healthz,
        metrics,
        info,
        openapi,
        crate::identity::current,
        crate::identity::password_step,
        crate::identity::mfa_step,
        crate::identity::sign_out,
        crate::identity::sessions,
        crate::identity::revoke_session,
        crate::identity::enrolment_start,
        crate::identity::enrolment_finish,
        crate::identity::change_password,
        crate::identity::step_up,
        crate::admin::list,
        crate::admin::invite,
        crate::admin::set_roles,
        crate::admin::disable,
        crate::admin::reset_mfa,
        crate::admin::revoke_sessions,
        crate::meetings::create,
        crate::meetings::list,
        crate::meetings::get_one,
        crate::meetings::update,
        crate::meetings::cancel,
        crate::signalling::join,
        crate::signalling::prove_identity,
        crate::signalling::signal,
        crate::invitations::invite,
        crate::passkey::list,
        crate::passkey::remove,
        crate::passkey::register_start,
        crate::passkey::register_finish,
        crate::passkey::sign_in_start,
        crate::passkey::sign_in_finish,
        crate::sso::start,
        crate::sso::callback,
        crate::sso::customer_identity,
    ),
    components(schemas(Info, Health, ApiError, crate::sso::SsoAvailability))
)]
struct ApiDoc;

/// The OpenAPI 3 description of the whole API, as JSON.
pub fn openapi_json() -> String {
    // Invariant: the generated document is plain data and always serialises.
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/info", get(info))
        .route("/api/{*rest}", get(not_found).post(not_found))
}

/// Liveness and readiness: 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/healthz", responses(
    (status = 200, description = "The server and its database answer", body = Health),
    (status = 503, description = "The database does not answer", body = Health),
))]
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(Health { status: "ok" }).into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                }),
            )
                .into_response()
        }
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", responses(
    (status = 200, description = "Metrics", content_type = "text/plain; version=0.0.4"),
))]
async fn metrics(State(state): State<AppState>) -> Response {
    let audit_entries = state.store.audit_len().await.ok();
    let body = state.metrics.render(
        env!("CARGO_PKG_VERSION"),
        audit_entries,
        audit_entries.is_some(),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Product, version and organisation, for the web client's first screen.
#[utoipa::path(get, path = "/api/v1/info", responses(
    (status = 200, description = "About this server", body = Info),
))]
async fn info(State(state): State<AppState>) -> Json<Info> {
    Json(state.services.info().await)
}

/// This API's OpenAPI 3 description.
#[utoipa::path(get, path = "/api/openapi.json", responses(
    (status = 200, description = "OpenAPI 3 document", content_type = "application/json"),
))]
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(ApiError {
            code: "not_found",
            message: "No such API endpoint. See /api/openapi.json for the ones that exist.",
        }),
    )
        .into_response()
}
