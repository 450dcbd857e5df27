//! The handlers: the like flow, step by step. Each one identifies the user,
//! validates what the client sent, and then asks the database (`store.rs`)
//! in ONE call, so the whole change is one transaction.

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
pub async fn like_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<LikeState>, ApiError> {
    // 1. Who is asking? Nothing happens for a request from nobody.
    let user = auth::authenticate(&state.db, &headers).await?;
    // 2. Is the request well formed? Trust no input.
    let post = parse_post_id(id)?;
    check_body(body)?;
    // 3-5. Save the like, find the owner, notify them, count: one call,
    // one transaction.
    let hub = state.hub.clone();
    let liked = state.db.call(move |conn| store::like(conn, post, user.id, &hub)).await?;
    // 6. The new count, for the heart's number.
    Ok(Json(liked))
}

/// `DELETE /api/posts/{id}/like`: unlike (again is fine) and answer
/// `{"liked": false, "likes": N}`.
pub async fn unlike_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<LikeState>, ApiError> {
    let user = auth::authenticate(&state.db, &headers).await?;
    let post = parse_post_id(id)?;
    check_body(body)?;
    let unliked = state.db.call(move |conn| store::unlike(conn, post, user.id)).await?;
    Ok(Json(unliked))
}

/// `GET /api/posts/{id}`: the post, its like count, and whether the caller
/// likes it.
pub async fn get_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<PostView>, ApiError> {
    let user = auth::authenticate(&state.db, &headers).await?;
    let post = parse_post_id(id)?;
    let view = state.db.call(move |conn| store::post_view(conn, post, user.id)).await?;
    Ok(Json(view))
}

/// `GET /api/notifications`: `{"notifications": [...]}`, the caller's,
/// newest first.
pub async fn notifications(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let user = auth::authenticate(&state.db, &headers).await?;
    let list = state.db.call(move |conn| store::notifications(conn, user.id)).await?;
    Ok(Json(json!({ "notifications": list })))
}

/// A post id is a positive whole number that fits SQLite's 64-bit integer.
/// Anything else (`abc`, `-1`, `1.5`, `+7`, 30 digits) is the client's
/// mistake: 400, never a 500 or a panic.
fn parse_post_id(id: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Path(raw) = id.map_err(|_| ApiError::bad_request("the post id is not valid"))?;
    let digits = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
    match raw.parse::<i64>() {
        Ok(id) if digits && id > 0 => Ok(id),
        _ => Err(ApiError::bad_request(format!("a post id is a positive whole number, got {raw:?}"))),
    }
}

/// The like endpoints need no body. One may be sent (some clients send
/// `{}`); if it is, it must be a JSON object.
fn check_body(body: Result<Bytes, BytesRejection>) -> Result<(), ApiError> {
    let body = body.map_err(|e| ApiError::bad_request(format!("could not read the body: {e}")))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(_)) => Ok(()),
        Ok(_) => Err(ApiError::bad_request("the body, if any, must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("the body is not valid JSON: {e}"))),
    }
}
