//! The shared state and the route table. Given: the routes are the API's
//! contract, the handlers they name are yours (`api.rs`).

use axum::http::{Method, StatusCode, Uri};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

use crate::api;
use crate::db::Db;
use crate::error::ApiError;
use crate::live::{self, Hub, Settings};

/// What every handler can reach: the database, the hub of open sockets and
/// the live settings. Cloned once per request (each is a shared handle).
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub hub: Arc<Hub>,
    pub settings: Arc<Settings>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/posts/{id}", get(api::get_post))
        .route("/api/posts/{id}/like", post(api::like_post).delete(api::unlike_post))
        .route("/api/notifications", get(api::notifications))
        .route("/api/live", get(live::connect))
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
