//! The API's one error shape: a status code and `{"error": "..."}`.
//!
//! A client (the frontend's JavaScript, curl, another service) can handle
//! every failure the same way: read the status, show the message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error answer: turned into a JSON response by [`IntoResponse`].
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
    fn into_response(self) -> Response {
        // `Json` serialises the body and sets `Content-Type: application/json`.
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}
