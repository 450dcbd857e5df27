//! Which code the student writes: mutants are kept only inside it.
//!
//! A function of the reference is the student's when the stub has it with a
//! `todo!()` (or `unimplemented!()`) body, or does not have it at all (a
//! helper the student adds). A function the stub already has with a real
//! body is given code: the student does not write it, so a check cannot be
//! asked to notice it broken. Functions are matched by name within their
//! file (modules, `impl` and trait included), never by line, so the stub and
//! the reference need not line up.

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};

/// A function of a file: its name in context and where its body is.
#[derive(Debug, Clone)]
pub struct Function {
    /// e.g. `impl IntoResponse for AppError :: into_response`.
    pub key: String,
    /// 1-based line, 1-based column (characters), like cargo-mutants.
    pub start: (usize, usize),
    pub end: (usize, usize),
    /// The body is a `todo!()`.
    pub todo: bool,
}

/// Every function of `text` with a body (free, in `impl`, trait defaults,
/// in inline modules). Nested functions are not listed: their enclosing
/// function stands for them.
pub fn functions(text: &str) -> Result<Vec<Function>> {
    let file = syn::parse_file(text).map_err(|e| anyhow!("cannot parse: {e}"))?;
    let mut out = Vec::new();
    items(&file.items, &mut Vec::new(), &mut out);
    Ok(out)
}

fn items(list: &[syn::Item], ctx: &mut Vec<String>, out: &mut Vec<Function>) {
    for item in list {
        match item {
            syn::Item::Fn(f) => out.push(function(ctx, &f.sig, &f.block)),
            syn::Item::Impl(i) => {
                let ty = type_name(&i.self_ty);
                let name = match &i.trait_ {
                    Some((_, path, _)) => format!("impl {} for {ty}", last_ident(path)),
                    None => format!("impl {ty}"),
                };
                ctx.push(name);
                for it in &i.items {
                    if let syn::ImplItem::Fn(f) = it {
                        out.push(function(ctx, &f.sig, &f.block));
                    }
                }
                ctx.pop();
            }
            syn::Item::Trait(t) => {
                ctx.push(format!("trait {}", t.ident));
                for it in &t.items {
                    if let syn::TraitItem::Fn(f) = it {
                        if let Some(block) = &f.default {
                            out.push(function(ctx, &f.sig, block));
                        }
                    }
                }
                ctx.pop();
            }
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    ctx.push(format!("mod {}", m.ident));
                    items(inner, ctx, out);
                    ctx.pop();
                }
            }
            _ => {}
        }
    }
}

fn function(ctx: &[String], sig: &syn::Signature, block: &syn::Block) -> Function {
    let mut key = ctx.join(" :: ");
    if !key.is_empty() {
        key.push_str(" :: ");
    }
    key.push_str(&sig.ident.to_string());
    let start = sig.fn_token.span.start();
    let end = block.brace_token.span.close().end();
    Function { key, start: (start.line, start.column + 1), end: (end.line, end.column + 1), todo: is_todo(block) }
}

fn is_todo(block: &syn::Block) -> bool {
    let is_todo_macro =
        |m: &syn::Macro| m.path.segments.last().is_some_and(|s| s.ident == "todo" || s.ident == "unimplemented");
    block.stmts.iter().any(|s| match s {
        syn::Stmt::Macro(m) => is_todo_macro(&m.mac),
        syn::Stmt::Expr(syn::Expr::Macro(m), _) => is_todo_macro(&m.mac),
        _ => false,
    })
}

fn last_ident(path: &syn::Path) -> String {
    path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default()
}

fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => last_ident(&p.path),
        syn::Type::Reference(r) => type_name(&r.elem),
        _ => "?".into(),
    }
}

/// Who writes a function of the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A `todo!()` in the stub, or absent from it.
    Student,
    /// In the stub with its body: given code.
    Given,
}

/// The stub's functions, file by file: key -> is it a `todo!()`.
pub struct Stub {
    files: BTreeMap<String, BTreeMap<String, bool>>,
}

impl Stub {
    /// `files`: path relative to the crate (`src/api.rs`) -> text. A file
    /// that does not parse counts as absent (every function the student's).
    pub fn new<'a>(files: impl IntoIterator<Item = (String, &'a str)>) -> Stub {
        let files = files
            .into_iter()
            .filter_map(|(path, text)| {
                let fns = functions(text).ok()?;
                Some((path, fns.into_iter().map(|f| (f.key, f.todo)).collect()))
            })
            .collect();
        Stub { files }
    }

    pub fn owner(&self, file: &str, key: &str) -> Owner {
        match self.files.get(file).and_then(|fns| fns.get(key)) {
            Some(false) => Owner::Given,
            Some(true) | None => Owner::Student,
        }
    }

    /// The functions the stub leaves to the student (`todo!()`), per file.
    pub fn todo_count(&self) -> usize {
        self.files.values().flat_map(|f| f.values()).filter(|t| **t).count()
    }
}

/// The innermost listed function of `fns` that contains `at`.
pub fn enclosing(fns: &[Function], at: (usize, usize)) -> Option<&Function> {
    fns.iter().filter(|f| f.start <= at && at < f.end).min_by_key(|f| (f.end.0 - f.start.0, f.end.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn todo_bodies_and_given_bodies_are_told_apart() {
        let stub = r#"
            pub fn a() -> u32 { todo!("write me") }
            pub fn given() -> u32 { 1 }
            struct S;
            impl S { fn m(&self) { let _ = self; todo!() } }
            impl std::fmt::Display for S {
                fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, "s") }
            }
            mod inner { pub fn b() { unimplemented!() } }
        "#;
        let s = Stub::new([("src/lib.rs".to_string(), stub)]);
        assert_eq!(s.owner("src/lib.rs", "a"), Owner::Student);
        assert_eq!(s.owner("src/lib.rs", "given"), Owner::Given);
        assert_eq!(s.owner("src/lib.rs", "impl S :: m"), Owner::Student);
        assert_eq!(s.owner("src/lib.rs", "impl Display for S :: fmt"), Owner::Given);
        assert_eq!(s.owner("src/lib.rs", "mod inner :: b"), Owner::Student);
        assert_eq!(s.owner("src/lib.rs", "helper_the_student_adds"), Owner::Student);
        assert_eq!(s.owner("src/other.rs", "given"), Owner::Student, "a file the stub lacks is the student's");
        assert_eq!(s.todo_count(), 3);
    }

    #[test]
    fn a_position_finds_its_innermost_function() {
        let text = "fn a() {\n    1 + 1;\n}\n\nimpl X {\n    fn b(&self) -> bool {\n        true\n    }\n}\n";
        let fns = functions(text).unwrap();
        assert_eq!(enclosing(&fns, (2, 7)).map(|f| f.key.as_str()), Some("a"));
        assert_eq!(enclosing(&fns, (7, 9)).map(|f| f.key.as_str()), Some("impl X :: b"));
        assert!(enclosing(&fns, (4, 1)).is_none());
    }
}
