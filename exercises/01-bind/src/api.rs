//! The JSON API: a health check and a small users resource, kept in memory.

use std::collections::BTreeMap;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use serde::Serialize;
use serde_json::Value;

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
    /// The store a fresh server starts with: Ada Lovelace (1) and Grace
    /// Hopper (2); the next new user gets id 3.
    pub fn seeded() -> UserStore {
        let seed = [(1, "Ada Lovelace"), (2, "Grace Hopper")];
        let users = seed
            .into_iter()
            .map(|(id, name)| {
                let user = User { id, name: name.to_string() };
                (id, user)
            })
            .collect();
        UserStore { users, next_id: 3 }
    }

    /// Every user, in id order.
    pub fn list(&self) -> Vec<User> {
        todo!("return every user, in id order (docs/src/01-bind.md, \"The JSON API\")")
    }

    /// One user, if the id exists.
    pub fn get(&self, id: u64) -> Option<User> {
        todo!("look the user up by id (docs/src/01-bind.md, \"The JSON API\")")
    }

    /// Stores a new user under the next free id and returns it.
    pub fn insert(&mut self, name: String) -> User {
        todo!("store a user with id next_id, then move next_id on (docs/src/01-bind.md, \"The JSON API\")")
    }
}

/// `GET /health`: 200 with `{"status":"ok"}`.
pub async fn health() -> Json<Value> {
    todo!("answer {{\"status\":\"ok\"}} (docs/src/01-bind.md, \"The JSON API\")")
}

/// `GET /users`: 200 with every user as a JSON array, in id order.
/// `state.users()` locks the store.
pub async fn list_users(State(state): State<AppState>) -> Json<Vec<User>> {
    todo!("answer with the list of users (docs/src/01-bind.md, \"The JSON API\")")
}

/// `GET /users/{id}`: 200 with the user; 404 (JSON error) when no user has
/// that id; 400 (JSON error) when the id is not a number.
///
/// The id arrives as text, and a failed extraction as `Err`, so that you
/// decide what the client sees: axum's own rejections are plain text.
pub async fn get_user(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<User>, ApiError> {
    todo!("parse the id and look the user up (docs/src/01-bind.md, \"The JSON API\")")
}

/// `POST /users` with `{"name": "..."}`: 201, the new user as the body, and
/// `Location: /users/{id}`.
///
/// The name is trimmed; empty or longer than [`MAX_NAME_CHARS`] characters
/// is a 400. So is every other bad body: not JSON, no
/// `Content-Type: application/json`, no `name`, a `name` that is not a
/// string. Axum's `Json` extractor would answer some of those with 415 or
/// 422 in plain text; here its rejection arrives as `Err` for you to turn
/// into an [`ApiError`].
pub async fn create_user(
    State(state): State<AppState>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    todo!("validate the body, store the user, answer 201 with Location (docs/src/01-bind.md, \"The JSON API\")")
}
