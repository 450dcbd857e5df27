//! The API's one error shape: a status code and `{"error": "..."}`.
//!
//! A client (the frontend's JavaScript, curl, another service) can handle
//! every failure the same way: read the status, show the message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answer: turned into a JSON response by [`IntoResponse`].
/// Handlers return `Result<_, ApiError>` and use `?`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into() }
    }

    /// 400: the request itself is wrong; sending it again will not help.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 for a path nothing answers to.
    pub fn not_found(path: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("not found: {path}"))
    }
}

impl IntoResponse for ApiError {
    /// The response: `self.status` with the JSON body
    /// `{"error": self.message}` and `Content-Type: application/json`.
    ///
    /// Hint: `(status, axum::Json(serde_json::json!({...}))).into_response()`.
    /// See "Errors are JSON too" in `docs/src/01-bind.md`.
    fn into_response(self) -> Response {
        todo!("answer with self.status and the body {{\"error\": self.message}} (docs/src/01-bind.md, \"Errors are JSON too\")")
    }
}
