//! Extractors that put the request's standing in the handler's signature (as vaultwarden's
//! guards do): [`SignedIn`] cannot be built without a session cookie and, for a state-changing
//! request, that session's CSRF token, so a handler that takes one cannot run for a cross-site
//! forgery. Whether the session is still live is checked once, by the operation the handler
//! calls, not here as well. [`Caller`]
//! is the request context of an anonymous request; [`JsonBody`] turns a malformed body into the
//! API's error shape.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::Json;

use crate::identity::{cookie, ApiError, RequestContext, SESSION_COOKIE};
use crate::{AppState, PeerAddr};

/// The context of any request: source address and user agent, for throttling and the device
/// list (never logged).
#[derive(Debug, Clone)]
pub struct Caller(pub RequestContext);

/// A request carrying a session cookie and, unless the method is GET, HEAD or OPTIONS, that
/// session's CSRF token in `X-CSRF-Token`.
#[derive(Debug)]
pub struct SignedIn {
    pub token: String,
    pub context: RequestContext,
}

/// A JSON body; a body that is not what the endpoint expects is a 400 in the API's error shape.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller(request_context(parts)))
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let context = request_context(parts);
        let token = cookie(&parts.headers, SESSION_COOKIE)
            .ok_or_else(ApiError::unauthenticated)?
            .to_owned();
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let presented = parts
                .headers
                .get("x-csrf-token")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            if !state.services.identity().csrf_valid(&token, presented) {
                return Err(ApiError::new(
                    403,
                    "csrf_refused",
                    "This request lacks its security token. Reload the page and try again.",
                ));
            }
        }
        Ok(SignedIn { token, context })
    }
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| JsonBody(value))
            .map_err(|_| {
                ApiError::new(
                    400,
                    "bad_request",
                    "The request body is not what this endpoint expects.",
                )
            })
    }
}

fn request_context(parts: &Parts) -> RequestContext {
    RequestContext {
        source: parts
            .extensions
            .get::<PeerAddr>()
            .map(|PeerAddr(addr)| addr.ip()),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| agent.chars().take(512).collect()),
    }
}
