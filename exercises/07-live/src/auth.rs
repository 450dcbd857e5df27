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

/// The user whose bearer token the request carries; 401 when there is no
/// token, it is not a bearer token, or it belongs to nobody.
pub async fn authenticate(db: &Db, headers: &HeaderMap) -> Result<User, ApiError> {
    let token = bearer_token(headers)?.to_string();
    let user = db.call(move |conn| store::user_by_token(conn, &token)).await?;
    user.ok_or_else(|| ApiError::invalid_token("the bearer token does not belong to any user"))
}

/// The token of `Authorization: Bearer <token>`. The scheme's case does not
/// matter (`bearer` is fine); the token is taken as it is.
fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(ApiError::unauthorized("this needs a user: send `Authorization: Bearer <token>`"));
    };
    let value = value.to_str().map_err(|_| ApiError::unauthorized("the Authorization header is not readable text"))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::unauthorized(format!("the Authorization scheme must be Bearer, got {scheme:?}")));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::unauthorized("the bearer token is empty"));
    }
    Ok(token)
}
