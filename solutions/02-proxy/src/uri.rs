//! Request targets as nginx reads them. Given plumbing.
//!
//! A client sends a target such as `/a//b/../c%20d?x=1`. nginx matches
//! locations against the *normalised* path (`$uri`): `%XX` decoded, `//`
//! merged, `.` and `..` resolved. `$request_uri` keeps what was sent.

/// The two views of one request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// As sent: `/a//b/../c%20d?x=1` (`$request_uri`).
    pub raw: String,
    /// Normalised and decoded: `/a/c d` (`$uri`).
    pub path: String,
    /// The query without `?`: `x=1` (`$args`), if there was a `?`.
    pub args: Option<String>,
}

/// Why a target cannot be served: nginx answers these with 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTarget(pub String);

pub fn parse(raw: &str) -> Result<Target, BadTarget> {
    let (path, args) = match raw.split_once('?') {
        Some((p, a)) => (p, Some(a.to_string())),
        None => (raw, None),
    };
    if !path.starts_with('/') {
        return Err(BadTarget(format!("the request target {raw:?} does not start with /")));
    }
    Ok(Target { raw: raw.to_string(), path: normalise(path)?, args })
}

/// Decode `%XX`, merge slashes, resolve `.` and `..` segments.
pub fn normalise(path: &str) -> Result<String, BadTarget> {
    let decoded = decode(path)?;
    let mut segments: Vec<&str> = Vec::new();
    let trailing = decoded.ends_with('/') || decoded.ends_with("/.") || decoded.ends_with("/..");
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(BadTarget(format!("the path {path:?} climbs above /")));
                }
            }
            s => segments.push(s),
        }
    }
    let mut out = String::from("/");
    out.push_str(&segments.join("/"));
    if trailing && !segments.is_empty() {
        out.push('/');
    }
    Ok(out)
}

fn decode(path: &str) -> Result<String, BadTarget> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) if b != 0 => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                _ => return Err(BadTarget(format!("the path {path:?} has a bad %-escape"))),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| BadTarget(format!("the path {path:?} is not UTF-8 once decoded")))
}

/// Escape a decoded path for the upstream request line, as nginx does:
/// spaces, `%`, `?`, `#`, controls and non-ASCII bytes become `%XX`.
pub fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b <= b' ' || b >= 0x7f || matches!(b, b'%' | b'?' | b'#' | b'"') {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_nginx() {
        assert_eq!(normalise("/a//b/../c%20d").unwrap(), "/a/c d");
        assert_eq!(normalise("/a/./b/").unwrap(), "/a/b/");
        assert_eq!(normalise("/").unwrap(), "/");
        assert!(normalise("/../x").is_err());
        assert_eq!(escape("/a/c d"), "/a/c%20d");
    }
}
