//! Expectations shared by the checks of several stages: JSON answers, JSON
//! errors, files served as they are on disk.

use std::path::Path;

use harness::http::Exchange;
use harness::{CheckResult, Failure};
use serde_json::Value;

pub fn expect_json(ex: &Exchange, status: u16) -> CheckResult {
    if ex.response.status != status {
        return Err(ex.fail(format!(
            "{} {} must answer {status}, got {}",
            ex.request.method, ex.request.path, ex.response.status
        )));
    }
    if ex.response.media_type().as_deref() != Some("application/json") {
        return Err(ex.fail(format!(
            "{} {} must send Content-Type: application/json, got {:?}",
            ex.request.method,
            ex.request.path,
            ex.response.header("content-type").unwrap_or("(none)")
        )));
    }
    if ex.response.json().is_none() {
        return Err(ex.fail("the body is not valid JSON"));
    }
    Ok(())
}

pub fn ensure_eq_json(ex: &Exchange, expected: &Value) -> CheckResult {
    match ex.response.json() {
        Some(v) if &v == expected => Ok(()),
        _ => Err(ex.fail(format!("{} {} must answer {expected}", ex.request.method, ex.request.path))),
    }
}

pub fn error_message(ex: &Exchange) -> Option<String> {
    ex.response.json()?.get("error")?.as_str().map(str::to_string)
}

pub fn expect_error_body(ex: &Exchange) -> CheckResult {
    if ex.response.media_type().as_deref() != Some("application/json") || error_message(ex).is_none() {
        return Err(ex.fail(format!(
            "an error must be JSON like {{\"error\": \"what went wrong\"}} with Content-Type: application/json (status {})",
            ex.response.status
        )));
    }
    Ok(())
}

pub fn expect_file(ex: &Exchange, file: &Path, types: &[&str]) -> CheckResult {
    let path = &ex.request.path;
    if ex.response.status != 200 {
        return Err(ex.fail(format!(
            "GET {path} must serve the file {}, got status {}",
            short(file),
            ex.response.status
        )));
    }
    let media = ex.response.media_type().unwrap_or_default();
    if !types.contains(&media.as_str()) {
        return Err(ex.fail(format!(
            "GET {path} must be sent with Content-Type: {}, got {:?}; browsers refuse stylesheets and scripts with the wrong type",
            types[0],
            ex.response.header("content-type").unwrap_or("(none)")
        )));
    }
    let expected = std::fs::read(file).map_err(|e| Failure::new(format!("cannot read {}: {e}", file.display())))?;
    if ex.response.body != expected {
        return Err(ex.fail(format!("GET {path} must send the bytes of the file {} as they are on disk", short(file))));
    }
    Ok(())
}

fn short(p: &Path) -> String {
    let parts: Vec<_> = p.components().rev().take(2).collect();
    parts.iter().rev().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}
