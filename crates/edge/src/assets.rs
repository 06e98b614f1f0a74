//! The web client, embedded into the binary at build time (see `build.rs`). Paths without a
//! file extension are the client's own routes and get `index.html`; anything else unknown is 404.

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::AppState;

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Shown when the binary was built before the web client was.
const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
<title>Trygg</title><h1>The web client is not built</h1>\
<p>Run <code>cargo xtask web</code> and rebuild trygg.</p></html>";

pub fn routes() -> Router<AppState> {
    Router::new().fallback(serve_asset)
}

async fn serve_asset(uri: Uri) -> Response {
    let path = uri.path();
    let wanted = if path == "/" { "/index.html" } else { path };
    if let Some(asset) = find(wanted) {
        return file(asset);
    }
    let last_segment = path.rsplit('/').next().unwrap_or_default();
    if !last_segment.contains('.') {
        return match find("/index.html") {
            Some(index) => file(index),
            None => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                NOT_BUILT,
            )
                .into_response(),
        };
    }
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Not found\n",
    )
        .into_response()
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

fn file(asset: &'static Asset) -> Response {
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            // Files keep their names across releases, so the browser must revalidate.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        asset.bytes,
    )
        .into_response()
}
