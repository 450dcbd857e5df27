//! What the like flow asks of the database, one function per question or
//! change. Each runs on one connection (inside `Db::call`); each change is
//! one transaction, so it happens completely or not at all, and no other
//! request sees or changes the rows halfway.
//!
//! The schema is in `db.rs`. `rusqlite` in two lines:
//! `conn.query_row(sql, params![a, b], |row| row.get(0))` reads one row
//! (add `.optional()?` for "maybe none"); `conn.execute(sql, params![..])`
//! changes rows and returns how many it changed.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::error::ApiError;

/// Who is asking: the user a bearer token belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
}

/// What `POST` and `DELETE /api/posts/{id}/like` answer:
/// `{"liked": true, "likes": 3}`.
#[derive(Debug, Clone, Serialize)]
pub struct LikeState {
    pub liked: bool,
    pub likes: i64,
}

/// What `GET /api/posts/{id}` answers.
#[derive(Debug, Clone, Serialize)]
pub struct PostView {
    pub id: i64,
    pub owner: User,
    pub text: String,
    pub likes: i64,
    /// Whether the user asking likes it.
    pub liked: bool,
}

/// One entry of `GET /api/notifications`.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub post_id: i64,
    /// Who did it.
    pub from: User,
}

/// The user whose token this is, or `None` when it is nobody's.
///
/// See "Step 1: who is asking?" in `docs/src/05-like.md`.
pub fn user_by_token(conn: &Connection, token: &str) -> Result<Option<User>, ApiError> {
    todo!("SELECT the user with this token (docs/src/05-like.md, \"Step 1: who is asking?\")")
}

/// The post as `viewer` sees it: its owner, text, `like_count`, and whether
/// `viewer` has a row in `likes` for it. `ApiError::not_found` when there is
/// no such post.
///
/// See "Reading a post, and the notifications" in `docs/src/05-like.md`.
pub fn post_view(conn: &Connection, post: i64, viewer: i64) -> Result<PostView, ApiError> {
    todo!("read the post, its owner and whether viewer likes it (docs/src/05-like.md, \"Reading a post, and the notifications\")")
}

/// `user` likes `post`; answer `liked: true` and the count after the like.
///
/// - No such post: `ApiError::not_found`.
/// - Liking twice is the same as liking once: one row in `likes`, the
///   count unchanged, no second notification.
/// - A new like adds one to `posts.like_count` and, unless `user` owns the
///   post, adds a notification (`kind` = `'like'`) for the owner.
/// - All of it in ONE transaction, begun with
///   `conn.transaction_with_behavior(TransactionBehavior::Immediate)` and
///   ended with `tx.commit()`; the count you answer is read inside it.
///
/// See "Steps 3 to 5: one transaction" and "Two requests at once" in `docs/src/05-like.md`.
pub fn like(conn: &mut Connection, post: i64, user: i64) -> Result<LikeState, ApiError> {
    todo!("insert the like if absent, count it, notify the owner: one transaction (docs/src/05-like.md, \"Steps 3 to 5: one transaction\")")
}

/// `user` no longer likes `post`; answer `liked: false` and the count after.
/// Unliking what you do not like changes nothing. Nobody is notified.
/// No such post: `ApiError::not_found`. One transaction, as in [`like`].
///
/// See "Unlike" in `docs/src/05-like.md`.
pub fn unlike(conn: &mut Connection, post: i64, user: i64) -> Result<LikeState, ApiError> {
    todo!("delete the like if present and count: one transaction (docs/src/05-like.md, \"Unlike\")")
}

/// `user`'s notifications, newest first, each with the name of who liked.
///
/// See "Reading a post, and the notifications" in `docs/src/05-like.md`.
pub fn notifications(conn: &Connection, user: i64) -> Result<Vec<Notification>, ApiError> {
    todo!("SELECT the user's notifications, newest first (docs/src/05-like.md, \"Reading a post, and the notifications\")")
}
