//! The data a new database starts with: users (with their bearer tokens)
//! and posts. Given: nothing here is part of the exercise.
//!
//! `SEED_PATH` names a JSON file of this shape (the grader writes one with
//! random names, ids and tokens):
//!
//! ```json
//! {
//!   "users": [{"id": 1, "name": "Ada Lovelace", "token": "ada-secret-token"}],
//!   "posts": [{"id": 10, "owner": 1, "text": "Notes on the Analytical Engine"}]
//! }
//! ```
//!
//! Ids are positive integers; every post's `owner` is a user id; tokens are
//! unique. Without `SEED_PATH` the server starts with [`Seed::demo`].

use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Seed {
    pub users: Vec<SeedUser>,
    pub posts: Vec<SeedPost>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SeedUser {
    pub id: i64,
    pub name: String,
    pub token: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SeedPost {
    pub id: i64,
    pub owner: i64,
    pub text: String,
}

impl Seed {
    /// Reads and checks a seed file.
    pub fn load(path: &Path) -> Result<Seed, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read the seed file {}: {e}", path.display()))?;
        let seed: Seed =
            serde_json::from_str(&text).map_err(|e| format!("the seed file {} is not valid: {e}", path.display()))?;
        seed.validate().map_err(|e| format!("the seed file {}: {e}", path.display()))?;
        Ok(seed)
    }

    /// Three people and their posts, to try the API by hand:
    ///
    /// ```sh
    /// curl -i -X POST -H 'Authorization: Bearer grace-token' localhost:3001/api/posts/1/like
    /// curl -i -H 'Authorization: Bearer ada-token' localhost:3001/api/notifications
    /// ```
    pub fn demo() -> Seed {
        let user = |id, name: &str, token: &str| SeedUser { id, name: name.to_string(), token: token.to_string() };
        let post = |id, owner, text: &str| SeedPost { id, owner, text: text.to_string() };
        Seed {
            users: vec![
                user(1, "Ada Lovelace", "ada-token"),
                user(2, "Grace Hopper", "grace-token"),
                user(3, "Alan Turing", "alan-token"),
            ],
            posts: vec![
                post(1, 1, "Notes on the Analytical Engine"),
                post(2, 2, "Found a moth in the relay"),
                post(3, 3, "Can machines think?"),
            ],
        }
    }

    fn validate(&self) -> Result<(), String> {
        let mut tokens = std::collections::HashSet::new();
        for u in &self.users {
            if u.id <= 0 {
                return Err(format!("user id {} is not positive", u.id));
            }
            if u.token.trim().is_empty() || !tokens.insert(u.token.as_str()) {
                return Err(format!("user {} has an empty or repeated token", u.id));
            }
        }
        for p in &self.posts {
            if p.id <= 0 {
                return Err(format!("post id {} is not positive", p.id));
            }
            if !self.users.iter().any(|u| u.id == p.owner) {
                return Err(format!("post {} is owned by user {}, who is not in the file", p.id, p.owner));
            }
        }
        Ok(())
    }
}
