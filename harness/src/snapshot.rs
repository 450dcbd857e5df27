//! Snapshot checks: the student's normalised output against the one recorded
//! from the reference solution, stored as insta `.snap` files.
//!
//! Grading only ever reads snapshots. Recording happens when the grader runs
//! the reference with `GRADE_BLESS` set (`cargo grade bless NN`), into a
//! scratch folder the grader then compares and copies.

use insta::internals::TextSnapshotContents;
use insta::TextSnapshotKind;

use crate::{CheckResult, Ctx, Failure};

/// Compare `yours` with the snapshot `name`, or record it when blessing.
pub fn compare(cx: &Ctx, name: &str, yours: &str) -> CheckResult {
    if let Some(dir) = cx.bless_dir() {
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(dir);
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_description(format!(
            "check {} of the hidden suite, recorded from the reference solution",
            cx.check_id()
        ));
        settings.bind(|| insta::assert_snapshot!(name.to_string(), yours));
        return Ok(());
    }
    let path = cx.snapshots().join(format!("{name}.snap"));
    let reference = match insta::Snapshot::from_file(&path) {
        Ok(s) => s,
        Err(e) => {
            return Err(Failure::new(format!(
                "the kit has no usable reference snapshot `{name}` ({}: {e}); an instructor records it with `cargo grade bless`",
                path.display()
            )))
        }
    };
    let Some(reference) = reference.as_text() else {
        return Err(Failure::new(format!("the reference snapshot `{name}` is not text")));
    };
    let yours_contents = TextSnapshotContents::new(yours.to_string(), TextSnapshotKind::File);
    if reference.matches_latest(&yours_contents) {
        Ok(())
    } else {
        Err(Failure::new(format!("the response differs from the reference solution's (snapshot `{name}`)")).with_diff(
            name,
            reference.to_string(),
            yours_contents.to_string(),
        ))
    }
}
