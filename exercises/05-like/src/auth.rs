//! Who is asking: the user behind the bearer token.
//!
//! The browser sends `Authorization: Bearer <token>` with every request; the
//! token is the only thing that says who the request is from. Anything else
//! the client sends about itself (a user id in the body or the URL) is a
//! claim anyone can make.

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;

use crate::db::Db;
use crate::error::ApiError;
use crate::store::{self, User};

/// The user whose bearer token the request carries.
///
/// - No `Authorization` header, a scheme other than `Bearer` (the scheme's
///   case does not matter), or an empty token: `ApiError::unauthorized`.
/// - A token that belongs to nobody: `ApiError::invalid_token`.
///
/// Both are 401 with `WWW-Authenticate`. Look the token up with
/// `db.call(move |conn| store::user_by_token(conn, &token))`; the closure
/// must own what it uses, so turn the token into a `String` first.
///
/// See "Step 1: who is asking?" in `docs/src/05-like.md`.
pub async fn authenticate(db: &Db, headers: &HeaderMap) -> Result<User, ApiError> {
    todo!("read the bearer token and find its user (docs/src/05-like.md, \"Step 1: who is asking?\")")
}
