//! The fixtures: a random little social network for one check (users with
//! names, ids and bearer tokens, posts with owners), written as the seed
//! file the server loads into a fresh database file, a random list of
//! allowed origins, and the server started on them.

use std::collections::BTreeSet;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use harness::http::Client;
use harness::process::{start_http_bin, Proc, Spawn};
use harness::{Ctx, Failure};
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct Post {
    pub id: i64,
    /// Index into `Seed::users`.
    pub owner: usize,
    pub text: String,
}

/// The users and posts of a seed file: data only, so that a differential
/// check can give the same network to both servers.
#[derive(Debug, Clone)]
pub struct Seed {
    pub users: Vec<Person>,
    pub posts: Vec<Post>,
    used: BTreeSet<i64>,
}

/// Ids have six digits, so that one id never occurs inside another and a
/// transcript can replace each by a placeholder.
const IDS: std::ops::Range<i64> = 100_000..1_000_000;

/// What tokens are made of besides letters (RFC 6750 allows them all):
/// `_`, the SQL `LIKE` pattern for any one character, among them, so that
/// a server comparing tokens with `LIKE` meets one.
const TOKEN_MARKS: &[char] = &['_', '-', '.', '~'];

impl Seed {
    /// `users` people and `posts` posts; post `i` is owned by user
    /// `i % users`.
    pub fn new(cx: &mut Ctx, users: usize, posts: usize) -> Seed {
        Self::with_owners(cx, users, (0..posts).map(|i| i % users.max(1)).collect())
    }

    pub fn with_owners(cx: &mut Ctx, users: usize, owners: Vec<usize>) -> Seed {
        let mut used = BTreeSet::new();
        let mut tokens = BTreeSet::new();
        let mut people = Vec::with_capacity(users);
        while people.len() < users {
            // The first user's token holds `_`, every other one's a mark.
            let mark = match people.len() {
                0 => Some('_'),
                n if n % 2 == 0 => Some(TOKEN_MARKS[cx.rng().usize(..TOKEN_MARKS.len())]),
                _ => None,
            };
            let token = token(cx, mark);
            // Tokens differ even without regard to case, so that a token
            // in another case is nobody's.
            if !tokens.insert(token.to_ascii_lowercase()) {
                continue;
            }
            let id = fresh(cx, &mut used);
            people.push(Person { id, name: format!("{} {}", name_word(cx), name_word(cx)), token });
        }
        let posts = owners
            .into_iter()
            .map(|owner| Post {
                id: fresh(cx, &mut used),
                owner,
                text: format!("{} {} {}", name_word(cx), cx.word(6), cx.word(8)),
            })
            .collect();
        Seed { users: people, posts, used }
    }

    /// An id no user and no post has.
    pub fn unused_id(&mut self, cx: &mut Ctx) -> i64 {
        fresh(cx, &mut self.used)
    }

    /// The seed file's contents.
    pub fn json(&self) -> Value {
        json!({
            "users": self.users.iter().map(|u| json!({"id": u.id, "name": u.name, "token": u.token})).collect::<Vec<_>>(),
            "posts": self.posts.iter().map(|p| json!({"id": p.id, "owner": self.users[p.owner].id, "text": p.text})).collect::<Vec<_>>(),
        })
    }
}

/// A seed written to a folder of its own, with the path of a database file
/// that does not exist yet.
pub struct World {
    _dir: tempfile::TempDir,
    pub db_path: PathBuf,
    pub seed_path: PathBuf,
    seed: Seed,
    /// `ALLOWED_ORIGINS`: the first is the one the checks' pages come from.
    pub origins: Vec<String>,
    /// Extra environment (`LIVE_PING_MS`, `LIVE_QUEUE`) for this check.
    pub env: Vec<(String, String)>,
}

impl Deref for World {
    type Target = Seed;
    fn deref(&self) -> &Seed {
        &self.seed
    }
}

impl World {
    /// A random network of `users` and `posts` (see [`Seed::new`]).
    pub fn new(cx: &mut Ctx, users: usize, posts: usize) -> Result<World, Failure> {
        let seed = Seed::new(cx, users, posts);
        World::from_seed(cx, seed)
    }

    pub fn from_seed(cx: &mut Ctx, seed: Seed) -> Result<World, Failure> {
        let origins = vec![
            format!("http://localhost:{}", 3000 + cx.rng().u16(..5000)),
            format!("https://{}.example", cx.word(8)),
        ];
        World::with_origins(seed, origins)
    }

    /// A world whose `ALLOWED_ORIGINS` are `origins` (the first is the
    /// checks' pages' origin).
    pub fn with_origins(seed: Seed, origins: Vec<String>) -> Result<World, Failure> {
        let io = |e: std::io::Error| Failure::new(format!("could not prepare the test database folder: {e}"));
        // In memory where the system offers it: creating a database file
        // on disk is most of what starting a server costs.
        let builder = tempfile::Builder::new().prefix("grade-live-").clone();
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() { builder.tempdir_in(shm).or_else(|_| builder.tempdir()) } else { builder.tempdir() }
            .map_err(io)?;
        let seed_path = dir.path().join("seed.json");
        std::fs::write(&seed_path, serde_json::to_string_pretty(&seed.json()).unwrap_or_default()).map_err(io)?;
        let db_path = dir.path().join("live.db");
        Ok(World { _dir: dir, db_path, seed_path, seed, origins, env: Vec::new() })
    }

    /// The origin the checks' pages come from: allowed.
    pub fn origin(&self) -> &str {
        &self.origins[0]
    }

    /// Set one more environment variable for the servers of this world.
    pub fn with_env(mut self, key: &str, value: impl Into<String>) -> World {
        self.env.push((key.to_string(), value.into()));
        self
    }

    /// `ALLOWED_ORIGINS` as the server gets it.
    pub fn origins_env(&self) -> String {
        self.origins.join(",")
    }

    /// An id no user and no post has.
    pub fn unused_id(&mut self, cx: &mut Ctx) -> i64 {
        self.seed.unused_id(cx)
    }

    /// Start the student's server on a free port, on this world's database
    /// file and seed file.
    pub async fn start(&self, cx: &Ctx) -> Result<(Proc, Client), Failure> {
        self.start_bin(cx, cx.subject()).await
    }

    /// Start `bin` (yours or the reference) the same way.
    pub async fn start_bin(&self, cx: &Ctx, bin: &Path) -> Result<(Proc, Client), Failure> {
        let mut spec = Spawn::default()
            .env("DATABASE_PATH", self.db_path.to_string_lossy())
            .env("SEED_PATH", self.seed_path.to_string_lossy())
            .env("ALLOWED_ORIGINS", self.origins_env());
        for (k, v) in &self.env {
            spec = spec.env(k, v.clone());
        }
        start_http_bin(cx, bin, spec).await
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

/// A bearer token: letters of both cases, and `mark` somewhere inside.
fn token(cx: &mut Ctx, mark: Option<char>) -> String {
    let len = 20 + cx.rng().usize(..9);
    let mut chars: Vec<char> =
        (0..len).map(|_| if cx.rng().bool() { cx.rng().lowercase() } else { cx.rng().uppercase() }).collect();
    if let Some(mark) = mark {
        // Never first or last: trimming cannot change it.
        let at = 1 + cx.rng().usize(..len - 2);
        chars[at] = mark;
    }
    chars.into_iter().collect()
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
