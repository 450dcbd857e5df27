//! The handlers: the like flow, step by step. Each one identifies the user,
//! validates what the client sent, and then asks the database (`store.rs`)
//! in ONE call, so the whole change is one transaction.
//!
//! The order of the checks is part of the contract: first who is asking
//! (401), then whether the request is well formed (400), then whether the
//! post exists (404).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth;
use crate::error::ApiError;
use crate::store::{self, LikeState, PostView};

/// `POST /api/posts/{id}/like`: like the post (again is fine) and answer
/// `{"liked": true, "likes": N}`.
///
/// 1. `auth::authenticate`; 2. `parse_post_id` and `check_body`;
/// 3. `state.db.call(move |conn| store::like(conn, post, user.id))`.
///
/// See "The flow" in `docs/src/05-like.md`.
pub async fn like_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<LikeState>, ApiError> {
    todo!("authenticate, validate, store::like in one db call (docs/src/05-like.md, \"The flow\")")
}

/// `DELETE /api/posts/{id}/like`: unlike (again is fine) and answer
/// `{"liked": false, "likes": N}`.
pub async fn unlike_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<LikeState>, ApiError> {
    todo!("authenticate, validate, store::unlike in one db call (docs/src/05-like.md, \"Unlike\")")
}

/// `GET /api/posts/{id}`: the post, its like count, and whether the caller
/// likes it.
pub async fn get_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<PostView>, ApiError> {
    todo!("authenticate, validate, store::post_view (docs/src/05-like.md, \"Reading a post, and the notifications\")")
}

/// `GET /api/notifications`: `{"notifications": [...]}`, the caller's,
/// newest first.
pub async fn notifications(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    todo!("authenticate, then store::notifications (docs/src/05-like.md, \"Reading a post, and the notifications\")")
}

/// A post id is a positive whole number that fits SQLite's 64-bit integer
/// (`i64`). Anything else (`abc`, `-1`, `1.5`, `+7`, 30 digits) is the
/// client's mistake: `ApiError::bad_request`, never a 500 or a panic.
/// The id arrives as text, and a failed extraction as `Err`, so that you
/// decide what the client sees.
///
/// See "Step 2: trust no input" in `docs/src/05-like.md`.
fn parse_post_id(id: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    todo!("digits only, positive, fits in i64; else 400 (docs/src/05-like.md, \"Step 2: trust no input\")")
}

/// The like endpoints need no body. One may be sent (some clients send
/// `{}`); if it is not empty, it must be a JSON object, else 400.
///
/// See "Step 2: trust no input" in `docs/src/05-like.md`.
fn check_body(body: Result<Bytes, BytesRejection>) -> Result<(), ApiError> {
    todo!("empty, or a JSON object; else 400 (docs/src/05-like.md, \"Step 2: trust no input\")")
}
