use grade_protocol::{Diff, Outcome, Status};

use crate::http::Exchange;

/// Why a check failed: a message plus the evidence a student needs.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    // Boxed: checks return Result<(), Failure>, which stays small this way.
    outcome: Box<Outcome>,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            outcome: Box::new(Outcome { status: Some(Status::Fail), message: message.into(), ..Outcome::default() }),
        }
    }

    /// The check cannot run on this machine (a missing tool): reported as
    /// skipped, never as passed. Say what to install.
    pub fn skip(message: impl Into<String>) -> Self {
        let message = message.into();
        if std::env::var_os(grade_protocol::env::REQUIRE_TOOLS).is_some() {
            return Failure::new(format!(
                "a required tool is missing ({} is set): {message}",
                grade_protocol::env::REQUIRE_TOOLS
            ));
        }
        Failure { outcome: Box::new(Outcome { status: Some(Status::Skip), message, ..Outcome::default() }) }
    }

    /// Attach the request that showed the problem and what came back.
    pub fn with_exchange(mut self, exchange: &Exchange) -> Self {
        self.outcome.request = Some(exchange.curl());
        self.outcome.response = Some(exchange.response_text());
        self
    }

    /// Attach a request that got no usable response.
    pub fn with_request(mut self, curl: impl Into<String>) -> Self {
        self.outcome.request = Some(curl.into());
        self
    }

    /// Attach what came back, as a transcript (a sequence of steps and what
    /// each did, for checks that are not one request).
    pub fn with_response(mut self, transcript: impl Into<String>) -> Self {
        self.outcome.response = Some(transcript.into());
        self
    }

    pub fn with_output(mut self, output: impl Into<String>) -> Self {
        let output = output.into();
        if !output.trim().is_empty() {
            self.outcome.output = Some(output);
        }
        self
    }

    pub fn with_diff(mut self, name: &str, reference: String, yours: String) -> Self {
        self.outcome.diff = Some(Diff { name: name.to_string(), reference, yours });
        self
    }

    pub fn message(&self) -> &str {
        &self.outcome.message
    }

    /// What the program printed, when the failure carries it.
    pub fn output(&self) -> Option<&str> {
        self.outcome.output.as_deref()
    }

    pub(crate) fn into_outcome(self) -> Outcome {
        *self.outcome
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.outcome.message)
    }
}
