//! Gradescope's `results.json`: a score per test, visible to the student,
//! with the explanation as the test's output.

use serde_json::{json, Value};

use crate::result::{CheckState, Grade};

pub fn render(grades: &[Grade]) -> Value {
    let several = grades.len() > 1;
    let mut tests = Vec::new();
    for g in grades {
        for c in &g.checks {
            let name = if several {
                format!("{} {}: {}", g.exercise, c.id, c.title)
            } else {
                format!("{}: {}", c.id, c.title)
            };
            let mut output = super::details(c);
            if matches!(c.state, CheckState::Skipped | CheckState::Unavailable) {
                output = format!("(not run) {output}");
            }
            tests.push(json!({
                "name": name,
                "score": c.points,
                "max_score": c.max_points,
                "status": if c.state == CheckState::Pass { "passed" } else { "failed" },
                "output": output,
                "visibility": "visible",
                "tags": [g.exercise.clone(), c.stage.clone()],
            }));
        }
    }
    let score: u32 = grades.iter().map(|g| g.score).sum();
    let seeds: Vec<String> = grades.iter().map(|g| format!("{} seed {}", g.exercise, g.seed)).collect();
    json!({
        "score": score,
        "execution_time": grades.iter().map(|g| g.duration_ms).sum::<u64>() / 1000,
        "output": format!("Graded by cargo grade ({}).", seeds.join(", ")),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    })
}

pub fn reporter() -> Box<dyn super::Reporter> {
    Box::new(super::Whole(|grades, _| super::json::pretty(&render(grades))))
}
