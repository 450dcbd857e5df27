//! What the like flow asks of the database, one function per question or
//! change. Each runs on one connection (inside `Db::call`); each change is
//! one transaction, so it happens completely or not at all, and no other
//! request sees or changes the rows halfway.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::error::ApiError;
use crate::live::Hub;

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

/// One entry of `GET /api/notifications`, and what the live socket pushes:
/// `{"id": 7, "type": "like", "post_id": 10, "from": {"id": 2, "name": "Grace Hopper"}}`.
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
pub fn user_by_token(conn: &Connection, token: &str) -> Result<Option<User>, ApiError> {
    let user = conn
        .query_row("SELECT id, name FROM users WHERE token = ?1", [token], |row| {
            Ok(User { id: row.get(0)?, name: row.get(1)? })
        })
        .optional()?;
    Ok(user)
}

/// The post as `viewer` sees it; 404 when there is no such post.
pub fn post_view(conn: &Connection, post: i64, viewer: i64) -> Result<PostView, ApiError> {
    let view = conn
        .query_row(
            "SELECT p.id, p.text, p.like_count, u.id, u.name,
                    EXISTS (SELECT 1 FROM likes l WHERE l.post_id = p.id AND l.user_id = ?2)
             FROM posts p JOIN users u ON u.id = p.owner_id
             WHERE p.id = ?1",
            params![post, viewer],
            |row| {
                Ok(PostView {
                    id: row.get(0)?,
                    text: row.get(1)?,
                    likes: row.get(2)?,
                    owner: User { id: row.get(3)?, name: row.get(4)? },
                    liked: row.get(5)?,
                })
            },
        )
        .optional()?;
    view.ok_or_else(|| no_such_post(post))
}

/// `user` likes `post`. Liking twice is the same as liking once. The owner
/// is notified when the like is new, unless they liked their own post: the
/// notification is stored, and pushed to the owner's open sockets by
/// [`Hub::commit_and_publish`], which commits.
pub fn like(conn: &mut Connection, post: i64, user: i64, hub: &Hub) -> Result<LikeState, ApiError> {
    // IMMEDIATE takes the database's write lock now, before the first read:
    // from here to commit, no other connection can write, so what we read
    // stays true until we are done.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let owner = post_owner(&tx, post)?;

    // Insert-if-absent: the primary key (post_id, user_id) makes a second
    // row impossible, and `changes` tells us whether this one was new.
    let added =
        tx.execute("INSERT INTO likes (post_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING", params![post, user])?;
    if added == 1 {
        // Relative to what the row holds, in the same transaction as the
        // insert: never `SET like_count = <a number we read earlier>`.
        tx.execute("UPDATE posts SET like_count = like_count + 1 WHERE id = ?1", [post])?;
    }
    let note = if added == 1 && owner != user {
        tx.execute(
            "INSERT INTO notifications (user_id, kind, post_id, actor_id) VALUES (?1, 'like', ?2, ?3)",
            params![owner, post, user],
        )?;
        Some(notification(&tx, tx.last_insert_rowid())?)
    } else {
        None
    };

    let likes = like_count(&tx, post)?;
    match note {
        Some(note) => hub.commit_and_publish(tx, owner, note)?,
        None => tx.commit()?,
    }
    Ok(LikeState { liked: true, likes })
}

/// `user` no longer likes `post`. Unliking what you do not like changes
/// nothing. Nobody is notified.
pub fn unlike(conn: &mut Connection, post: i64, user: i64) -> Result<LikeState, ApiError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !post_exists(&tx, post)? {
        return Err(no_such_post(post));
    }
    let removed = tx.execute("DELETE FROM likes WHERE post_id = ?1 AND user_id = ?2", params![post, user])?;
    if removed == 1 {
        tx.execute("UPDATE posts SET like_count = like_count - 1 WHERE id = ?1", [post])?;
    }
    let likes = like_count(&tx, post)?;
    tx.commit()?;
    Ok(LikeState { liked: false, likes })
}

/// `user`'s notifications, newest first.
pub fn notifications(conn: &Connection, user: i64) -> Result<Vec<Notification>, ApiError> {
    let mut statement = conn.prepare(
        "SELECT n.id, n.kind, n.post_id, a.id, a.name
         FROM notifications n JOIN users a ON a.id = n.actor_id
         WHERE n.user_id = ?1
         ORDER BY n.id DESC",
    )?;
    let rows = statement.query_map([user], read_notification)?;
    let list = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(list)
}

/// `user`'s notifications with an id above `after`, OLDEST first: what a
/// socket that reconnects with `?after=ID` missed.
pub fn notifications_after(conn: &Connection, user: i64, after: i64) -> Result<Vec<Notification>, ApiError> {
    let mut statement = conn.prepare(
        "SELECT n.id, n.kind, n.post_id, a.id, a.name
         FROM notifications n JOIN users a ON a.id = n.actor_id
         WHERE n.user_id = ?1 AND n.id > ?2
         ORDER BY n.id ASC",
    )?;
    let rows = statement.query_map(params![user, after], read_notification)?;
    let list = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(list)
}

/// The notification with this id.
fn notification(conn: &Connection, id: i64) -> Result<Notification, ApiError> {
    let note = conn.query_row(
        "SELECT n.id, n.kind, n.post_id, a.id, a.name
         FROM notifications n JOIN users a ON a.id = n.actor_id
         WHERE n.id = ?1",
        [id],
        read_notification,
    )?;
    Ok(note)
}

fn read_notification(row: &rusqlite::Row<'_>) -> rusqlite::Result<Notification> {
    Ok(Notification {
        id: row.get(0)?,
        kind: row.get(1)?,
        post_id: row.get(2)?,
        from: User { id: row.get(3)?, name: row.get(4)? },
    })
}

/// The owner of `post`; 404 when there is no such post.
fn post_owner(conn: &Connection, post: i64) -> Result<i64, ApiError> {
    let owner = conn.query_row("SELECT owner_id FROM posts WHERE id = ?1", [post], |row| row.get(0)).optional()?;
    owner.ok_or_else(|| no_such_post(post))
}

fn post_exists(conn: &Connection, post: i64) -> Result<bool, ApiError> {
    let found = conn.query_row("SELECT 1 FROM posts WHERE id = ?1", [post], |_| Ok(())).optional()?;
    Ok(found.is_some())
}

fn like_count(conn: &Connection, post: i64) -> Result<i64, ApiError> {
    let count = conn.query_row("SELECT like_count FROM posts WHERE id = ?1", [post], |row| row.get(0))?;
    Ok(count)
}

fn no_such_post(post: i64) -> ApiError {
    ApiError::not_found(format!("no post with id {post}"))
}
