//! The shared state and the route table. Given: the routes are the API's
//! contract, the handlers they name are yours (`api.rs`).

use axum::http::{Method, StatusCode, Uri};
use axum::routing::{get, post};
use axum::Router;

use crate::api;
use crate::db::Db;
use crate::error::ApiError;

/// What every handler can reach: the database. Cloned once per request
/// (a `Db` is a shared handle, so every clone is the same database).
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/posts/{id}", get(api::get_post))
        .route("/api/posts/{id}/like", post(api::like_post).delete(api::unlike_post))
        .route("/api/notifications", get(api::notifications))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// 404 for a path no route matches, as JSON like every error.
async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

/// 405 for a known path asked with a method it does not support.
async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, format!("method {method} is not allowed on {}", uri.path()))
}
