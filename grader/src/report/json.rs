//! The machine-readable report, schema `grade-report/1` (docs/src/grading.md).
//! Fields are only ever added within a schema version.

use serde_json::{json, Value};

use crate::result::Grade;

pub const SCHEMA: &str = "grade-report/1";

pub fn render(g: &Grade) -> Value {
    json!({
        "schema": SCHEMA,
        "exercise": g.exercise,
        "title": g.title,
        "status": g.status,
        "score": g.score,
        "max_score": g.max_score,
        "seed": g.seed,
        "subject": g.subject,
        "chapter": g.chapter,
        "duration_ms": g.duration_ms,
        "reused": g.reused_from.is_some(),
        "first_failing_stage": g.first_failing_stage().map(|s| s.id.clone()),
        "stages": g.stages.iter().map(|s| json!({
            "id": s.id,
            "title": s.title,
            "status": s.state,
        })).collect::<Vec<_>>(),
        "checks": g.checks.iter().map(|c| {
            let mut v = json!({
                "id": c.id,
                "stage": c.stage,
                "title": c.title,
                "status": c.state,
                "score": c.points,
                "max_score": c.max_points,
                "message": c.outcome.message,
                "duration_ms": c.outcome.duration_ms,
            });
            let o = v.as_object_mut().expect("object");
            if let Some(r) = &c.outcome.request { o.insert("request".into(), r.clone().into()); }
            if let Some(r) = &c.outcome.response { o.insert("response".into(), r.clone().into()); }
            if let Some(out) = &c.outcome.output { o.insert("output".into(), out.clone().into()); }
            if let Some(d) = &c.outcome.diff {
                o.insert("diff".into(), json!({ "snapshot": d.name, "reference": d.reference, "yours": d.yours }));
            }
            v
        }).collect::<Vec<_>>(),
    })
}

/// Several grades in one run (`--submission` with several exercises): schema
/// `grade-run/1`, the totals and each exercise's `grade-report/1`.
/// A single grade renders as its own report.
pub fn render_many(grades: &[Grade]) -> Value {
    if let [one] = grades {
        return render(one);
    }
    let status = grades.iter().map(|g| g.status).max_by_key(|s| s.exit_code()).unwrap_or(crate::result::Status::Pass);
    json!({
        "schema": "grade-run/1",
        "status": status,
        "score": grades.iter().map(|g| g.score).sum::<u32>(),
        "max_score": grades.iter().map(|g| g.max_score).sum::<u32>(),
        "grades": grades.iter().map(render).collect::<Vec<_>>(),
    })
}

pub fn reporter() -> Box<dyn super::Reporter> {
    Box::new(super::Whole(|grades, _| pretty(&render_many(grades))))
}

/// Pretty JSON with a final newline.
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("a JSON value always serialises") + "\n"
}
