//! Building blocks of random sequences: legitimate calls by the network's
//! users (owners included), and the odd ones: forged or malformed
//! `Authorization` headers, malformed ids, ids no post has, bodies that are
//! not JSON objects (with and without a JSON content type). Each stage
//! mixes them in its own proportions.

use std::sync::Arc;

use harness::differential::Differential;
use harness::{CheckResult, Ctx};

use crate::api::bearer;
use crate::sequence::{play, Call, Sequence, Step};
use crate::world::Seed;

/// What a call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Like,
    Unlike,
    Read,
    Notes,
}

impl Route {
    fn method(self) -> &'static str {
        match self {
            Route::Like => "POST",
            Route::Unlike => "DELETE",
            Route::Read | Route::Notes => "GET",
        }
    }

    fn path(self, id: &str) -> String {
        match self {
            Route::Like | Route::Unlike => format!("/api/posts/{id}/like"),
            Route::Read => format!("/api/posts/{id}"),
            Route::Notes => "/api/notifications".into(),
        }
    }
}

/// What the id in the path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id {
    Real,
    Unknown,
    Malformed,
}

/// What body a like or unlike carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    None,
    Object,
    NotAnObject,
}

/// Every (route, id, body) a request can combine: the orders of the checks
/// (401, then 400, then 404) show only on the right combinations, so each
/// is dealt from a deck rather than left to chance.
const COMBOS: [(Route, Id, Body); 21] = {
    use Body as B;
    use Id as I;
    use Route as R;
    [
        (R::Like, I::Real, B::None),
        (R::Like, I::Real, B::Object),
        (R::Like, I::Real, B::NotAnObject),
        (R::Like, I::Unknown, B::None),
        (R::Like, I::Unknown, B::Object),
        (R::Like, I::Unknown, B::NotAnObject),
        (R::Like, I::Malformed, B::None),
        (R::Like, I::Malformed, B::Object),
        (R::Like, I::Malformed, B::NotAnObject),
        (R::Unlike, I::Real, B::None),
        (R::Unlike, I::Real, B::Object),
        (R::Unlike, I::Real, B::NotAnObject),
        (R::Unlike, I::Unknown, B::None),
        (R::Unlike, I::Unknown, B::Object),
        (R::Unlike, I::Unknown, B::NotAnObject),
        (R::Unlike, I::Malformed, B::None),
        (R::Unlike, I::Malformed, B::Object),
        (R::Unlike, I::Malformed, B::NotAnObject),
        (R::Read, I::Real, B::None),
        (R::Read, I::Unknown, B::None),
        (R::Read, I::Malformed, B::None),
    ]
};

/// Where a request claims to be from someone else besides its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    None,
    Body,
    Query,
}

const CLAIMS: [(Route, Claim); 8] = [
    (Route::Like, Claim::None),
    (Route::Like, Claim::Body),
    (Route::Like, Claim::Query),
    (Route::Unlike, Claim::None),
    (Route::Unlike, Claim::Body),
    (Route::Read, Claim::None),
    (Route::Read, Claim::Query),
    (Route::Notes, Claim::Query),
];

const BAD_CREDENTIALS: usize = 16;
const VALID_CREDENTIALS: usize = 4;
const MALFORMED_IDS: usize = 14;
const BAD_BODIES: usize = 8;
const CONTENT_TYPES: [Option<&str>; 3] = [Some("application/json"), Some("text/plain"), None];

/// The decks: each kind of oddity is dealt once before any is dealt twice,
/// so a check with enough steps sends every kind at least once.
#[derive(Clone, Copy)]
enum Deck {
    BadCredential,
    ValidCredential,
    Combo,
    MalformedId,
    BadBody,
    Claim,
}

/// A random draw of `count` sequences for one check: one network per
/// sequence (`steps` draws its steps on it), the decks shared by all.
pub fn sequences(cx: &mut Ctx, count: usize, mut steps: impl FnMut(&mut Gen) -> Vec<Step>) -> Vec<Sequence> {
    let mut cases = Vec::new();
    let mut g = Gen::new(cx);
    for i in 0..count {
        if i > 0 {
            g.next_network();
        }
        let drawn = steps(&mut g);
        cases.push(g.sequence(drawn));
    }
    cases
}

/// Four random sequences of 10 to 18 ordinary steps, drawn with the
/// weights `legit_any` takes, each on a network of its own.
pub fn legit_sequences(cx: &mut Ctx, like: u32, unlike: u32, read: u32) -> Vec<Sequence> {
    sequences(cx, 4, |g| (0..10 + g.cx.rng().usize(..9)).map(|_| g.legit_any(like, unlike, read)).collect())
}

pub struct Gen<'a> {
    pub cx: &'a mut Ctx,
    pub seed: Arc<Seed>,
    /// Ids no post has.
    unknown: Vec<i64>,
    decks: [Vec<usize>; 6],
}

impl<'a> Gen<'a> {
    pub fn new(cx: &'a mut Ctx) -> Gen<'a> {
        let (seed, unknown) = network(cx);
        Gen { cx, seed, unknown, decks: Default::default() }
    }

    /// A new network (3 to 5 users, 2 or 3 posts with random owners) for
    /// the next sequence.
    pub fn next_network(&mut self) {
        (self.seed, self.unknown) = network(self.cx);
    }

    pub fn sequence(&self, steps: Vec<Step>) -> Sequence {
        Sequence { seed: self.seed.clone(), steps }
    }

    fn draw(&mut self, deck: Deck, size: usize) -> usize {
        let Gen { cx, decks, .. } = self;
        let d = &mut decks[deck as usize];
        if d.is_empty() {
            *d = (0..size).collect();
            cx.rng().shuffle(d);
        }
        d.pop().unwrap_or(0)
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.cx.rng().usize(..items.len())].clone()
    }

    /// A user index; the owner of `post` more often than chance would have it.
    pub fn user_for(&mut self, post: usize) -> usize {
        if self.cx.rng().u32(..100) < 25 {
            self.seed.posts[post].owner
        } else {
            self.cx.rng().usize(..self.seed.users.len())
        }
    }

    pub fn post(&mut self) -> usize {
        self.cx.rng().usize(..self.seed.posts.len())
    }

    /// `route` on a real post by a user (its owner now and then), with the
    /// plain `Bearer` header.
    pub fn legit(&mut self, route: Route) -> Step {
        let post = self.post();
        let user = self.user_for(post);
        let who = &self.seed.users[user];
        let (authorization, as_who) = (bearer(&who.token), format!("as {}", who.name));
        let id = self.seed.posts[post].id.to_string();
        call(route, &id, Some(authorization), &as_who, None)
    }

    /// A like, unlike, read or notifications call, weighted (percentages;
    /// the rest are notification lists).
    pub fn legit_any(&mut self, like: u32, unlike: u32, read: u32) -> Step {
        let roll = self.cx.rng().u32(..100);
        let route = if roll < like {
            Route::Like
        } else if roll < like + unlike {
            Route::Unlike
        } else if roll < like + unlike + read {
            Route::Read
        } else {
            Route::Notes
        };
        self.legit(route)
    }

    /// An `Authorization` header that names a user in a form the API must
    /// accept: the scheme in any case, more than one space before the token.
    fn valid_credential(&mut self, user: usize) -> (String, String) {
        let who = self.seed.users[user].clone();
        match self.draw(Deck::ValidCredential, VALID_CREDENTIALS) {
            0 => (bearer(&who.token), format!("as {}", who.name)),
            1 => (format!("bearer {}", who.token), format!("as {} (scheme in lower case)", who.name)),
            2 => (format!("BEARER {}", who.token), format!("as {} (scheme in upper case)", who.name)),
            _ => (format!("Bearer  {}", who.token), format!("as {} (two spaces before the token)", who.name)),
        }
    }

    /// An `Authorization` header (or none) that names nobody: the label says
    /// why.
    fn bad_credential(&mut self) -> (Option<String>, String) {
        let user = self.cx.rng().usize(..self.seed.users.len());
        let who = self.seed.users[user].clone();
        let t = who.token.clone();
        let n = &who.name;
        let half = t.len() / 2;
        match self.draw(Deck::BadCredential, BAD_CREDENTIALS) {
            0 => (None, "with no Authorization header".into()),
            1 => (Some(format!("Basic {t}")), format!("with {n}'s token under the Basic scheme")),
            2 => (Some(format!("Token {t}")), format!("with {n}'s token under the scheme `Token`")),
            3 => (Some(t.clone()), format!("with {n}'s bare token, no scheme")),
            4 => (Some("Bearer".into()), "with the scheme `Bearer` and no token".into()),
            5 => (Some(format!("Bearer{t}")), format!("with `Bearer` and {n}'s token run together")),
            6 => (
                Some(format!("Bearer {}", "_".repeat(t.len()))),
                format!("with as many `_` as {n}'s token has letters (the SQL LIKE pattern for any such token)"),
            ),
            7 => (Some(format!("Bearer {}", swap_case(&t))), format!("with {n}'s token in another case")),
            8 => (Some("Bearer %".into()), "with the token `%` (the SQL LIKE pattern for anything)".into()),
            9 => {
                let mut chars: Vec<char> = t.chars().collect();
                let at = self.cx.rng().usize(..chars.len());
                chars[at] = if chars[at] == '_' { '%' } else { '_' };
                let pattern: String = chars.into_iter().collect();
                (Some(format!("Bearer {pattern}")), format!("with {n}'s token, one letter replaced by a SQL wildcard"))
            }
            10 => (Some(format!("Bearer {}%", &t[..half])), format!("with the first half of {n}'s token and `%`")),
            11 => (Some(format!("Bearer %{}", &t[half..])), format!("with `%` and the second half of {n}'s token")),
            12 => (Some(format!("Bearer {}", &t[..t.len() - 1])), format!("with {n}'s token less its last letter")),
            13 => (Some(format!("Bearer {t}{}", self.cx.word(1))), format!("with {n}'s token and one letter more")),
            14 => (Some("Bearer 'OR'1'='1".into()), "with a token that is SQL code".into()),
            _ => (Some(format!("Bearer {}", self.cx.word(24))), "with a token nobody has".into()),
        }
    }

    /// The id for the path, and a label when it is not a real post's.
    fn id(&mut self, kind: Id) -> (String, String) {
        let post = self.post();
        let real = self.seed.posts[post].id;
        match kind {
            Id::Real => (real.to_string(), String::new()),
            Id::Unknown => {
                let id = if self.cx.rng().u32(..4) == 0 { i64::MAX } else { self.pick(&self.unknown.clone()) };
                (id.to_string(), " (no post has that id)".into())
            }
            Id::Malformed => {
                let bad = match self.draw(Deck::MalformedId, MALFORMED_IDS) {
                    0 => self.cx.word(5),
                    1 => format!("-{real}"),
                    2 => format!("{real}.5"),
                    3 => format!("+{real}"),
                    4 => format!("{real}{}", self.cx.word(2)),
                    5 => "0x1f".into(),
                    6 => "0".into(),
                    7 => "99999999999999999999999".into(),
                    8 => "9223372036854775808".into(),
                    9 => format!("%20{real}"),
                    10 => format!("{real}e0"),
                    11 => "%D9%A3".into(),
                    12 => format!("{real}%20"),
                    _ => "-0".into(),
                };
                (bad, " (not a post id)".into())
            }
        }
    }

    /// A body of the kind asked for, with its content type and a label.
    fn body(&mut self, kind: Body) -> Option<(Option<&'static str>, String, String)> {
        match kind {
            Body::None => None,
            Body::Object => {
                let body = match self.cx.rng().usize(..2) {
                    0 => "{}".to_string(),
                    _ => format!("{{\"{}\": \"{}\"}}", self.cx.word(4), self.cx.word(6)),
                };
                let label = format!(" with the body {body}");
                Some((Some("application/json"), body, label))
            }
            Body::NotAnObject => {
                let drawn = self.draw(Deck::BadBody, BAD_BODIES * CONTENT_TYPES.len());
                let body = match drawn % BAD_BODIES {
                    0 => "[1, 2]".to_string(),
                    1 => format!("\"{}\"", self.cx.word(4)),
                    2 => "42".into(),
                    3 => "null".into(),
                    4 => format!("{{\"{}\": ", self.cx.word(5)),
                    5 => "{'a': 1}".into(),
                    6 => self.cx.word(6),
                    _ => "true".into(),
                };
                let ct = CONTENT_TYPES[drawn / BAD_BODIES];
                let label = match ct {
                    Some(ct) => format!(" with the body {body} (Content-Type: {ct})"),
                    None => format!(" with the body {body} (no Content-Type)"),
                };
                Some((ct, body, label))
            }
        }
    }

    /// A request of the next (route, id, body) combination of the deck, or
    /// a notifications list now and then, with `authorization`.
    fn combo(&mut self, authorization: Option<String>, as_who: &str) -> Step {
        if self.cx.rng().u32(..100) < 10 {
            return call(Route::Notes, "", authorization, as_who, None);
        }
        let (route, id, body) = COMBOS[self.draw(Deck::Combo, COMBOS.len())];
        let (id, id_label) = self.id(id);
        let body = self.body(body);
        call(route, &id, authorization, &format!("{as_who}{id_label}"), body)
    }

    /// A request with an `Authorization` header that names nobody.
    pub fn forged(&mut self) -> Step {
        let (authorization, as_who) = self.bad_credential();
        self.combo(authorization, &as_who)
    }

    /// A request by a user, in one of the header forms the API accepts, on
    /// a real post; now and then claiming to be someone else in the body or
    /// the query, which must change nothing: only the token says who asks.
    pub fn accepted(&mut self) -> Step {
        let post = self.post();
        let user = self.user_for(post);
        let (authorization, as_who) = self.valid_credential(user);
        let id = self.seed.posts[post].id.to_string();
        let other = self.seed.users
            [(user + 1 + self.cx.rng().usize(..self.seed.users.len() - 1)) % self.seed.users.len()]
        .clone();
        let (route, claim) = CLAIMS[self.draw(Deck::Claim, CLAIMS.len())];
        match claim {
            Claim::None => call(route, &id, Some(authorization), &as_who, None),
            Claim::Body => {
                let body = format!("{{\"user_id\": {}}}", other.id);
                let label = format!(" with the body {body} ({}'s id)", other.name);
                call(route, &id, Some(authorization), &as_who, Some((Some("application/json"), body, label)))
            }
            Claim::Query => {
                let as_who = format!("{as_who} (the query names {})", other.name);
                let mut step = call(route, &id, Some(authorization), &as_who, None);
                if let Step::Call(c) = &mut step {
                    c.path.push_str(&format!("?user_id={}", other.id));
                    c.label = format!("{} {} {as_who}", c.method, c.path);
                }
                step
            }
        }
    }

    /// A request by a user with a plain header, on the next combination.
    pub fn odd(&mut self) -> Step {
        let post = self.post();
        let user = self.user_for(post);
        let who = self.seed.users[user].clone();
        self.combo(Some(bearer(&who.token)), &format!("as {}", who.name))
    }
}

fn network(cx: &mut Ctx) -> (Arc<Seed>, Vec<i64>) {
    let users = 3 + cx.rng().usize(..3);
    let posts = 2 + cx.rng().usize(..2);
    let mut seed = Seed::random_owners(cx, users, posts);
    let unknown = vec![seed.unused_id(cx), seed.unused_id(cx)];
    (Arc::new(seed), unknown)
}

fn call(
    route: Route,
    id: &str,
    authorization: Option<String>,
    as_who: &str,
    body: Option<(Option<&'static str>, String, String)>,
) -> Step {
    let path = route.path(id);
    let (content_type, body, body_label) = match body {
        Some((ct, b, l)) => (ct, Some(b), l),
        None => (None, None, String::new()),
    };
    let label = format!("{} {path} {as_who}{body_label}", route.method());
    Step::Call(Call { method: route.method(), path, authorization, content_type, body, label })
}

fn swap_case(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect()
}

/// Play `cases` against yours and the reference; fail with the first that
/// differs, shrunk.
pub async fn compare(cx: &Ctx, rule: &str, cases: Vec<Sequence>) -> CheckResult {
    Differential::new(rule).shrink_budget(40).run(cases, |side, case| play(cx, side, case)).await
}
