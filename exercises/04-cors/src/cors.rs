//! The CORS layer: which answers a page from another origin may read.
//!
//! Two halves. The builder ([`CorsBuilder`]) turns a policy into a [`Cors`]
//! value, and its types make one policy impossible to write: any origin
//! (`*`) together with credentials. The decision half ([`Cors::preflight`],
//! [`Cors::actual`], [`layer`]) answers each request the way the WHATWG
//! Fetch standard expects. See `docs/src/04-cors.md`.
//!
//! The builder is done; the decisions at the bottom are yours.

// While the decisions are `todo!()`, some fields and imports are unused and
// the compiler would warn about each. Delete this line when you are done.
#![allow(dead_code, unused_variables, unused_imports)]

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

// ---------------------------------------------------------------------------
// The builder. Its two type parameters record what has been chosen so far:
// the origins (none yet, any, or a list) and the credentials (off or on).
// ---------------------------------------------------------------------------

/// Origins not chosen yet.
pub struct NoOrigins;
/// `Access-Control-Allow-Origin: *`: every origin, never with credentials.
pub struct AnyOrigin;
/// An explicit allow-list of origins.
pub struct OriginList(Vec<String>);
/// Credentials (cookies, `Authorization` sent by the browser) not allowed.
pub struct NoCredentials;
/// `Access-Control-Allow-Credentials: true`.
pub struct WithCredentials;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::NoOrigins {}
    impl Sealed for super::AnyOrigin {}
    impl Sealed for super::OriginList {}
    impl Sealed for super::NoCredentials {}
    impl Sealed for super::WithCredentials {}
}

/// Origin choices that may be combined with credentials: not `*`.
#[diagnostic::on_unimplemented(
    message = "a CORS policy cannot allow credentials for any origin (`*`)",
    label = "this policy already allows any origin",
    note = "browsers refuse `Access-Control-Allow-Origin: *` on a credentialed request; list the frontends with `allow_origins([...])`"
)]
pub trait CredentialsAllowed: sealed::Sealed {}
impl CredentialsAllowed for NoOrigins {}
impl CredentialsAllowed for OriginList {}

/// Credential settings that may be combined with `*`: credentials off.
#[diagnostic::on_unimplemented(
    message = "a CORS policy with credentials cannot allow any origin (`*`)",
    label = "this policy already allows credentials",
    note = "browsers refuse `Access-Control-Allow-Origin: *` on a credentialed request; list the frontends with `allow_origins([...])`"
)]
pub trait WildcardAllowed: sealed::Sealed {}
impl WildcardAllowed for NoCredentials {}

/// Builds a [`Cors`] policy. Start with [`CorsBuilder::new`], choose the
/// origins once, then the rest in any order, then [`build`](Self::build).
pub struct CorsBuilder<O, C> {
    origins: O,
    methods: Vec<Method>,
    headers: Vec<HeaderName>,
    expose: Vec<HeaderName>,
    max_age: Duration,
    credentials: PhantomData<C>,
}

impl CorsBuilder<NoOrigins, NoCredentials> {
    pub fn new() -> Self {
        CorsBuilder {
            origins: NoOrigins,
            methods: Vec::new(),
            headers: Vec::new(),
            expose: Vec::new(),
            max_age: Duration::ZERO,
            credentials: PhantomData,
        }
    }
}

impl Default for CorsBuilder<NoOrigins, NoCredentials> {
    fn default() -> Self {
        Self::new()
    }
}

impl<O, C> CorsBuilder<O, C> {
    fn with<O2, C2>(self, origins: O2) -> CorsBuilder<O2, C2> {
        CorsBuilder {
            origins,
            methods: self.methods,
            headers: self.headers,
            expose: self.expose,
            max_age: self.max_age,
            credentials: PhantomData,
        }
    }

    /// Methods a preflight may ask for (`Access-Control-Allow-Methods`).
    pub fn allow_methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods.extend(methods);
        self
    }

    /// Request headers a preflight may ask for (`Access-Control-Allow-Headers`).
    pub fn allow_headers(mut self, headers: impl IntoIterator<Item = HeaderName>) -> Self {
        self.headers.extend(headers);
        self
    }

    /// Response headers the page's script may read (`Access-Control-Expose-Headers`).
    pub fn expose_headers(mut self, headers: impl IntoIterator<Item = HeaderName>) -> Self {
        self.expose.extend(headers);
        self
    }

    /// How long a browser may cache a preflight's answer (`Access-Control-Max-Age`).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }
}

impl<C> CorsBuilder<NoOrigins, C> {
    /// Allow exactly these origins (`scheme://host:port`, as browsers send
    /// them in `Origin`).
    pub fn allow_origins<I, S>(self, origins: I) -> CorsBuilder<OriginList, C>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.with(OriginList(origins.into_iter().map(Into::into).collect()))
    }

    /// Allow every origin with `*`. Only without credentials.
    pub fn allow_any_origin(self) -> CorsBuilder<AnyOrigin, C>
    where
        C: WildcardAllowed,
    {
        self.with(AnyOrigin)
    }
}

impl<O> CorsBuilder<O, NoCredentials> {
    /// Let the browser send cookies and read the answer
    /// (`Access-Control-Allow-Credentials: true`). Never with `*`.
    pub fn allow_credentials(self) -> CorsBuilder<O, WithCredentials>
    where
        O: CredentialsAllowed,
    {
        let origins = self.origins;
        CorsBuilder {
            origins,
            methods: self.methods,
            headers: self.headers,
            expose: self.expose,
            max_age: self.max_age,
            credentials: PhantomData,
        }
    }
}

impl CorsBuilder<OriginList, NoCredentials> {
    pub fn build(self) -> Cors {
        let origins = Origins::List(self.origins.0.clone());
        self.finish(origins, false)
    }
}

impl CorsBuilder<OriginList, WithCredentials> {
    pub fn build(self) -> Cors {
        let origins = Origins::List(self.origins.0.clone());
        self.finish(origins, true)
    }
}

impl CorsBuilder<AnyOrigin, NoCredentials> {
    pub fn build(self) -> Cors {
        self.finish(Origins::Any, false)
    }
}

impl<O, C> CorsBuilder<O, C> {
    fn finish(self, origins: Origins, credentials: bool) -> Cors {
        Cors {
            origins,
            credentials,
            methods: self.methods,
            headers: self.headers,
            expose: self.expose,
            max_age: self.max_age,
        }
    }
}

/// A finished policy. Only [`CorsBuilder`] makes one, so a `Cors` with `*`
/// and credentials cannot exist.
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Origins,
    credentials: bool,
    methods: Vec<Method>,
    headers: Vec<HeaderName>,
    expose: Vec<HeaderName>,
    max_age: Duration,
}

#[derive(Debug, Clone)]
enum Origins {
    Any,
    List(Vec<String>),
}

/// Why a preflight was refused (the answer is 403 without CORS headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Origin,
    Method,
    Header(String),
}

// ---------------------------------------------------------------------------
// The decisions: your part.
// ---------------------------------------------------------------------------

impl Cors {
    /// Is `origin` (the request's `Origin` header, as sent) allowed?
    ///
    /// `*` allows every origin. An allow-list matches an origin exactly, byte
    /// for byte, and never allows the opaque origin `null`, even when it is
    /// listed ("The origin `null`" in `docs/src/04-cors.md`).
    pub fn allows_origin(&self, origin: &str) -> bool {
        todo!("match the origin against self.origins (docs/src/04-cors.md, \"What an origin is\")")
    }

    /// Answer a preflight (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`): the headers of a 2xx answer, or why
    /// it is refused.
    ///
    /// Refuse when the origin is not allowed, the requested method is
    /// neither in `self.methods` nor one of `GET`, `HEAD`, `POST` (methods
    /// are case-sensitive), or any name in `Access-Control-Request-Headers`
    /// (a comma-separated list; names are case-insensitive) is not in
    /// `self.headers`. Otherwise answer with `Access-Control-Allow-Origin`
    /// (the origin itself, or `*` for any origin),
    /// `Access-Control-Allow-Credentials: true` when `self.credentials`,
    /// `Access-Control-Allow-Methods` and `Access-Control-Allow-Headers`
    /// listing every configured name (`a, b, c`) and `Access-Control-Max-Age`
    /// in seconds. See "The preflight" in `docs/src/04-cors.md`.
    pub fn preflight(&self, request: &HeaderMap) -> Result<HeaderMap, Refusal> {
        todo!("decide the preflight (docs/src/04-cors.md, \"The preflight\")")
    }

    /// The CORS headers to add to the answer of an actual request (anything
    /// that is not a preflight): `Access-Control-Allow-Origin`,
    /// `Access-Control-Allow-Credentials` and `Access-Control-Expose-Headers`
    /// for an allowed origin; nothing when there is no `Origin` or it is not
    /// allowed.
    /// See "Simple requests and actual requests" in `docs/src/04-cors.md`.
    pub fn actual(&self, request: &HeaderMap) -> HeaderMap {
        todo!("the CORS headers of an actual request (docs/src/04-cors.md, \"Simple requests and actual requests\")")
    }

    /// The value of `Vary` to add to an answer (a preflight's when
    /// `preflight`), or `None` when the answer is the same whatever the
    /// request's origin. See "Vary and caches" in `docs/src/04-cors.md`.
    pub fn vary(&self, preflight: bool) -> Option<HeaderValue> {
        todo!("which request headers the answer depends on (docs/src/04-cors.md, \"Vary and caches\")")
    }
}

/// A CORS preflight: `OPTIONS` with both `Origin` and
/// `Access-Control-Request-Method`. Any other `OPTIONS` is an ordinary request.
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    todo!("recognise a preflight (docs/src/04-cors.md, \"The preflight\")")
}

/// The middleware around every route (see `app.rs`).
///
/// A preflight never reaches a route: answer it here, `204 No Content` with
/// the headers of [`Cors::preflight`], or `403 Forbidden` without any CORS
/// header when it is refused. Every other request runs the route
/// (`next.run(request).await`), then gets the headers of [`Cors::actual`].
/// Both kinds get `Vary` as [`Cors::vary`] says: append it, do not replace
/// one a route set.
pub async fn layer(State(cors): State<Arc<Cors>>, request: Request, next: Next) -> Response {
    todo!("answer preflights, decorate everything else (docs/src/04-cors.md, \"The task\")")
}
