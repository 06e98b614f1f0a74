//! The transport of a meeting's signalling: joining by link (`POST /api/v1/meetings/{id}/join`,
//! which gives a guest their `__Host-trygg-guest` ticket cookie, or gives back the place the
//! cookie already names), proving the guest's identity with their customer sign-in (`POST
//! /api/v1/meetings/{id}/identity`, e-ID or passkey) and one WebSocket per participant
//! (`GET /api/v1/meetings/{id}/signal`). What the messages mean is decided behind
//! [`SignallingApi`]; this module authenticates nothing itself, it only carries the session or
//! ticket cookie there, and it keeps every connection within bounds:
//!
//! - a WebSocket whose `Origin` is not this host is refused (cross-site WebSocket hijacking);
//! - a frame over [`MAX_FRAME`] bytes, a binary frame, or a client sending faster than its
//!   meeting takes messages closes the connection;
//! - what is to be sent waits in a bounded queue that the meeting fills without waiting; a client
//!   too slow to read is disconnected by the meeting, never allowed to grow server memory, and a
//!   send that stalls for [`SEND_TIMEOUT`] ends the connection too;
//! - the server pings every [`PING_INTERVAL`] and gives up on a client silent for
//!   [`SILENCE_LIMIT`], so a half-open connection is noticed and the person can resume.
//!
//! It never logs a message's content.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::extract::{Caller, SignedIn};
use crate::identity::{cookie, set_cookie, ApiError, RequestContext, SESSION_COOKIE};
use crate::{AppState, BoxFuture};

/// The cookie that lets a guest who joined by link back onto their place in the meeting.
pub const GUEST_COOKIE: &str = "__Host-trygg-guest";
const GUEST_COOKIE_MAX_AGE_SECS: u64 = 24 * 60 * 60;
/// The largest text frame a client may send: an MLS commit with its Welcome and GroupInfo (each
/// carrying the ratchet tree), base64-encoded, for a group of the delivery service's 64 members.
pub const MAX_FRAME: usize = 64 * 1024;
/// The read buffer of each connection. Signalling messages are small, and tungstenite's
/// default (128 KiB) is allocated for every connection and zeroed on every read attempt, which
/// made the buffer most of a connection's memory and its zeroing the largest CPU cost of a busy
/// meeting (see BENCHMARKS.md, "Signalling"). Larger frames, up to [`MAX_FRAME`], still arrive:
/// the buffer grows for them.
pub const READ_BUFFER: usize = 4 * 1024;
/// How often the server pings.
pub const PING_INTERVAL: Duration = Duration::from_secs(10);
/// How long a client may stay silent (not even answering pings).
pub const SILENCE_LIMIT: Duration = Duration::from_secs(30);
/// How long one send may take before the client counts as gone.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Close codes the server uses (4000–4999 are the application's).
pub mod close_code {
    /// The meeting asked to close (left, removed, ended, ...); the last message said why.
    pub const DONE: u16 = 4000;
    /// The session behind the connection ended (signed out, revoked, expired).
    pub const SESSION_ENDED: u16 = 4001;
    /// The client sent too much, too fast, or something that is not a message.
    pub const POLICY: u16 = 1008;
    /// The client read too slowly or stopped answering.
    pub const TOO_SLOW: u16 = 4008;
}

/// Who is connecting, as far as the cookies say.
#[derive(Clone, Copy, Debug)]
pub enum Credentials<'a> {
    /// A signed-in person's session token.
    Session(&'a str),
    /// A guest's ticket from joining by link.
    Guest(&'a str),
}

/// Something for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// A message (JSON text).
    Text(String),
    /// Closes the connection with this code and reason.
    Close { code: u16, reason: &'static str },
}

/// Something from the client, or the end of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    Text(String),
    /// The connection is gone (closed, failed, silent or refused).
    Closed,
}

/// Hands what a client sends to its meeting; `false` means the meeting cannot take more from this
/// client now, and the connection is closed.
pub type InboundSink = Box<dyn Fn(Inbound) -> bool + Send + Sync>;

/// An accepted connection: the queue of what to send, and where what arrives goes.
pub struct Connection {
    pub outgoing: mpsc::Receiver<Outgoing>,
    pub inbound: InboundSink,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Connection").finish_non_exhaustive()
    }
}

/// A guest's place in a meeting: the ticket for the cookie and what the join page needs.
#[derive(Debug)]
pub struct Joined {
    pub ticket: String,
    pub body: serde_json::Value,
}

type ApiResult<T> = Result<T, ApiError>;

/// The meeting side of signalling.
pub trait SignallingApi: Send + Sync {
    /// Someone opened the meeting's link: the place their ticket names if it is still theirs
    /// (a reload, or the return from their e-ID), else a new guest place, or the answer why not
    /// (unknown, cancelled or outside its window, locked, full).
    fn join<'a>(
        &'a self,
        meeting_id: &'a str,
        ticket: Option<&'a str>,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<Joined>>;
    /// The guest whose ticket this is proves who they are with their customer session: the
    /// identity their e-ID verified, signed in with the e-ID or a passkey just now. The answer is
    /// the identity as the host will see it.
    fn prove_identity<'a>(
        &'a self,
        meeting_id: &'a str,
        ticket: &'a str,
        session_token: &'a str,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<serde_json::Value>>;
    /// Accepts a WebSocket for `meeting_id` from whoever the credentials name, or says why not.
    fn connect<'a>(
        &'a self,
        meeting_id: &'a str,
        credentials: Credentials<'a>,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, ApiResult<Connection>>;
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/meetings/{id}/join", post(join))
        .route("/api/v1/meetings/{id}/identity", post(prove_identity))
        .route("/api/v1/meetings/{id}/signal", get(signal))
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/join", params(("id" = String, Path, description = "Meeting id")), responses(
    (status = 200, description = "A place in the join flow; the guest ticket cookie is set"),
    (status = 403, description = "The link is not valid at this time, or the meeting is locked"),
    (status = 404, description = "No such meeting"),
))]
pub(crate) async fn join(
    State(state): State<AppState>,
    Caller(context): Caller,
    Path(meeting_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let joined = state
        .services
        .signalling()
        .join(&meeting_id, cookie(&headers, GUEST_COOKIE), &context)
        .await?;
    let cookie = set_cookie(GUEST_COOKIE, &joined.ticket, GUEST_COOKIE_MAX_AGE_SECS);
    Ok(([(header::SET_COOKIE, cookie)], Json(joined.body)).into_response())
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/identity", params(("id" = String, Path, description = "Meeting id")), responses(
    (status = 200, description = "The identity was proven; the join flow goes on to the device check"),
    (status = 401, description = "No guest ticket, or not signed in"),
    (status = 403, description = "The sign-in proves no identity now (not an e-ID or passkey, or too long ago), the meeting takes no identity proof here, or this identity is banned"),
    (status = 404, description = "No such meeting, or no verified identity"),
))]
pub(crate) async fn prove_identity(
    State(state): State<AppState>,
    Path(meeting_id): Path<String>,
    headers: HeaderMap,
    signed_in: SignedIn,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ticket = cookie(&headers, GUEST_COOKIE).ok_or_else(no_place)?;
    let proven = state
        .services
        .signalling()
        .prove_identity(&meeting_id, ticket, &signed_in.token, &signed_in.context)
        .await?;
    Ok(Json(proven))
}

#[utoipa::path(get, path = "/api/v1/meetings/{id}/signal", params(("id" = String, Path, description = "Meeting id")), responses(
    (status = 101, description = "The signalling WebSocket"),
    (status = 401, description = "Neither a session nor a guest ticket"),
    (status = 403, description = "Another site's page, or not allowed in this meeting"),
))]
pub(crate) async fn signal(
    State(state): State<AppState>,
    Caller(context): Caller,
    Path(meeting_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if !same_origin(&uri, &headers) {
        return Err(ApiError::new(
            403,
            "cross_site_refused",
            "This request came from another site and was refused.",
        ));
    }
    // A guest ticket names a place in one meeting; a session is tried only without one, so a
    // signed-in person who joined a meeting as a guest stays that guest.
    let credentials = match (
        cookie(&headers, GUEST_COOKIE),
        cookie(&headers, SESSION_COOKIE),
    ) {
        (Some(ticket), _) => Credentials::Guest(ticket),
        (None, Some(session)) => Credentials::Session(session),
        (None, None) => return Err(ApiError::unauthenticated()),
    };
    let connection = state
        .services
        .signalling()
        .connect(&meeting_id, credentials, &context)
        .await?;
    Ok(upgrade
        .read_buffer_size(READ_BUFFER)
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket| serve(socket, connection)))
}

/// The answer for a guest ticket that names no place (none, unknown, or another meeting's).
pub fn no_place() -> ApiError {
    ApiError::new(401, "no_place", "Open the meeting's link again to join.")
}

/// Whether a WebSocket handshake comes from a page of this host (the host as HTTP/1.1's `Host`
/// or HTTP/2's `:authority` names it). Browsers always send `Origin` on WebSocket handshakes; a
/// handshake without one is not from a browser page and is refused too, because its cookies
/// would otherwise be used by whoever made it.
fn same_origin(uri: &Uri, headers: &HeaderMap) -> bool {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok());
    origin.is_some() && crate::sso::request_origin(uri, headers).as_deref() == origin
}

/// Runs one connection until either side ends it.
async fn serve(mut socket: WebSocket, connection: Connection) {
    let Connection {
        mut outgoing,
        inbound,
    } = connection;
    let mut heartbeat = tokio::time::interval(PING_INTERVAL);
    heartbeat.tick().await;
    let mut last_heard = Instant::now();
    let close = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }))
    };
    let ending: Option<Message> = loop {
        tokio::select! {
            received = socket.recv() => {
                last_heard = Instant::now();
                match received {
                    Some(Ok(Message::Text(text))) => {
                        if !inbound(Inbound::Text(text.as_str().to_owned())) {
                            break Some(close(close_code::POLICY, "too many messages"));
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        break Some(close(close_code::POLICY, "text messages only"));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break None,
                }
            }
            queued = outgoing.recv() => match queued {
                Some(Outgoing::Text(text)) => {
                    let sent = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        break None;
                    }
                }
                Some(Outgoing::Close { code, reason }) => break Some(close(code, reason)),
                // The meeting dropped this connection: it was too slow to read, or replaced.
                None => break Some(close(close_code::TOO_SLOW, "disconnected")),
            },
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > SILENCE_LIMIT {
                    break None;
                }
                let pinged = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Ping(Default::default()))).await;
                if !matches!(pinged, Ok(Ok(()))) {
                    break None;
                }
            }
        }
    };
    if let Some(frame) = ending {
        let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(frame)).await;
    }
    inbound(Inbound::Closed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_this_hosts_pages_open_websockets() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_str(value).unwrap());
            }
            map
        };
        let host = ("host", "trygg.example:8443");
        let path = Uri::from_static("/api/v1/meetings/00/signal");
        assert!(same_origin(
            &path,
            &headers(&[host, ("origin", "https://trygg.example:8443")])
        ));
        // HTTP/2 names the host in the request's authority instead.
        let http2 = Uri::from_static("https://trygg.example:8443/api/v1/meetings/00/signal");
        assert!(same_origin(
            &http2,
            &headers(&[("origin", "https://trygg.example:8443")])
        ));
        assert!(!same_origin(
            &http2,
            &headers(&[("origin", "https://evil.example")])
        ));
        for origin in [
            "https://evil.example",
            "http://trygg.example:8443",
            "https://trygg.example",
            "null",
        ] {
            assert!(
                !same_origin(&path, &headers(&[host, ("origin", origin)])),
                "{origin}"
            );
        }
        assert!(!same_origin(&path, &headers(&[host])), "no Origin");
    }
}
