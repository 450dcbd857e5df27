//! A random little social network for one check: users with names, ids and
//! bearer tokens, posts with owners, written as the seed file the server
//! loads into a fresh database file.

use std::collections::BTreeSet;
use std::path::PathBuf;

use harness::{Ctx, Failure};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct Post {
    pub id: i64,
    /// Index into `World::users`.
    pub owner: usize,
    pub text: String,
}

pub struct World {
    _dir: tempfile::TempDir,
    pub db_path: PathBuf,
    pub seed_path: PathBuf,
    pub users: Vec<Person>,
    /// Post `i` is owned by user `i % users.len()`.
    pub posts: Vec<Post>,
    used: BTreeSet<i64>,
}

/// Ids have six digits, so that one id never occurs inside another and a
/// transcript can replace each by a placeholder.
const IDS: std::ops::Range<i64> = 100_000..1_000_000;

impl World {
    pub fn new(cx: &mut Ctx, users: usize, posts: usize) -> Result<World, Failure> {
        let io = |e: std::io::Error| Failure::new(format!("could not prepare the test database folder: {e}"));
        let dir = tempfile::Builder::new().prefix("grade-like-").tempdir().map_err(io)?;
        let mut used = BTreeSet::new();
        let mut tokens = BTreeSet::new();
        let mut people = Vec::with_capacity(users);
        while people.len() < users {
            let token = cx.word(24);
            if !tokens.insert(token.clone()) {
                continue;
            }
            let id = fresh(cx, &mut used);
            people.push(Person { id, name: format!("{} {}", name_word(cx), name_word(cx)), token });
        }
        let posts = (0..posts)
            .map(|i| Post {
                id: fresh(cx, &mut used),
                owner: i % users,
                text: format!("{} {} {}", name_word(cx), cx.word(6), cx.word(8)),
            })
            .collect::<Vec<_>>();
        let seed = json!({
            "users": people.iter().map(|u| json!({"id": u.id, "name": u.name, "token": u.token})).collect::<Vec<_>>(),
            "posts": posts.iter().map(|p| json!({"id": p.id, "owner": people[p.owner].id, "text": p.text})).collect::<Vec<_>>(),
        });
        let seed_path = dir.path().join("seed.json");
        std::fs::write(&seed_path, serde_json::to_string_pretty(&seed).unwrap_or_default()).map_err(io)?;
        let db_path = dir.path().join("like.db");
        Ok(World { _dir: dir, db_path, seed_path, users: people, posts, used })
    }

    /// An id no user and no post has.
    pub fn unused_id(&mut self, cx: &mut Ctx) -> i64 {
        fresh(cx, &mut self.used)
    }

    /// Every random value of the world, with the placeholder a transcript
    /// shows instead: `[user1.token]`, `[post0.id]`.
    pub fn redactions(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, u) in self.users.iter().enumerate() {
            out.push((u.token.clone(), format!("[user{i}.token]")));
            out.push((u.name.clone(), format!("[user{i}.name]")));
        }
        for (i, p) in self.posts.iter().enumerate() {
            out.push((p.text.clone(), format!("[post{i}.text]")));
        }
        // Numbers last: names and texts hold no digits.
        for (i, u) in self.users.iter().enumerate() {
            out.push((u.id.to_string(), format!("[user{i}.id]")));
        }
        for (i, p) in self.posts.iter().enumerate() {
            out.push((p.id.to_string(), format!("[post{i}.id]")));
        }
        out
    }
}

fn fresh(cx: &mut Ctx, used: &mut BTreeSet<i64>) -> i64 {
    loop {
        let id = cx.rng().i64(IDS);
        if used.insert(id) {
            return id;
        }
    }
}

/// A capitalised random word, for names.
fn name_word(cx: &mut Ctx) -> String {
    let len = 4 + cx.rng().usize(..4);
    let word = cx.word(len);
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => format!("{}{}", first.to_ascii_uppercase(), chars.as_str()),
        None => word,
    }
}
