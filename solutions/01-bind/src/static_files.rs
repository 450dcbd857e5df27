//! The frontend: files from the public folder, sent with the content type
//! the browser needs, and never anything outside that folder.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

use crate::app::AppState;
use crate::error::ApiError;

/// The fallback handler: `GET /` is `index.html`, `GET /a/b.css` is the file
/// `a/b.css` under the public folder; everything else is a JSON 404.
pub async fn serve(State(state): State<AppState>, method: Method, uri: Uri) -> Response {
    let file = match safe_relative_path(uri.path()) {
        Some(relative) => regular_file(&state.public_dir.join(relative)).await,
        None => None,
    };
    let Some((path, len)) = file else {
        return ApiError::not_found(uri.path()).into_response();
    };

    if method != Method::GET && method != Method::HEAD {
        return (
            [(header::ALLOW, "GET,HEAD")],
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, format!("method {method} is not allowed on {}", uri.path())),
        )
            .into_response();
    }

    let content_type = content_type_for(&path);
    // HEAD is GET without the body: same status and headers, including the
    // length the body would have had, so there is no need to read the file.
    if method == Method::HEAD {
        return file_response(content_type, len, Body::empty());
    }
    match tokio::fs::read(&path).await {
        Ok(bytes) => file_response(content_type, bytes.len() as u64, Body::from(bytes)),
        // Deleted or made unreadable since we looked: as good as not there.
        Err(_) => ApiError::not_found(uri.path()).into_response(),
    }
}

fn file_response(content_type: &'static str, len: u64, body: Body) -> Response {
    ([(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_LENGTH, len.to_string())], body)
        .into_response()
}

/// The file's path and size, if `path` is a regular file (not a folder).
async fn regular_file(path: &Path) -> Option<(PathBuf, u64)> {
    let metadata = tokio::fs::metadata(path).await.ok()?;
    metadata.is_file().then(|| (path.to_path_buf(), metadata.len()))
}

/// Turns a URL path into a path relative to the public folder, or `None`
/// when it must not be served.
///
/// Trust no input: a URL is text the client chose. `/../Cargo.toml`, or the
/// same disguised as `/%2e%2e/Cargo.toml` or `/..%2fCargo.toml`, would walk
/// out of the folder if joined onto it as is. So decode first, then accept
/// only plain names between the slashes.
pub fn safe_relative_path(url_path: &str) -> Option<PathBuf> {
    // Decoding first means `%2f` becomes a real `/` before we split on it.
    let decoded = percent_decode_str(url_path).decode_utf8().ok()?;
    let rest = decoded.strip_prefix('/').unwrap_or(&decoded);
    if rest.is_empty() {
        return Some(PathBuf::from("index.html"));
    }

    let mut relative = PathBuf::new();
    for segment in rest.split('/') {
        let forbidden = segment.is_empty() // from `//` or a trailing `/`
            || segment == "."
            || segment == ".."
            || segment.contains('\\') // a separator on Windows
            || segment.contains('\0');
        if forbidden || !is_plain_name(segment) {
            return None;
        }
        relative.push(segment);
    }
    Some(relative)
}

/// True when the standard library also sees one ordinary file name, not a
/// root, a drive prefix (`C:` on Windows) or a parent link.
fn is_plain_name(segment: &str) -> bool {
    let mut components = Path::new(segment).components();
    matches!((components.next(), components.next()), (Some(Component::Normal(_)), None))
}

/// The `Content-Type` for a file, by its extension. The browser relies on
/// it: a stylesheet sent as `text/plain` is not applied, a script sent as
/// `text/plain` is not run.
pub fn content_type_for(path: &Path) -> &'static str {
    let extension = path.extension().and_then(|ext| ext.to_str()).unwrap_or("").to_ascii_lowercase();
    match extension.as_str() {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        // Unknown: "just bytes". The browser will offer a download rather
        // than guess.
        _ => "application/octet-stream",
    }
}
