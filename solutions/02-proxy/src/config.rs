//! The rule file: a subset of nginx's configuration language, read into
//! [`Rules`]. Given plumbing: you do not need to change this file.
//!
//! A rule file holds `server { ... }` blocks, exactly like a file in
//! `/etc/nginx/conf.d/` on a real machine (nginx includes those inside its
//! `http { }` block). Every mistake is an error naming the file, line and
//! column, as `nginx -t` would.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// nginx's defaults: `proxy_read_timeout 60s`, `proxy_connect_timeout 60s`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything a rule file says.
#[derive(Debug)]
pub struct Rules {
    pub servers: Vec<Server>,
}

/// The proxy's two listeners. `listen 80` means the plain one (the port in
/// `PORT`); `listen 443 ssl` means the one that stands in for HTTPS
/// (`TLS_PORT`), until a later exercise adds real TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Plain,
    Tls,
}

impl Listener {
    /// What `$scheme` says for a request that arrived here.
    pub fn scheme(self) -> &'static str {
        match self {
            Listener::Plain => "http",
            Listener::Tls => "https",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Listen {
    pub listener: Listener,
    pub default_server: bool,
}

/// One name of `server_name`, already sorted into nginx's kinds.
#[derive(Debug, Clone)]
pub enum ServerName {
    /// `example.org` (lowercase).
    Exact(String),
    /// `*.example.org`, stored as the suffix `.example.org`.
    LeadingWildcard(String),
    /// `mail.*`, stored as the prefix `mail.`.
    TrailingWildcard(String),
    /// `~^www\d+\.example\.net$`, stored without the `~`.
    Regex(Pattern),
}

/// A compiled regular expression and its source text.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub source: String,
    pub regex: regex_lite::Regex,
}

impl Pattern {
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

#[derive(Debug)]
pub struct Server {
    pub listens: Vec<Listen>,
    pub names: Vec<ServerName>,
    /// A `return` directly in the server block: it answers every request
    /// before any location is looked at.
    pub ret: Option<Return>,
    pub locations: Vec<Location>,
}

impl Server {
    /// The first name, as nginx uses it for `$server_name`.
    pub fn primary_name(&self) -> String {
        match self.names.first() {
            Some(ServerName::Exact(n)) => n.clone(),
            Some(ServerName::LeadingWildcard(s)) => format!("*{s}"),
            Some(ServerName::TrailingWildcard(p)) => format!("{p}*"),
            Some(ServerName::Regex(p)) => format!("~{}", p.source),
            None => String::new(),
        }
    }

    pub fn listens_on(&self, listener: Listener) -> Option<&Listen> {
        self.listens.iter().find(|l| l.listener == listener)
    }
}

/// How a location's pattern is compared with the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// `location = /path`: only this exact path.
    Exact,
    /// `location ^~ /prefix`: a prefix that, when it is the longest, stops
    /// the search before regular expressions are tried.
    PreferPrefix,
    /// `location /prefix`: a plain prefix.
    Prefix,
    /// `location ~ regex` (case-sensitive) and `location ~* regex` (not).
    Regex { case_insensitive: bool },
}

#[derive(Debug)]
pub struct Location {
    pub modifier: Modifier,
    /// The path or the regular expression as written.
    pub pattern: String,
    /// Compiled, for regex locations.
    pub regex: Option<Pattern>,
    pub handler: Handler,
    pub proxy: ProxySettings,
}

impl Location {
    /// nginx answers `/name` with a 301 to `/name/` when the location
    /// `/name/` proxies and no location matches `/name` itself.
    pub fn auto_redirect(&self) -> bool {
        matches!(self.handler, Handler::Proxy(_)) && self.regex.is_none() && self.pattern.ends_with('/')
    }
}

/// What a location does with a request.
#[derive(Debug)]
pub enum Handler {
    Proxy(ProxyPass),
    Return(Return),
    /// Neither `proxy_pass` nor `return`: nginx would look for a file on
    /// disk; this proxy has none and answers 404.
    Nothing,
}

/// `proxy_pass http://HOST:PORT[URI];`
#[derive(Debug, Clone)]
pub struct ProxyPass {
    /// `127.0.0.1` or `localhost`, as written.
    pub host: String,
    pub port: u16,
    /// The URI part (`/remote/`), if the directive has one. With a URI part
    /// the matched location prefix is replaced by it; without one the
    /// request URI goes upstream as the client sent it.
    pub uri: Option<String>,
}

impl ProxyPass {
    /// `$proxy_host`: the upstream as written, port omitted when it is 80.
    pub fn proxy_host(&self) -> String {
        if self.port == 80 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// `return CODE [TEXT|URL];` or `return URL;` (which means 302).
#[derive(Debug, Clone)]
pub struct Return {
    pub code: u16,
    pub text: Option<Template>,
}

impl Return {
    /// 301, 302, 303, 307 and 308 take a URL for `Location`; other codes
    /// take a body text.
    pub fn is_redirect(&self) -> bool {
        matches!(self.code, 301 | 302 | 303 | 307 | 308)
    }
}

/// The proxy settings in force in a location, with what the server block
/// and nginx's defaults contribute already merged in.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// Every header the proxy sets on the upstream request, in order.
    /// Starts with nginx's defaults (`Host $proxy_host`, `Connection
    /// close`), each replaced by a `proxy_set_header` of the same name.
    /// A value that renders empty means "do not send this header".
    pub set_headers: Vec<(String, Template)>,
    pub read_timeout: Duration,
    pub connect_timeout: Duration,
}

/// A string with variables in it: `https://$host$request_uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Var(Var),
}

/// The variables a rule file may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    /// The request's host, lowercase and without a port.
    Host,
    RemoteAddr,
    /// `http` or `https`, by listener.
    Scheme,
    /// The client's `X-Forwarded-For` with `$remote_addr` appended.
    ProxyAddXForwardedFor,
    /// The request target as the client sent it: path and query.
    RequestUri,
    /// The normalised, decoded path.
    Uri,
    /// The query string, without `?`.
    Args,
    ServerName,
    RequestMethod,
    /// The upstream named by `proxy_pass`.
    ProxyHost,
    /// `$http_user_agent`: a request header (name lowercase, `_` for `-`).
    Http(String),
}

impl Template {
    pub fn literal(text: &str) -> Template {
        Template { parts: vec![Part::Text(text.to_string())] }
    }

    /// Fill in the variables with `value`.
    pub fn render(&self, value: &dyn Fn(&Var) -> String) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => out.push_str(&value(v)),
            }
        }
        out
    }
}

/// A mistake in a rule file: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.column, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Read and check a rule file.
pub fn load(path: &Path) -> Result<Rules, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        message: format!("cannot read the rule file: {e}"),
    })?;
    parse(path, &text)
}

/// Parse rule-file text; `file` is only used in messages.
pub fn parse(file: &Path, text: &str) -> Result<Rules, ConfigError> {
    let p = Parser { file, tokens: tokenize(file, text)?, at: 0, end: end_pos(text) };
    p.rules()
}

// ---------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: usize,
    column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A word or a quoted string (quotes removed, `quoted` set).
    Word {
        text: String,
        quoted: bool,
    },
    Open,
    Close,
    Semi,
}

fn end_pos(text: &str) -> Pos {
    let line = text.lines().count().max(1);
    let column = text.lines().last().map(|l| l.chars().count() + 1).unwrap_or(1);
    Pos { line, column }
}

fn tokenize(file: &Path, text: &str) -> Result<Vec<(Tok, Pos)>, ConfigError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let (mut line, mut column) = (1usize, 1usize);
    let err = |pos: Pos, message: String| ConfigError {
        file: file.to_path_buf(),
        line: pos.line,
        column: pos.column,
        message,
    };
    // Advance one character, keeping line and column.
    macro_rules! bump {
        () => {{
            let c = chars.next();
            if c == Some('\n') {
                line += 1;
                column = 1;
            } else if c.is_some() {
                column += 1;
            }
            c
        }};
    }
    while let Some(&c) = chars.peek() {
        let pos = Pos { line, column };
        match c {
            c if c.is_whitespace() => {
                bump!();
            }
            '#' => {
                while let Some(&c) = chars.peek() {
                    if c == '\n' {
                        break;
                    }
                    bump!();
                }
            }
            '{' => {
                bump!();
                out.push((Tok::Open, pos));
            }
            '}' => {
                bump!();
                out.push((Tok::Close, pos));
            }
            ';' => {
                bump!();
                out.push((Tok::Semi, pos));
            }
            '"' | '\'' => {
                let quote = c;
                bump!();
                let mut text = String::new();
                loop {
                    match bump!() {
                        None => return Err(err(pos, format!("this quoted string has no closing {quote}"))),
                        Some('\\') => match bump!() {
                            Some('n') => text.push('\n'),
                            Some('t') => text.push('\t'),
                            Some(c) if c == quote || c == '\\' => text.push(c),
                            Some(c) => {
                                text.push('\\');
                                text.push(c);
                            }
                            None => return Err(err(pos, format!("this quoted string has no closing {quote}"))),
                        },
                        Some(c) if c == quote => break,
                        Some(c) => text.push(c),
                    }
                }
                out.push((Tok::Word { text, quoted: true }, pos));
            }
            _ => {
                let mut text = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, ';' | '{' | '}') {
                        break;
                    }
                    // `${name}` keeps its braces inside a word.
                    if c == '$' {
                        text.push(c);
                        bump!();
                        if chars.peek() == Some(&'{') {
                            while let Some(c) = bump!() {
                                text.push(c);
                                if c == '}' {
                                    break;
                                }
                            }
                        }
                        continue;
                    }
                    text.push(c);
                    bump!();
                }
                out.push((Tok::Word { text, quoted: false }, pos));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Directives

/// `name arg arg;` or `name arg { ... }`, before its meaning is checked.
struct Directive {
    name: String,
    name_pos: Pos,
    args: Vec<(String, bool, Pos)>,
    block: Option<Vec<Directive>>,
}

struct Parser<'a> {
    file: &'a Path,
    tokens: Vec<(Tok, Pos)>,
    at: usize,
    end: Pos,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Top,
    Server,
    Location,
}

/// Directives nginx has that this proxy accepts and ignores: they only
/// matter once TLS or other exercises arrive.
const IGNORED: &[&str] = &[
    "ssl_certificate",
    "ssl_certificate_key",
    "ssl_protocols",
    "ssl_ciphers",
    "proxy_http_version",
    "access_log",
    "error_log",
];

impl<'a> Parser<'a> {
    fn error(&self, pos: Pos, message: impl Into<String>) -> ConfigError {
        ConfigError { file: self.file.to_path_buf(), line: pos.line, column: pos.column, message: message.into() }
    }

    fn rules(mut self) -> Result<Rules, ConfigError> {
        let directives = self.block(None)?;
        let mut servers = Vec::new();
        for d in directives {
            match d.name.as_str() {
                "server" => servers.push(self.server(d)?),
                "location" => return Err(self.error(d.name_pos, "`location` must be inside a `server { }` block")),
                "http" => {
                    return Err(self.error(
                        d.name_pos,
                        "write the `server { }` blocks at the top of the rule file, without `http { }` (like a file in /etc/nginx/conf.d/)",
                    ))
                }
                other => return Err(self.unknown(other, d.name_pos, Context::Top)),
            }
        }
        if servers.is_empty() {
            return Err(self.error(Pos { line: 1, column: 1 }, "the rule file has no `server { }` block"));
        }
        Ok(Rules { servers })
    }

    /// Directives until `}` (when `open` is the position of its `{`) or the end.
    fn block(&mut self, open: Option<Pos>) -> Result<Vec<Directive>, ConfigError> {
        let mut out = Vec::new();
        loop {
            let Some((tok, pos)) = self.tokens.get(self.at).cloned() else {
                return match open {
                    Some(o) => Err(self.error(
                        self.end,
                        format!(
                            "unexpected end of file: the `{{` at line {}, column {} is never closed with `}}`",
                            o.line, o.column
                        ),
                    )),
                    None => Ok(out),
                };
            };
            self.at += 1;
            match tok {
                Tok::Close => {
                    return match open {
                        Some(_) => Ok(out),
                        None => Err(self.error(pos, "unexpected `}`: there is no open block to close")),
                    }
                }
                Tok::Open => return Err(self.error(pos, "unexpected `{`: a block needs a directive name before it")),
                Tok::Semi => return Err(self.error(pos, "unexpected `;`: there is no directive to end")),
                Tok::Word { text, quoted } => {
                    if quoted {
                        return Err(self.error(pos, format!("a directive name cannot be quoted: \"{text}\"")));
                    }
                    out.push(self.directive(text, pos)?);
                }
            }
        }
    }

    fn directive(&mut self, name: String, name_pos: Pos) -> Result<Directive, ConfigError> {
        let mut args = Vec::new();
        loop {
            let Some((tok, pos)) = self.tokens.get(self.at).cloned() else {
                return Err(self.error(
                    self.end,
                    format!("unexpected end of file: `{name}` must end with `;` or a `{{ }}` block"),
                ));
            };
            self.at += 1;
            match tok {
                Tok::Word { text, quoted } => args.push((text, quoted, pos)),
                Tok::Semi => return Ok(Directive { name, name_pos, args, block: None }),
                Tok::Open => {
                    let block = self.block(Some(pos))?;
                    return Ok(Directive { name, name_pos, args, block: Some(block) });
                }
                Tok::Close => {
                    return Err(
                        self.error(pos, format!("unexpected `}}`: the `{name}` directive before it must end with `;`"))
                    )
                }
            }
        }
    }

    fn unknown(&self, name: &str, pos: Pos, cx: Context) -> ConfigError {
        let known: &[&str] = match cx {
            Context::Top => &["server"],
            Context::Server => &[
                "listen",
                "server_name",
                "location",
                "return",
                "proxy_set_header",
                "proxy_read_timeout",
                "proxy_connect_timeout",
            ],
            Context::Location => {
                &["proxy_pass", "return", "proxy_set_header", "proxy_read_timeout", "proxy_connect_timeout"]
            }
        };
        let everywhere = [
            "server",
            "listen",
            "server_name",
            "location",
            "proxy_pass",
            "return",
            "proxy_set_header",
            "proxy_read_timeout",
            "proxy_connect_timeout",
        ];
        let place = match cx {
            Context::Top => "at the top of the file",
            Context::Server => "inside `server { }`",
            Context::Location => "inside `location { }`",
        };
        if everywhere.contains(&name) {
            self.error(pos, format!("`{name}` is not allowed {place}; allowed there: {}", known.join(", ")))
        } else {
            self.error(pos, format!("unknown directive `{name}` {place}; this proxy understands: {}", known.join(", ")))
        }
    }

    fn no_block(&self, d: &Directive) -> Result<(), ConfigError> {
        match d.block {
            Some(_) => Err(self.error(d.name_pos, format!("`{}` takes no `{{ }}` block; end it with `;`", d.name))),
            None => Ok(()),
        }
    }

    fn arity(&self, d: &Directive, min: usize, max: usize) -> Result<(), ConfigError> {
        if d.args.len() < min || d.args.len() > max {
            let want = if min == max {
                format!("{min}")
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(self.error(d.name_pos, format!("`{}` takes {want} argument(s), got {}", d.name, d.args.len())));
        }
        Ok(())
    }

    fn server(&self, d: Directive) -> Result<Server, ConfigError> {
        if !d.args.is_empty() {
            return Err(self.error(d.args[0].2, "`server` takes no arguments: write `server {`"));
        }
        let Some(body) = d.block else {
            return Err(self.error(d.name_pos, "`server` needs a `{ }` block"));
        };
        let mut listens = Vec::new();
        let mut names = Vec::new();
        let mut ret = None;
        let mut proxy = Inherit::default();
        let mut location_directives = Vec::new();
        for d in body {
            match d.name.as_str() {
                "listen" => {
                    self.no_block(&d)?;
                    listens.push(self.listen(&d)?);
                }
                "server_name" => {
                    self.no_block(&d)?;
                    self.arity(&d, 1, usize::MAX)?;
                    for (text, _, pos) in &d.args {
                        names.extend(self.server_name(text, *pos)?);
                    }
                }
                "location" => location_directives.push(d),
                "return" => {
                    self.no_block(&d)?;
                    if ret.is_none() {
                        ret = Some(self.ret(&d)?);
                    }
                }
                _ => self.proxy_setting(&d, &mut proxy, Context::Server)?,
            }
        }
        if listens.is_empty() {
            // nginx's default: `listen 80`.
            listens.push(Listen { listener: Listener::Plain, default_server: false });
        }
        let mut locations = Vec::new();
        for d in location_directives {
            locations.push(self.location(d, &proxy)?);
        }
        Ok(Server { listens, names, ret, locations })
    }

    fn listen(&self, d: &Directive) -> Result<Listen, ConfigError> {
        self.arity(d, 1, usize::MAX)?;
        let (addr, _, pos) = &d.args[0];
        let port_text = match addr.rsplit_once(':') {
            Some((_, p)) if !addr.ends_with(']') => p,
            _ => addr.as_str(),
        };
        let port: u16 = port_text.parse().map_err(|_| {
            self.error(*pos, format!("`listen {addr}`: expected a port like 80 or 443 (optionally ADDRESS:PORT)"))
        })?;
        let mut ssl = false;
        let mut default_server = false;
        for (flag, _, pos) in &d.args[1..] {
            match flag.as_str() {
                "ssl" => ssl = true,
                "default_server" | "default" => default_server = true,
                "http2" | "reuseport" | "ipv6only=on" | "ipv6only=off" => {}
                other => {
                    return Err(self
                        .error(*pos, format!("`listen` does not understand `{other}`; use `default_server` or `ssl`")))
                }
            }
        }
        let listener = match (port, ssl) {
            (443, _) | (_, true) => Listener::Tls,
            (80, false) => Listener::Plain,
            _ => {
                return Err(self.error(
                    *pos,
                    format!("`listen {addr}`: this proxy has two listeners, `listen 80` (the port in PORT) and `listen 443 ssl` (the port in TLS_PORT)"),
                ))
            }
        };
        Ok(Listen { listener, default_server })
    }

    fn server_name(&self, text: &str, pos: Pos) -> Result<Vec<ServerName>, ConfigError> {
        if let Some(re) = text.strip_prefix('~') {
            return Ok(vec![ServerName::Regex(self.pattern(re, true, pos)?)]);
        }
        let name = text.to_ascii_lowercase();
        if let Some(rest) = name.strip_prefix("*.") {
            if rest.contains('*') || rest.is_empty() {
                return Err(
                    self.error(pos, format!("invalid server name `{text}`: only one `*`, at the start or the end"))
                );
            }
            return Ok(vec![ServerName::LeadingWildcard(format!(".{rest}"))]);
        }
        if let Some(rest) = name.strip_suffix(".*") {
            if rest.contains('*') || rest.is_empty() {
                return Err(
                    self.error(pos, format!("invalid server name `{text}`: only one `*`, at the start or the end"))
                );
            }
            return Ok(vec![ServerName::TrailingWildcard(format!("{rest}."))]);
        }
        if name.contains('*') {
            return Err(self.error(pos, format!("invalid server name `{text}`: a `*` must be a whole label at the start (`*.example.org`) or the end (`mail.*`)")));
        }
        if let Some(rest) = name.strip_prefix('.') {
            // `.example.org` is nginx's short form of `example.org *.example.org`.
            return Ok(vec![ServerName::Exact(rest.to_string()), ServerName::LeadingWildcard(name.clone())]);
        }
        Ok(vec![ServerName::Exact(name.trim_end_matches('.').to_string())])
    }

    fn pattern(&self, source: &str, case_sensitive: bool, pos: Pos) -> Result<Pattern, ConfigError> {
        let full = if case_sensitive { source.to_string() } else { format!("(?i){source}") };
        let regex = regex_lite::Regex::new(&full)
            .map_err(|e| self.error(pos, format!("invalid regular expression `{source}`: {e}")))?;
        Ok(Pattern { source: source.to_string(), regex })
    }

    fn location(&self, d: Directive, parent: &Inherit) -> Result<Location, ConfigError> {
        let Some(body) = d.block else {
            return Err(self.error(d.name_pos, "`location` needs a `{ }` block"));
        };
        let (modifier, (pattern, _, pos)) = match d.args.len() {
            1 => {
                let (text, quoted, pos) = d.args[0].clone();
                // `location =/x` is written without a space now and then.
                if !quoted && text.starts_with('=') && text.len() > 1 {
                    (Modifier::Exact, (text[1..].to_string(), quoted, pos))
                } else if !quoted
                    && (text.starts_with("~*") || text.starts_with("^~") || text.starts_with('~'))
                    && text.len() > 1
                {
                    return Err(self
                        .error(pos, format!("put a space between the modifier and the pattern in `location {text}`")));
                } else {
                    (Modifier::Prefix, d.args[0].clone())
                }
            }
            2 => {
                let (m, _, mpos) = &d.args[0];
                let modifier = match m.as_str() {
                    "=" => Modifier::Exact,
                    "^~" => Modifier::PreferPrefix,
                    "~" => Modifier::Regex { case_insensitive: false },
                    "~*" => Modifier::Regex { case_insensitive: true },
                    other => {
                        return Err(
                            self.error(*mpos, format!("unknown location modifier `{other}`; use =, ^~, ~ or ~*"))
                        )
                    }
                };
                (modifier, d.args[1].clone())
            }
            _ => {
                return Err(
                    self.error(d.name_pos, "`location` takes a path (or a modifier and a pattern) and a `{ }` block")
                )
            }
        };
        let regex = match modifier {
            Modifier::Regex { case_insensitive } => Some(self.pattern(&pattern, !case_insensitive, pos)?),
            _ => None,
        };
        let mut proxy = parent.clone();
        let mut pass = None;
        let mut ret = None;
        for d in body {
            match d.name.as_str() {
                "proxy_pass" => {
                    self.no_block(&d)?;
                    self.arity(&d, 1, 1)?;
                    let (url, _, upos) = &d.args[0];
                    let p = self.proxy_pass(url, *upos)?;
                    if p.uri.is_some() && regex.is_some() {
                        return Err(self.error(
                            *upos,
                            "`proxy_pass` cannot have a URI part in a location given by a regular expression: there is no prefix to replace",
                        ));
                    }
                    pass = Some(p);
                }
                "return" => {
                    self.no_block(&d)?;
                    if ret.is_none() {
                        ret = Some(self.ret(&d)?);
                    }
                }
                "location" => return Err(self.error(
                    d.name_pos,
                    "nested locations are not supported by this proxy: put each `location` directly in `server { }`",
                )),
                _ => self.proxy_setting(&d, &mut proxy, Context::Location)?,
            }
        }
        // `return` acts before the content phase, so it wins over proxy_pass.
        let handler = match (ret, pass) {
            (Some(r), _) => Handler::Return(r),
            (None, Some(p)) => Handler::Proxy(p),
            (None, None) => Handler::Nothing,
        };
        Ok(Location { modifier, pattern, regex, handler, proxy: proxy.resolve() })
    }

    fn proxy_pass(&self, url: &str, pos: Pos) -> Result<ProxyPass, ConfigError> {
        let Some(rest) = url.strip_prefix("http://") else {
            let why = if url.starts_with("https://") {
                "https upstreams are not supported; the app listens on plain http on localhost"
            } else {
                "it must start with http://"
            };
            return Err(self.error(pos, format!("`proxy_pass {url}`: {why}")));
        };
        if rest.contains('$') {
            return Err(self.error(pos, format!("`proxy_pass {url}`: variables in proxy_pass are not supported")));
        }
        let (authority, uri) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(rest[i..].to_string())),
            None => (rest, None),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| self.error(pos, format!("`proxy_pass {url}`: `{p}` is not a port")))?;
                (h.to_string(), port)
            }
            None => (authority.to_string(), 80),
        };
        if host.is_empty() {
            return Err(self.error(pos, format!("`proxy_pass {url}`: no host")));
        }
        Ok(ProxyPass { host, port, uri })
    }

    fn ret(&self, d: &Directive) -> Result<Return, ConfigError> {
        self.arity(d, 1, 2)?;
        let (first, _, pos) = &d.args[0];
        if let Ok(code) = first.parse::<u16>() {
            if !(100..=999).contains(&code) {
                return Err(self.error(*pos, format!("`return {first}`: not a status code")));
            }
            let text = match d.args.get(1) {
                Some((t, _, tpos)) => Some(self.template(t, *tpos)?),
                None => None,
            };
            return Ok(Return { code, text });
        }
        if d.args.len() == 1
            && (first.starts_with("http://") || first.starts_with("https://") || first.starts_with("$scheme"))
        {
            return Ok(Return { code: 302, text: Some(self.template(first, *pos)?) });
        }
        Err(self
            .error(*pos, format!("`return {first}`: expected a status code (`return 301 https://$host$request_uri;`)")))
    }

    fn proxy_setting(&self, d: &Directive, into: &mut Inherit, cx: Context) -> Result<(), ConfigError> {
        match d.name.as_str() {
            "proxy_set_header" => {
                self.no_block(d)?;
                self.arity(d, 2, 2)?;
                let (name, _, _) = &d.args[0];
                let (value, _, vpos) = &d.args[1];
                let value = self.template(value, *vpos)?;
                // nginx: a level with its own proxy_set_header replaces the
                // whole inherited list.
                let list = into.own_headers.get_or_insert_with(Vec::new);
                list.push((name.clone(), value));
                Ok(())
            }
            "proxy_read_timeout" | "proxy_connect_timeout" => {
                self.no_block(d)?;
                self.arity(d, 1, 1)?;
                let (text, _, pos) = &d.args[0];
                let t = parse_time(text).ok_or_else(|| {
                    self.error(*pos, format!("`{} {text}`: expected a time like 5s, 500ms or 1m", d.name))
                })?;
                if d.name == "proxy_read_timeout" {
                    into.read_timeout = Some(t);
                } else {
                    into.connect_timeout = Some(t);
                }
                Ok(())
            }
            name if IGNORED.contains(&name) => self.no_block(d),
            name => Err(self.unknown(name, d.name_pos, cx)),
        }
    }

    fn template(&self, text: &str, pos: Pos) -> Result<Template, ConfigError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            literal.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
                match braced.find('}') {
                    Some(end) => (&braced[..end], &braced[end + 1..]),
                    None => return Err(self.error(pos, format!("`{text}`: `${{` without a closing `}}`"))),
                }
            } else {
                let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            if name.is_empty() {
                return Err(self.error(pos, format!("`{text}`: a `$` must be followed by a variable name")));
            }
            let var = match name {
                "host" => Var::Host,
                "remote_addr" => Var::RemoteAddr,
                "scheme" => Var::Scheme,
                "proxy_add_x_forwarded_for" => Var::ProxyAddXForwardedFor,
                "request_uri" => Var::RequestUri,
                "uri" | "document_uri" => Var::Uri,
                "args" | "query_string" => Var::Args,
                "server_name" => Var::ServerName,
                "request_method" => Var::RequestMethod,
                "proxy_host" => Var::ProxyHost,
                n if n.starts_with("http_") && n.len() > 5 => Var::Http(n[5..].to_ascii_lowercase().replace('_', "-")),
                n => return Err(self.error(pos, format!("unknown variable `${n}`; this proxy knows $host, $remote_addr, $scheme, $proxy_add_x_forwarded_for, $request_uri, $uri, $args, $server_name, $request_method, $proxy_host and $http_NAME"))),
            };
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Var(var));
            rest = tail;
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }
}

/// Proxy settings on their way down from server to location.
#[derive(Clone, Default)]
struct Inherit {
    own_headers: Option<Vec<(String, Template)>>,
    read_timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
}

impl Inherit {
    fn resolve(self) -> ProxySettings {
        let mut set_headers = vec![
            ("Host".to_string(), Template { parts: vec![Part::Var(Var::ProxyHost)] }),
            ("Connection".to_string(), Template::literal("close")),
        ];
        for (name, value) in self.own_headers.unwrap_or_default() {
            match set_headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                Some(slot) => slot.1 = value,
                None => set_headers.push((name, value)),
            }
        }
        ProxySettings {
            set_headers,
            read_timeout: self.read_timeout.unwrap_or(DEFAULT_TIMEOUT),
            connect_timeout: self.connect_timeout.unwrap_or(DEFAULT_TIMEOUT),
        }
    }
}

/// nginx times: `30` (seconds), `500ms`, `5s`, `1m`, `1h`.
fn parse_time(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().ok()?;
    match unit {
        "" | "s" => Some(Duration::from_secs(n)),
        "ms" => Some(Duration::from_millis(n)),
        "m" => Some(Duration::from_secs(n * 60)),
        "h" => Some(Duration::from_secs(n * 3600)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ConfigError {
        parse(Path::new("t.conf"), text).expect_err("should not parse")
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = err("server {\n    listen 80;\n    proxy_pas http://127.0.0.1:3001;\n}\n");
        assert_eq!((e.line, e.column), (3, 5), "{e}");
        assert!(e.to_string().starts_with("t.conf:3:5: unknown directive `proxy_pas`"), "{e}");
        let e = err("server {\n    listen 80\n}\n");
        assert_eq!((e.line, e.column), (3, 1), "{e}");
        let e = err("server {\n  location / {\n    proxy_pass http://a:1;\n  }\n");
        assert!(e.message.contains("never closed"), "{e}");
    }

    #[test]
    fn names_and_locations() {
        let rules = parse(
            Path::new("t.conf"),
            "server { listen 80 default_server; server_name Example.org *.example.org mail.* ~^www\\d+\\.example\\.net$;\n location = / { return 200 'hi'; }\n location ^~ /images/ { proxy_pass http://127.0.0.1:3001/img/; }\n location ~* \\.(gif|jpg)$ { proxy_pass http://localhost:3000; } }",
        )
        .expect("parses");
        let s = &rules.servers[0];
        assert!(s.listens[0].default_server);
        assert!(matches!(&s.names[0], ServerName::Exact(n) if n == "example.org"));
        assert!(matches!(&s.names[1], ServerName::LeadingWildcard(n) if n == ".example.org"));
        assert!(matches!(&s.names[2], ServerName::TrailingWildcard(n) if n == "mail."));
        assert_eq!(s.locations[1].modifier, Modifier::PreferPrefix);
        assert!(s.locations[2].regex.as_ref().is_some_and(|r| r.is_match("/A.JPG")));
    }
}
