//! The CORS layer: which answers a page from another origin may read.
//!
//! Two halves. The builder ([`CorsBuilder`]) turns a policy into a [`Cors`]
//! value, and its types make one policy impossible to write: any origin
//! (`*`) together with credentials. The decision half ([`Cors::preflight`],
//! [`Cors::actual`], [`layer`]) answers each request the way the WHATWG
//! Fetch standard expects. See `docs/src/04-cors.md`.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

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
    /// An allow-list matches an origin exactly, byte for byte, and never
    /// allows the opaque origin `null`, even when it is listed: sandboxed
    /// iframes, `file:` pages and some redirects all send `null`, so allowing
    /// it allows all of them.
    pub fn allows_origin(&self, origin: &str) -> bool {
        match &self.origins {
            Origins::Any => true,
            Origins::List(list) => origin != "null" && list.iter().any(|allowed| allowed == origin),
        }
    }

    /// The `Access-Control-Allow-Origin` value for an allowed origin.
    fn allow_origin_value(&self, origin: &HeaderValue) -> HeaderValue {
        match self.origins {
            Origins::Any => HeaderValue::from_static("*"),
            Origins::List(_) => origin.clone(),
        }
    }

    /// Answer a preflight (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`): the headers of a 2xx answer, or why
    /// it is refused.
    pub fn preflight(&self, request: &HeaderMap) -> Result<HeaderMap, Refusal> {
        let origin = request.get(header::ORIGIN).ok_or(Refusal::Origin)?;
        if !origin.to_str().is_ok_and(|o| self.allows_origin(o)) {
            return Err(Refusal::Origin);
        }
        let method = request
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .ok_or(Refusal::Method)?;
        // GET, HEAD and POST pass a browser's own method check whatever
        // Access-Control-Allow-Methods says (a cached preflight lets them
        // through): refusing them would make the verdict depend on the cache.
        if !self.methods.contains(&method) && ![Method::GET, Method::HEAD, Method::POST].contains(&method) {
            return Err(Refusal::Method);
        }
        for value in request.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            let value = value.to_str().map_err(|_| Refusal::Header("?".into()))?;
            for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                // Header names are case-insensitive; HeaderName is lowercase.
                if !self.headers.iter().any(|h| h.as_str().eq_ignore_ascii_case(name)) {
                    return Err(Refusal::Header(name.to_string()));
                }
            }
        }

        let mut answer = HeaderMap::new();
        answer.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin_value(origin));
        if self.credentials {
            answer.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
        if let Some(methods) = join(self.methods.iter().map(Method::as_str)) {
            answer.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
        }
        // Every name explicitly: `*` would never cover Authorization.
        if let Some(headers) = join(self.headers.iter().map(HeaderName::as_str)) {
            answer.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, headers);
        }
        answer.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(self.max_age.as_secs()));
        Ok(answer)
    }

    /// The CORS headers to add to the answer of an actual request (anything
    /// that is not a preflight). Empty when there is no `Origin` or it is not
    /// allowed: then the browser hides the answer from the page.
    pub fn actual(&self, request: &HeaderMap) -> HeaderMap {
        let mut answer = HeaderMap::new();
        let Some(origin) = request.get(header::ORIGIN) else {
            return answer;
        };
        if !origin.to_str().is_ok_and(|o| self.allows_origin(o)) {
            return answer;
        }
        answer.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin_value(origin));
        if self.credentials {
            answer.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
        if let Some(expose) = join(self.expose.iter().map(HeaderName::as_str)) {
            answer.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose);
        }
        answer
    }

    /// The request headers the answer depends on, for `Vary`, so that a
    /// cache never hands one origin's answer to another. With an allow-list
    /// every answer depends on `Origin`, with or without CORS headers; a
    /// preflight's also on what it asked for. `*` is the same for everyone.
    pub fn vary(&self, preflight: bool) -> Option<HeaderValue> {
        match (&self.origins, preflight) {
            (Origins::Any, false) => None,
            (Origins::Any, true) => {
                Some(HeaderValue::from_static("Access-Control-Request-Method, Access-Control-Request-Headers"))
            }
            (Origins::List(_), false) => Some(HeaderValue::from_static("Origin")),
            (Origins::List(_), true) => {
                Some(HeaderValue::from_static("Origin, Access-Control-Request-Method, Access-Control-Request-Headers"))
            }
        }
    }
}

/// A CORS preflight: `OPTIONS` with both `Origin` and
/// `Access-Control-Request-Method`. Any other `OPTIONS` is an ordinary request.
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The middleware around every route: answers preflights itself (204 or
/// 403) and adds the CORS headers and `Vary` to every other answer.
pub async fn layer(State(cors): State<Arc<Cors>>, request: Request, next: Next) -> Response {
    if is_preflight(request.method(), request.headers()) {
        let mut response = match cors.preflight(request.headers()) {
            Ok(headers) => {
                let mut response = StatusCode::NO_CONTENT.into_response();
                response.headers_mut().extend(headers);
                response
            }
            Err(_) => StatusCode::FORBIDDEN.into_response(),
        };
        if let Some(vary) = cors.vary(true) {
            response.headers_mut().append(header::VARY, vary);
        }
        return response;
    }
    let headers = cors.actual(request.headers());
    let mut response = next.run(request).await;
    response.headers_mut().extend(headers);
    if let Some(vary) = cors.vary(false) {
        response.headers_mut().append(header::VARY, vary);
    }
    response
}

/// `a, b, c`, or `None` for an empty list.
fn join<'a>(items: impl Iterator<Item = &'a str>) -> Option<HeaderValue> {
    let joined = items.collect::<Vec<_>>().join(", ");
    if joined.is_empty() {
        None
    } else {
        HeaderValue::from_str(&joined).ok()
    }
}
