//! The frontend: files from the public folder, sent with the content type
//! the browser needs, and never anything outside that folder.

use std::path::{Path, PathBuf};

use axum::extract::State;
use axum::http::{Method, Uri};
use axum::response::Response;

use crate::app::AppState;

/// The fallback handler, for every path without a route of its own.
///
/// - `GET /` answers with `index.html`; `GET /a/b.css` with the file
///   `a/b.css` under `state.public_dir`, if it is a regular file (folders
///   are not served).
/// - Status 200, `Content-Type` from [`content_type_for`], `Content-Length`
///   the file's size.
/// - `HEAD`: the same status and headers, with an empty body.
/// - Another method on an existing file: 405 (JSON error) with the header
///   `Allow: GET,HEAD`.
/// - Anything else, including a path the file system cannot open: 404
///   with `{"error":"not found: <path>"}` (`ApiError::not_found`).
/// - The query (`?v=2`) is not part of the path: use `uri.path()`.
///
/// See "Serving the frontend" in `docs/src/01-bind.md`.
pub async fn serve(State(state): State<AppState>, method: Method, uri: Uri) -> Response {
    todo!("serve the file under the public folder, or a JSON 404 (docs/src/01-bind.md, \"Serving the frontend\")")
}

/// Turns a URL path such as `/css/site.css` into a path relative to the
/// public folder (`css/site.css`), or `None` when it must not be served.
///
/// Percent-decode first (`percent_encoding::percent_decode_str`): `%2e%2e`
/// is `..` and `%2f` is `/`. Then refuse invalid UTF-8, and any segment that
/// is `..`, `.` or empty (from `//`), or contains `\` or a NUL byte. `/` is
/// `index.html`.
///
/// See "Never outside the folder" in `docs/src/01-bind.md`.
pub fn safe_relative_path(url_path: &str) -> Option<PathBuf> {
    todo!("decode the URL path and refuse anything that could leave the folder (docs/src/01-bind.md, \"Never outside the folder\")")
}

/// The `Content-Type` for a file, by its extension: see the table in
/// "Serving the frontend", `docs/src/01-bind.md`. The extension is what
/// follows the last dot, in any case (`STYLE.CSS` is a stylesheet). Unknown
/// extensions are `application/octet-stream`.
pub fn content_type_for(path: &Path) -> &'static str {
    todo!("map the file's extension to a content type (docs/src/01-bind.md, \"Serving the frontend\")")
}
