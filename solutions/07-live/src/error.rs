//! The API's one error shape: a status code and `{"error": "..."}`.
//! Given: you use it, you need not change it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error answer, turned into a JSON response by [`IntoResponse`].
/// Handlers return `Result<_, ApiError>` and use `?`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The `WWW-Authenticate` header of a 401, if any.
    pub challenge: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), challenge: None }
    }

    /// 400: the request itself is wrong; sending it again will not help.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: we do not know who is asking. The `WWW-Authenticate: Bearer`
    /// header tells the client which kind of credentials to send.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError { challenge: Some("Bearer"), ..ApiError::new(StatusCode::UNAUTHORIZED, message) }
    }

    /// 401 for a token that was sent but belongs to nobody (RFC 6750 names
    /// this case `invalid_token`).
    pub fn invalid_token(message: impl Into<String>) -> ApiError {
        ApiError {
            challenge: Some("Bearer error=\"invalid_token\""),
            ..ApiError::new(StatusCode::UNAUTHORIZED, message)
        }
    }

    /// 404: there is nothing with that name or id.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 500: our fault, not the client's. The details go to the server's
    /// log (stderr), never to the client.
    pub fn internal(details: impl std::fmt::Display) -> ApiError {
        eprintln!("error: {details}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
    }
}

/// `?` on a database call turns its error into a 500.
impl From<rusqlite::Error> for ApiError {
    fn from(err: rusqlite::Error) -> ApiError {
        ApiError::internal(format!("database: {err}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "error": self.message }))).into_response();
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}
