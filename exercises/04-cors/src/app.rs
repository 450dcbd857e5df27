//! The route table and the CORS policy this API runs with.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderName, Method};
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;

use crate::api::{self, AppState};
use crate::config::Config;
use crate::cors::{self, Cors, CorsBuilder};

/// The policy: exactly the configured origins, with credentials (the
/// `session` cookie), the methods and headers the routes need, and the
/// response headers the frontend reads.
pub fn policy(config: &Config) -> Cors {
    let allowed_headers =
        [header::AUTHORIZATION, header::CONTENT_TYPE].into_iter().chain(config.allowed_headers.iter().cloned());
    let exposed_headers =
        [HeaderName::from_static("x-request-id")].into_iter().chain(config.exposed_headers.iter().cloned());
    CorsBuilder::new()
        .allow_origins(config.allowed_origins.iter().cloned())
        .allow_credentials()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(allowed_headers)
        .expose_headers(exposed_headers)
        .max_age(Duration::from_secs(600))
        .build()
}

pub fn router(config: &Config) -> Router {
    let state = AppState::new(config.api_token.clone());
    let routes = Router::new()
        .route("/api/public", get(api::public))
        .route("/api/notes", post(api::create_note))
        .route("/api/me", get(api::me))
        .fallback(api::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), api::request_id))
        .with_state(state);
    // The CORS layer wraps the whole route table, not each route: it sees
    // every request first, so it answers a preflight before any routing.
    Router::new().fallback_service(routes).layer(middleware::from_fn_with_state(Arc::new(policy(config)), cors::layer))
}
