//! The routes a frontend calls. Nothing here knows about CORS: the layer in
//! `cors.rs` wraps all of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub api_token: Arc<String>,
    notes: Arc<Mutex<Vec<String>>>,
    requests: Arc<AtomicU64>,
}

impl AppState {
    pub fn new(api_token: String) -> AppState {
        AppState { api_token: Arc::new(api_token), notes: Arc::default(), requests: Arc::default() }
    }
}

/// `GET /api/public`: data anyone may read. From a page on another origin
/// this is a "simple" request: the browser sends it without asking first.
pub async fn public() -> Json<Value> {
    Json(json!({ "message": "hello from the API", "public": true }))
}

/// `POST /api/notes` with `Authorization: Bearer TOKEN` and a JSON body
/// `{"text": "..."}`. Both the header and the JSON content type make the
/// browser send a preflight first.
pub async fn create_note(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let token =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if token != Some(state.api_token.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "send Authorization: Bearer <API_TOKEN>");
    }
    let text = match body {
        Ok(Json(v)) => v.get("text").and_then(Value::as_str).map(str::to_string),
        Err(_) => None,
    };
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "send a JSON body {\"text\": \"...\"}");
    };
    let id = {
        let mut notes = state.notes.lock().unwrap_or_else(|p| p.into_inner());
        notes.push(text.clone());
        notes.len()
    };
    (StatusCode::CREATED, Json(json!({ "id": id, "text": text }))).into_response()
}

/// `GET /api/me`: who the `session` cookie says you are. A page on another
/// origin only sends its cookies with `credentials: "include"`.
pub async fn me(headers: HeaderMap) -> Response {
    let session = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("session="))
        .filter(|s| !s.is_empty());
    match session {
        Some(user) => Json(json!({ "user": user })).into_response(),
        None => error(StatusCode::UNAUTHORIZED, "not signed in: no session cookie"),
    }
}

/// Anything without a route.
pub async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such route")
}

/// Every answer carries `X-Request-Id`, a header the frontend may read only
/// if the API exposes it.
pub async fn request_id(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let n = state.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let mut response = next.run(request).await;
    response.headers_mut().insert("x-request-id", HeaderValue::from(n));
    response
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
