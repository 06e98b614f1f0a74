//! The HTTPS edge of Trygg: TLS termination with rustls, the security headers every response
//! carries, the operational endpoints (`/healthz`, `/metrics`, `/api/openapi.json`), the API
//! and the embedded web client. This is the only crate that knows axum and hyper.
//!
//! [`serve`] takes its listener and a shutdown future, so tests bind port 0 and talk real
//! HTTPS to it. Handlers never log request content, query strings, headers or client addresses.
//!
//! It deliberately makes no policy decisions of its own beyond transport security: what a
//! request may do is decided by the parts behind it.

#![forbid(unsafe_code)]

pub mod admin;
mod api;
mod assets;
pub mod extract;
mod headers;
pub mod identity;
pub mod invitations;
pub mod meetings;
mod metrics;
pub mod passkey;
pub mod signalling;
pub mod sso;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::Service;

pub use api::{openapi_json, Info};
pub use headers::{CONTENT_SECURITY_POLICY, PERMISSIONS_POLICY};
pub use metrics::Metrics;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: store::Store,
    pub services: Arc<dyn Services>,
    pub metrics: Arc<Metrics>,
    pub headers: Arc<headers::SecurityHeaders>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// A boxed future, for the object-safe service trait below.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The operations behind the API, implemented by the binary that wires the parts together, so
/// this crate needs no keys and no knowledge of how an answer is produced.
pub trait Services: Send + Sync + 'static {
    /// Product, version and organisation for the first screen.
    fn info(&self) -> BoxFuture<'_, Info>;

    /// Sign-in, enrolment and sessions.
    fn identity(&self) -> &dyn identity::IdentityApi;

    /// Account administration.
    fn accounts(&self) -> &dyn admin::AccountsApi;

    /// Passkeys: registration, the list, removal and passkey sign-in.
    fn passkeys(&self) -> &dyn passkey::PasskeyApi;

    /// Booking meetings.
    fn meetings(&self) -> &dyn meetings::MeetingsApi;

    /// Live meetings: joining by link and the signalling WebSocket.
    fn signalling(&self) -> &dyn signalling::SignallingApi;
    /// Inviting customers to meetings by e-mail.
    fn invitations(&self) -> &dyn invitations::InvitationsApi;
    /// Single sign-on with OpenID Connect (staff and customer e-ID).
    fn sso(&self) -> &dyn sso::SsoApi;
}

impl AppState {
    pub fn new(
        store: store::Store,
        services: Arc<dyn Services>,
        hsts_max_age_secs: u64,
    ) -> AppState {
        AppState {
            store,
            services,
            metrics: Arc::new(Metrics::new()),
            headers: Arc::new(headers::SecurityHeaders::new(hsts_max_age_secs)),
        }
    }
}

/// The address a request came from, put into each request's extensions for the parts that need
/// it (throttling, risk). It is never logged.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

/// The whole application: API, operational endpoints and web client, with headers and metrics.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(identity::routes())
        .merge(admin::routes())
        .merge(passkey::routes())
        .merge(meetings::routes())
        .merge(signalling::routes())
        .merge(invitations::routes())
        .merge(sso::routes())
        .merge(assets::routes())
        .layer(axum::middleware::from_fn(identity::refuse_cross_site))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::apply,
        ))
        .with_state(state)
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Tls(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Binds `addr`, turning "address in use" into a message that says what to do.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, HttpError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })
}

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish after shutdown is requested.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` over TLS on `listener` until `shutdown` completes, then stops accepting and
/// lets open connections finish (up to ten seconds).
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small messages (signalling, API answers) go out at once instead of waiting for the
        // previous segment's ACK (Nagle); with delayed ACKs that wait is 40 ms.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let acceptor = acceptor.clone();
        let app = app.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls_stream =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!("TLS handshake timed out");
                        return;
                    }
                };
            let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
                request.extensions_mut().insert(PeerAddr(peer));
                app.clone().call(request)
            });
            let connection =
                builder.serve_connection_with_upgrades(TokioIo::new(tls_stream), service);
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish in time; closing them");
    }
}

/// Serves plain HTTP that only redirects to HTTPS: to `public_url` when configured, otherwise
/// to the requested host on `https_port`.
pub async fn serve_redirect(
    listener: TcpListener,
    public_url: Option<String>,
    https_port: u16,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let app = headers::redirect_router(public_url, https_port);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    if let Err(error) = result {
        tracing::warn!(%error, "redirect listener stopped");
    }
}
