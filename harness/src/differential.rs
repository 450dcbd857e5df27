//! Differential checks: the right answer is whatever the reference solution
//! answers. The subject and the reference get the same seeded random cases;
//! the first case where their normalised answers differ is shrunk to the
//! smallest case that still shows the difference, and reported as the input,
//! your answer and the reference's answer, with the rule the case tests.

use std::fmt::Write as _;
use std::future::Future;
use std::path::Path;

use crate::http::Client;
use crate::process::{start_http_bin, Proc, Spawn};
use crate::{CheckResult, Ctx, Failure};

/// Which program answered a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Yours,
    Reference,
}

/// One input of a differential check.
pub trait Case: Clone {
    /// Simpler versions of this case, most promising first (fewer steps,
    /// shorter strings, fewer headers). The default: none.
    fn shrink(&self) -> Vec<Self> {
        Vec::new()
    }

    /// The case as a student reproduces it by hand: a curl command, a rule
    /// file and a request, a sequence of steps.
    fn show(&self) -> String;
}

/// A differential check's settings: what rule its cases test, and how much
/// work shrinking a failing case may take.
pub struct Differential {
    rule: String,
    shrink_budget: usize,
}

impl Differential {
    /// `rule` names what the cases test and what to do about a difference,
    /// in the words of the stage's advice: it leads the failure message.
    pub fn new(rule: impl Into<String>) -> Self {
        Differential { rule: rule.into(), shrink_budget: 60 }
    }

    /// At most this many extra cases are tried while shrinking.
    pub fn shrink_budget(mut self, probes: usize) -> Self {
        self.shrink_budget = probes;
        self
    }

    /// Send every case to both sides with `probe` (which returns the side's
    /// normalised answer) and fail on the first difference, shrunk.
    ///
    /// A probe error on your side is an answer (`no answer: ...`) like any
    /// other; on the reference's side it is a fault of the kit, reported as
    /// such.
    pub async fn run<C, F, Fut>(&self, cases: impl IntoIterator<Item = C>, mut probe: F) -> CheckResult
    where
        C: Case,
        F: FnMut(Side, C) -> Fut,
        Fut: Future<Output = Result<String, Failure>>,
    {
        let mut total = 0usize;
        for case in cases {
            total += 1;
            let Some((yours, reference, output)) = answers(&mut probe, &case).await? else {
                continue;
            };
            let (case, yours, reference, output, steps) =
                self.shrink(&mut probe, case, yours, reference, output).await?;
            let mut message =
                format!("{}\n\nYour program and the reference answered case {total} differently", self.rule);
            if steps > 0 {
                let _ = write!(message, " (shown shrunk to the smallest case that still differs, in {steps} steps)");
            }
            message.push_str(": the input is under `request`, the two answers below it.");
            return Err(Failure::new(message)
                .with_request(case.show())
                .with_diff("answer", reference, yours)
                .with_output(output));
        }
        Ok(())
    }

    async fn shrink<C, F, Fut>(
        &self,
        probe: &mut F,
        mut case: C,
        mut yours: String,
        mut reference: String,
        mut output: String,
    ) -> Result<(C, String, String, String, usize), Failure>
    where
        C: Case,
        F: FnMut(Side, C) -> Fut,
        Fut: Future<Output = Result<String, Failure>>,
    {
        let mut tried = 0;
        let mut steps = 0;
        let budget = if std::env::var_os(grade_protocol::env::VERDICT_ONLY).is_some() { 0 } else { self.shrink_budget };
        'smaller: while tried < budget {
            for candidate in case.shrink() {
                if tried >= budget {
                    break 'smaller;
                }
                tried += 1;
                if let Some((y, r, o)) = answers(probe, &candidate).await? {
                    (case, yours, reference, output) = (candidate, y, r, o);
                    steps += 1;
                    continue 'smaller;
                }
            }
            break;
        }
        Ok((case, yours, reference, output, steps))
    }
}

/// Both answers to `case` when they differ (with your side's error output),
/// `None` when they agree.
async fn answers<C, F, Fut>(probe: &mut F, case: &C) -> Result<Option<(String, String, String)>, Failure>
where
    C: Case,
    F: FnMut(Side, C) -> Fut,
    Fut: Future<Output = Result<String, Failure>>,
{
    let reference = probe(Side::Reference, case.clone()).await.map_err(|f| {
        Failure::new(format!(
            "the kit's reference solution could not answer a case, so this check cannot judge yours; \
             please report it with the seed. The reference said: {}",
            f.message()
        ))
        .with_request(case.show())
    })?;
    let (yours, output) = match probe(Side::Yours, case.clone()).await {
        Ok(a) => (a, String::new()),
        Err(f) => (format!("no answer: {}", f.message()), f.output().unwrap_or_default().to_string()),
    };
    Ok((yours != reference).then_some((yours, reference, output)))
}

/// The reference binary, or a "not run" verdict when the suite runs without
/// the grader (by hand, `cargo run -p ...-suite`).
pub fn reference(cx: &Ctx) -> Result<&Path, Failure> {
    cx.reference().ok_or_else(|| {
        Failure::skip(
            "this differential check needs the reference solution beside your program; run it through `cargo grade`",
        )
    })
}

/// Your server and the reference's, started the same way on ports of their
/// own, for differential checks of HTTP exercises.
pub struct Servers {
    pub yours: (Proc, Client),
    pub reference: (Proc, Client),
}

impl Servers {
    /// Start both with the same `spec` (each on a free port).
    pub async fn start(cx: &Ctx, spec: Spawn) -> Result<Servers, Failure> {
        Self::start_each(cx, spec.clone(), spec).await
    }

    /// Start both, each with its own spec (a rule file of its own, say).
    pub async fn start_each(cx: &Ctx, yours: Spawn, reference: Spawn) -> Result<Servers, Failure> {
        let reference_bin = crate::differential::reference(cx)?;
        let reference = start_http_bin(cx, reference_bin, reference).await.map_err(|f| {
            Failure::new(format!("the kit's reference solution did not start; please report it: {}", f.message()))
        })?;
        let yours = start_http_bin(cx, cx.subject(), yours).await?;
        Ok(Servers { yours, reference })
    }

    pub fn client(&self, side: Side) -> &Client {
        match side {
            Side::Yours => &self.yours.1,
            Side::Reference => &self.reference.1,
        }
    }

    pub fn proc(&self, side: Side) -> &Proc {
        match side {
            Side::Yours => &self.yours.0,
            Side::Reference => &self.reference.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list of numbers; the "program" under test sums them, wrongly when
    /// a 7 is present.
    #[derive(Clone, Debug)]
    struct Nums(Vec<u32>);

    impl Case for Nums {
        fn shrink(&self) -> Vec<Self> {
            (0..self.0.len())
                .map(|i| {
                    let mut v = self.0.clone();
                    v.remove(i);
                    Nums(v)
                })
                .collect()
        }
        fn show(&self) -> String {
            format!("{:?}", self.0)
        }
    }

    fn sum(side: Side, n: Nums) -> impl Future<Output = Result<String, Failure>> {
        async move {
            let s: u32 = n.0.iter().sum();
            let bug = side == Side::Yours && n.0.contains(&7);
            Ok(format!("{}", if bug { s + 1 } else { s }))
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn agreeing_cases_pass() {
        let cases = vec![Nums(vec![1, 2]), Nums(vec![3])];
        assert!(block_on(Differential::new("sums").run(cases, sum)).is_ok());
    }

    #[test]
    fn the_first_difference_is_shrunk_and_shown() {
        let cases = vec![Nums(vec![1, 2]), Nums(vec![4, 7, 9, 1])];
        let f = block_on(Differential::new("add every number").run(cases, sum)).unwrap_err();
        assert!(f.message().starts_with("add every number"), "{}", f.message());
        assert!(f.message().contains("case 2"), "{}", f.message());
        let o = f.clone().into_outcome();
        assert_eq!(o.request.as_deref(), Some("[7]"), "shrunk to the one number that matters");
        let d = o.diff.expect("a diff");
        assert_eq!((d.reference.as_str(), d.yours.as_str()), ("7", "8"));
    }

    #[test]
    fn a_reference_that_cannot_answer_is_the_kits_fault() {
        let f = block_on(Differential::new("r").run(vec![Nums(vec![1])], |side, _n: Nums| async move {
            match side {
                Side::Reference => Err(Failure::new("boom")),
                Side::Yours => Ok(String::new()),
            }
        }))
        .unwrap_err();
        assert!(f.message().contains("reference solution could not answer"), "{}", f.message());
    }
}
