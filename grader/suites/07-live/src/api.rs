//! The HTTP side, as 05-like defined it: like, unlike, and the list of
//! notifications (the table, the truth a socket's pushes are compared with).

use harness::http::{Client, Request};
use harness::process::Proc;
use harness::Failure;
use serde_json::Value;

use crate::world::Person;

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// `POST /api/posts/{post}/like` as `who`; 200 expected.
pub async fn like(client: &Client, proc: &Proc, post: i64, who: &Person) -> Result<(), Failure> {
    let req = Request::new("POST", format!("/api/posts/{post}/like")).header("authorization", bearer(&who.token));
    expect_200(client, proc, req).await.map(|_| ())
}

/// `DELETE /api/posts/{post}/like` as `who`; 200 expected.
pub async fn unlike(client: &Client, proc: &Proc, post: i64, who: &Person) -> Result<(), Failure> {
    let req = Request::new("DELETE", format!("/api/posts/{post}/like")).header("authorization", bearer(&who.token));
    expect_200(client, proc, req).await.map(|_| ())
}

/// `GET /api/notifications` as `who`: the list, OLDEST first (the API
/// answers newest first).
pub async fn notes(client: &Client, proc: &Proc, who: &Person) -> Result<Vec<Value>, Failure> {
    let req = Request::get("/api/notifications").header("authorization", bearer(&who.token));
    let body = expect_200(client, proc, req).await?;
    let mut list = body.get("notifications").and_then(Value::as_array).cloned().unwrap_or_default();
    list.reverse();
    Ok(list)
}

async fn expect_200(client: &Client, proc: &Proc, req: Request) -> Result<Value, Failure> {
    let ex = client.send(req).await.map_err(|f| f.with_output(proc.output()))?;
    if ex.response.status != 200 {
        return Err(ex.fail(format!(
            "{} {} must answer 200 as in 05-like (the given part), got {}",
            ex.request.method, ex.request.path, ex.response.status
        )));
    }
    ex.response.json().ok_or_else(|| ex.fail("the answer is not JSON"))
}
