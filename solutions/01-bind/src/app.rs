//! The shared state and the route table: which handler answers which
//! method and path.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{Method, StatusCode, Uri};
use axum::routing::get;
use axum::Router;

use crate::api::{self, UserStore};
use crate::error::ApiError;
use crate::static_files;

/// What every handler can reach. Cloned once per request, so it holds
/// `Arc`s: every clone points at the same users and the same folder.
#[derive(Clone)]
pub struct AppState {
    users: Arc<Mutex<UserStore>>,
    pub public_dir: Arc<PathBuf>,
}

impl AppState {
    pub fn new(public_dir: PathBuf) -> AppState {
        AppState { users: Arc::new(Mutex::new(UserStore::seeded())), public_dir: Arc::new(public_dir) }
    }

    /// Locks the user store. Requests run in parallel, so the one store
    /// they share sits behind a mutex; hold the guard briefly and never
    /// across an `.await`.
    pub fn users(&self) -> MutexGuard<'_, UserStore> {
        // A poisoned lock means a handler panicked while holding it; the
        // store is still consistent (every change is a single insert), so
        // keep serving instead of turning every later request into a panic.
        self.users.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The route table. Anything without a route of its own falls through to
/// the static files, which answer 404 for what is not there.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(api::health))
        .route("/users", get(api::list_users).post(api::create_user))
        .route("/users/{id}", get(api::get_user))
        .fallback(static_files::serve)
        // A known path with the wrong method: 405, as JSON like every error.
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// 405 for a known path asked with a method it does not support.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, format!("method {method} is not allowed on {}", uri.path()))
}
