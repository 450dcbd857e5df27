//! The JSON API: a health check and a small users resource, kept in memory.

use std::collections::BTreeMap;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::ApiError;

/// The longest name `POST /users` accepts, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A user as the API shows it: `{"id": 1, "name": "Ada Lovelace"}`.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: u64,
    pub name: String,
}

/// The users, in memory: they live as long as the process does.
/// A `BTreeMap` keeps them sorted by id, which is the order `GET /users`
/// promises.
#[derive(Debug)]
pub struct UserStore {
    users: BTreeMap<u64, User>,
    next_id: u64,
}

impl UserStore {
    /// The store a fresh server starts with.
    pub fn seeded() -> UserStore {
        let mut store = UserStore { users: BTreeMap::new(), next_id: 1 };
        store.insert("Ada Lovelace".to_string());
        store.insert("Grace Hopper".to_string());
        store
    }

    /// Every user, in id order.
    pub fn list(&self) -> Vec<User> {
        self.users.values().cloned().collect()
    }

    /// One user, if the id exists.
    pub fn get(&self, id: u64) -> Option<User> {
        self.users.get(&id).cloned()
    }

    /// Stores a new user under the next free id and returns it.
    pub fn insert(&mut self, name: String) -> User {
        let user = User { id: self.next_id, name };
        self.next_id += 1;
        self.users.insert(user.id, user.clone());
        user
    }
}

/// `GET /health`: proof that the process is up and answering.
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /users`: all users, in id order.
pub async fn list_users(State(state): State<AppState>) -> Json<Vec<User>> {
    Json(state.users().list())
}

/// `GET /users/{id}`: one user, 400 for an id that is not a number, 404
/// for a number no user has.
pub async fn get_user(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<User>, ApiError> {
    // Taking the id as text (instead of `Path<u64>`) lets us word the 400
    // ourselves; axum's own rejection would be plain text.
    let Path(raw) = id.map_err(|_| ApiError::bad_request("the user id is not valid"))?;
    let id = parse_id(&raw).ok_or_else(|| ApiError::bad_request(format!("user id must be a number, got {raw:?}")))?;
    let user = state.users().get(id);
    user.map(Json).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no user with id {id}")))
}

/// Digits only: `u64::from_str` would also accept a leading `+`.
fn parse_id(raw: &str) -> Option<u64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// `POST /users` with `{"name": "..."}`: 201 with the new user and a
/// `Location` header naming its URL.
pub async fn create_user(
    State(state): State<AppState>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    // Trust no input. Axum's `Json` extractor answers bad bodies itself,
    // with 415 or 422 and a plain-text message; this API promises 400 and
    // a JSON error for every bad body, so we take the rejection and word
    // it ourselves.
    let Json(body) = payload.map_err(describe_rejection)?;

    // Looking at the JSON value ourselves (rather than deriving
    // `Deserialize` for a struct) also refuses `["Ada"]`, which serde would
    // happily read as a struct with one field.
    let name = match body.get("name") {
        Some(Value::String(name)) => name.trim(),
        Some(_) => return Err(ApiError::bad_request("name must be a string")),
        None => return Err(ApiError::bad_request("the body must be a JSON object like {\"name\": \"...\"}")),
    };
    if name.is_empty() {
        return Err(ApiError::bad_request("name must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::bad_request(format!("name must be at most {MAX_NAME_CHARS} characters")));
    }

    let user = state.users().insert(name.to_string());
    let location = format!("/users/{}", user.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(user)).into_response())
}

/// Every way a body can fail to be `{"name": "..."}`, as a 400.
fn describe_rejection(rejection: JsonRejection) -> ApiError {
    let message = match &rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "the body must be JSON, sent with `Content-Type: application/json`".to_string()
        }
        JsonRejection::JsonSyntaxError(_) => {
            format!("the body is not valid JSON: {}", rejection.body_text())
        }
        _ => format!("could not read the body: {}", rejection.body_text()),
    };
    ApiError::bad_request(message)
}
