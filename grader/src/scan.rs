//! Reading a submission before it is built. Rust can read files while it
//! compiles (`include!`, `include_str!`, `include_bytes!`, `#[path]`,
//! `#[debugger_visualizer]`): a submission that pointed them at the
//! reference solution would pass without the work. Those that stay inside
//! the submission's own `src/` are fine; any other is refused with the file
//! and line, before anything is compiled.
//!
//! The source is tokenized with `proc-macro2` (the lexer `syn` uses), so a
//! comment or a string that mentions a macro is never mistaken for one, and
//! macro calls nested in other macros' arguments are seen too.

use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use crate::stage::SourceFiles;

/// A compile-time read that leaves `src/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file, relative to `src/`.
    pub file: PathBuf,
    /// Where in it (1-based), as far as it can be told.
    pub line: usize,
    /// What was found, as written (`include_str!`, `#[path]`).
    pub what: String,
    /// The path it would read, when it is a plain string.
    pub target: Option<String>,
}

const READERS: [&str; 3] = ["include", "include_str", "include_bytes"];

/// Every compile-time read in `files` that would leave `src/`.
pub fn compile_time_reads(files: &SourceFiles) -> Vec<Finding> {
    let mut out = Vec::new();
    for (rel, bytes) in files.iter().filter(|(p, _)| p.extension().is_some_and(|e| e == "rs")) {
        let text = String::from_utf8_lossy(bytes);
        // A file that does not even tokenize is the compiler's to explain.
        let Ok(tokens) = TokenStream::from_str(&text) else { continue };
        let mut found = Vec::new();
        walk(tokens, &mut found);
        for (what, target) in found {
            if target.as_deref().is_some_and(|t| stays_inside(rel, t)) {
                continue;
            }
            out.push(Finding { file: rel.clone(), line: line_of(&text, &what), what, target });
        }
    }
    out
}

/// Collect (construct, literal argument) for every reader in `tokens`.
fn walk(tokens: TokenStream, found: &mut Vec<(String, Option<String>)>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(id) if READERS.contains(&id.to_string().as_str()) => {
                let bang = matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                if let (true, Some(TokenTree::Group(args))) = (bang, trees.get(i + 2)) {
                    found.push((format!("{id}!"), first_literal(args.stream())));
                }
            }
            TokenTree::Punct(p) if p.as_char() == '#' => {
                let attr = trees[i + 1..].iter().find(|t| !matches!(t, TokenTree::Punct(p) if p.as_char() == '!'));
                if let Some(TokenTree::Group(g)) = attr {
                    if g.delimiter() == Delimiter::Bracket {
                        attribute(g.stream(), found);
                    }
                }
            }
            _ => {}
        }
        if let TokenTree::Group(g) = tree {
            walk(g.stream(), found);
        }
    }
}

/// `path = "..."` (also inside `cfg_attr`) and `debugger_visualizer(...)`.
fn attribute(tokens: TokenStream, found: &mut Vec<(String, Option<String>)>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(id) if id == "path" => {
                if matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '=') {
                    let target = trees.get(i + 2).and_then(|t| literal(&t.to_string()));
                    found.push(("#[path]".to_string(), target));
                }
            }
            TokenTree::Ident(id) if id == "debugger_visualizer" => {
                found.push(("#[debugger_visualizer]".to_string(), None));
            }
            TokenTree::Group(g) => attribute(g.stream(), found),
            _ => {}
        }
    }
}

fn first_literal(tokens: TokenStream) -> Option<String> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    // Exactly one plain string literal: anything computed (concat!, env!)
    // cannot be checked, so it is refused.
    match trees.as_slice() {
        [TokenTree::Literal(l)] => literal(&l.to_string()),
        _ => None,
    }
}

/// The value of a plain `"..."` literal without escapes.
fn literal(token: &str) -> Option<String> {
    let inner = token.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then(|| inner.to_string())
}

/// Whether `target`, read from the file `rel` (relative to `src/`), stays
/// inside `src/`. `#[path]` on a module is relative to the file's folder as
/// well (close enough: anything that climbs out is refused either way).
fn stays_inside(rel: &Path, target: &str) -> bool {
    let t = Path::new(target);
    if t.is_absolute() {
        return false;
    }
    let mut depth: i32 = rel.parent().map(|p| p.components().count() as i32).unwrap_or(0);
    for c in t.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// The first line that holds the construct outside a line comment.
fn line_of(text: &str, what: &str) -> usize {
    let needle = match what {
        "#[path]" => "path",
        "#[debugger_visualizer]" => "debugger_visualizer",
        m => m.trim_end_matches('!'),
    };
    text.lines()
        .position(|l| {
            let code = l.split("//").next().unwrap_or("");
            code.contains(needle) && (what.starts_with('#') || code[code.find(needle).unwrap_or(0)..].contains('!'))
        })
        .map(|i| i + 1)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(name: &str, code: &str) -> Vec<Finding> {
        let mut files = SourceFiles::new();
        files.insert(PathBuf::from(name), code.as_bytes().to_vec());
        compile_time_reads(&files)
    }

    #[test]
    fn reads_that_leave_src_are_found_with_their_line() {
        let code = "// include_str!(\"/etc/passwd\") in a comment is fine\nfn main() {\n    let s = \"include_bytes!(x)\";\n    println!(\"{}\", include_str!(\"../../../../solutions/01-bind/src/main.rs\"));\n}\n";
        let f = scan("main.rs", code);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].what.as_str(), f[0].line), ("include_str!", 4));
        assert_eq!(f[0].target.as_deref(), Some("../../../../solutions/01-bind/src/main.rs"));
    }

    #[test]
    fn every_reader_is_seen_absolute_and_computed_paths_too() {
        let code = r#"
#[path = "/work/kit/solutions/01-bind/src/api.rs"]
mod api;
#[cfg_attr(unix, path = "../x.rs")]
mod b;
#![debugger_visualizer(natvis_file = "a.natvis")]
const A: &[u8] = include_bytes!(concat!(env!("HOME"), "/x"));
include!("/tmp/gen.rs");
"#;
        let whats: Vec<String> = scan("main.rs", code).into_iter().map(|f| f.what).collect();
        assert_eq!(whats, ["#[path]", "#[path]", "#[debugger_visualizer]", "include_bytes!", "include!"]);
    }

    #[test]
    fn reads_inside_src_are_allowed() {
        assert!(scan("main.rs", "const P: &str = include_str!(\"page.html\");\n#[path = \"impls/a.rs\"]\nmod a;")
            .is_empty());
        assert!(scan("api/mod.rs", "const P: &str = include_str!(\"../page.html\");").is_empty());
        assert_eq!(scan("api/mod.rs", "const P: &str = include_str!(\"../../Cargo.toml\");").len(), 1);
    }
}
