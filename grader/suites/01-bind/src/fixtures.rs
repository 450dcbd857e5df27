//! What the checks serve and how they start servers: a scratch website drawn
//! from the seed, the student's server alone, or the student's and the
//! reference's side by side for differential checks.

use std::path::PathBuf;
use std::time::Duration;

use harness::differential::{Servers, Side};
use harness::http::Client;
use harness::process::{Proc, Spawn};
use harness::{Ctx, Failure};
use serde_json::json;

/// How long one request may take before it counts as unanswered. A correct
/// server answers in milliseconds; the margin is for a machine busy with
/// builds (the slowest answer measured under load was far below it), and
/// only a server that really hangs ever waits this long.
pub const STEP: Duration = Duration::from_secs(10);

/// How long a program that must exit at once (a bad PORT, a taken port) is
/// given to do so. It exits within milliseconds; the margin is for load.
pub const EXIT_WAIT: Duration = Duration::from_secs(15);

/// The file types of the book's table, with a sample extension spelling.
/// Binary types get random bytes, text types random text.
pub const TABLE: &[(&str, bool)] = &[
    ("html", false),
    ("css", false),
    ("js", false),
    ("mjs", false),
    ("json", false),
    ("txt", false),
    ("svg", false),
    ("png", true),
    ("jpg", true),
    ("jpeg", true),
    ("ico", true),
    ("woff2", true),
];

/// One file of the site, by its path under `public/` (segments joined by `/`).
#[derive(Debug, Clone)]
pub struct SiteFile {
    pub rel: String,
}

/// A scratch website for one run: a copy of the kit's `public/`, random
/// files of every type in the book's table (in nested folders, with
/// upper-case extensions, non-ASCII names and names at the file system's
/// length limit), and bait files just outside it.
pub struct Site {
    _dir: tempfile::TempDir,
    pub public: PathBuf,
    /// `folder/name.css`, served only by a server that really reads files.
    pub extra_css: String,
    pub extra_json: String,
    /// Every regular file that must be served, by relative path.
    pub files: Vec<SiteFile>,
    /// Folders under `public/` (never served).
    pub folders: Vec<String>,
    /// Files that exist under `public/` but must never be served (a `\` in
    /// the name: the book refuses such segments).
    pub refused: Vec<String>,
    /// Contents of the files outside `public/` that must never be served.
    pub secret: String,
    pub secret_name: String,
    /// A name one byte over the file system's limit (255 bytes), which
    /// no file can have.
    pub too_long: String,
}

pub fn make_site(cx: &mut Ctx) -> Result<Site, Failure> {
    let io = |e: std::io::Error| Failure::new(format!("could not prepare the test website: {e}"));
    let dir = tempfile::Builder::new().prefix("grade-site-").tempdir().map_err(io)?;
    let public = dir.path().join("public");
    harness::fs::copy_dir(&cx.exercise_dir().join("public"), &public).map_err(io)?;
    let mut files: Vec<SiteFile> =
        ["index.html", "style.css", "app.js"].iter().map(|f| SiteFile { rel: f.to_string() }).collect();
    let write = |rel: &str, bytes: Vec<u8>, files: &mut Vec<SiteFile>| -> Result<(), Failure> {
        let path = public.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(path, bytes).map_err(io)?;
        files.push(SiteFile { rel: rel.to_string() });
        Ok(())
    };

    let folder = format!("assets-{}", cx.word(6));
    let deep = format!("{folder}/{}", cx.word(4));
    let extra_css = format!("{folder}/{}.css", cx.word(7));
    let css = format!("/* {} */\nbody {{ color: #{:06x}; }}\n", cx.word(12), cx.rng().u32(..0xffffff));
    write(&extra_css, css.into_bytes(), &mut files)?;
    let extra_json = format!("data-{}.json", cx.word(5));
    write(&extra_json, json!({ "token": cx.word(16) }).to_string().into_bytes(), &mut files)?;

    // One file per extension of the table, at a random depth, plus the same
    // type with its extension in another case.
    for (ext, binary) in TABLE {
        let place = [String::new(), format!("{folder}/"), format!("{deep}/")];
        let at = cx.rng().usize(..place.len());
        let name = format!("{}{}.{ext}", place[at], cx.word(5));
        let bytes = contents(cx, *binary);
        write(&name, bytes, &mut files)?;
    }
    for ext in pick(cx, TABLE, 4) {
        let upper = mixed_case(cx, ext.0);
        let name = format!("{}.{upper}", cx.word(5));
        let bytes = contents(cx, ext.1);
        write(&name, bytes, &mut files)?;
    }
    // Names the table does not know: a random extension, none at all, a
    // trailing dot, and a known type after another dot.
    let unknown = [
        format!("{}.{}", cx.word(5), cx.word(3)),
        format!("{folder}/{}", cx.word(6)),
        format!("{}.", cx.word(5)),
        format!("{}.min.js", cx.word(4)),
        format!("{}.{}.css", cx.word(4), cx.word(3)),
    ];
    for name in unknown {
        let binary = cx.rng().bool();
        let bytes = contents(cx, binary);
        write(&name, bytes, &mut files)?;
    }
    // Names a URL must percent-encode or that carry characters with a
    // meaning elsewhere: non-ASCII, a space, `+`, `%`, sub-delimiters.
    let special = [
        format!("café-{}.css", cx.word(4)),
        format!("日本-{}.txt", cx.word(3)),
        format!("{folder}/ünï-{}.json", cx.word(3)),
        format!("{} {}.txt", cx.word(3), cx.word(3)),
        format!("{}+{}.js", cx.word(3), cx.word(2)),
        format!("100%-{}.txt", cx.word(3)),
        format!("{}(1)&x=y;z,!$'*@:~.html", cx.word(3)),
    ];
    for name in special {
        let bytes = contents(cx, false);
        write(&name, bytes, &mut files)?;
    }
    // Names at the length limit of a file name (255 bytes on Linux), with
    // multi-byte characters, and one a byte shorter.
    let long = long_name(cx, 255);
    let long_ok = write(&long, contents(cx, false), &mut files).is_ok();
    let shorter = long_name(cx, 254);
    let _ = write(&shorter, contents(cx, false), &mut files);
    let too_long = if long_ok { format!("x{long}") } else { "x".repeat(256) };

    let mut refused = Vec::new();
    let backslash = format!("{}\\{}.txt", cx.word(3), cx.word(3));
    if std::fs::write(public.join(&backslash), contents(cx, false)).is_ok() {
        refused.push(backslash);
    }

    let secret = format!("secret-{}", cx.word(24));
    let secret_name = format!("{}.txt", cx.word(8));
    std::fs::write(dir.path().join(&secret_name), &secret).map_err(io)?;
    std::fs::write(dir.path().join("Cargo.toml"), format!("[package]\n# {secret}\n")).map_err(io)?;
    Ok(Site {
        public,
        extra_css,
        extra_json,
        files,
        folders: vec![folder, deep],
        refused,
        secret,
        secret_name,
        too_long,
        _dir: dir,
    })
}

fn contents(cx: &mut Ctx, binary: bool) -> Vec<u8> {
    let len = cx.rng().usize(1..400);
    if binary {
        (0..len).map(|_| cx.rng().u8(..)).collect()
    } else {
        let words: Vec<String> = (0..len / 6 + 1).map(|_| cx.word(5)).collect();
        format!("{}\n", words.join(" ")).into_bytes()
    }
}

fn pick<'a, T>(cx: &mut Ctx, from: &'a [T], n: usize) -> Vec<&'a T> {
    let mut all: Vec<&T> = from.iter().collect();
    cx.rng().shuffle(&mut all);
    all.truncate(n);
    all
}

/// `css` as `CSS`, `Css` or `cSs`: never all lower case.
fn mixed_case(cx: &mut Ctx, ext: &str) -> String {
    loop {
        let s: String = ext.chars().map(|c| if cx.rng().bool() { c.to_ascii_uppercase() } else { c }).collect();
        if s != ext {
            return s;
        }
    }
}

/// A `.txt` file name of exactly `bytes` bytes, mixing one-, two- and
/// three-byte characters.
fn long_name(cx: &mut Ctx, bytes: usize) -> String {
    let mut name = String::from("long-");
    let room = bytes - name.len() - ".txt".len();
    let three = cx.rng().usize(..=room / 3);
    let two = cx.rng().usize(..=(room - 3 * three) / 2);
    let one = room - 3 * three - 2 * two;
    let mut chars: Vec<char> = std::iter::repeat_n('日', three)
        .chain(std::iter::repeat_n('é', two))
        .chain(std::iter::repeat_n('a', one))
        .collect();
    cx.rng().shuffle(&mut chars);
    name.extend(chars);
    name.push_str(".txt");
    debug_assert_eq!(name.len(), bytes);
    name
}

fn spawn_for(site: &Site) -> Spawn {
    Spawn::default().env("PUBLIC_DIR", site.public.to_string_lossy())
}

/// Start the student's server on a free port, serving `site`.
pub async fn start(cx: &mut Ctx, site: &Site) -> Result<(Proc, Client), Failure> {
    let (proc, client) = harness::process::start_http(cx, spawn_for(site)).await?;
    let client = Client::new(client.addr(), STEP);
    Ok((proc, client))
}

/// The student's server and the reference, both serving `site`.
pub struct Pair {
    pub servers: Servers,
    yours: Client,
    reference: Client,
}

impl Pair {
    pub async fn start(cx: &Ctx, site: &Site) -> Result<Pair, Failure> {
        let servers = Servers::start(cx, spawn_for(site)).await?;
        let yours = Client::new(servers.client(Side::Yours).addr(), STEP);
        let reference = Client::new(servers.client(Side::Reference).addr(), STEP);
        Ok(Pair { servers, yours, reference })
    }

    pub fn client(&self, side: Side) -> Client {
        match side {
            Side::Yours => self.yours.clone(),
            Side::Reference => self.reference.clone(),
        }
    }

    /// What the student's server printed so far.
    pub fn output(&self) -> String {
        self.servers.proc(Side::Yours).output()
    }
}
