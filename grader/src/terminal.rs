//! The terminal: colour decisions and the one-line progress status.

use std::io::{IsTerminal, Write};

use crate::cli::ColorChoice;

pub(crate) fn color(choice: ColorChoice, stream_is_tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stream_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// A one-line "building ..." status on stderr, only on a terminal.
pub(crate) struct Status_ {
    on: bool,
    label: String,
    crates: usize,
}

impl Status_ {
    pub(crate) fn new(label: &str) -> Self {
        let on = std::io::stderr().is_terminal();
        let s = Status_ { on, label: label.to_string(), crates: 0 };
        s.show("");
        s
    }
    fn show(&self, what: &str) {
        if self.on {
            let extra = if self.crates > 3 { " (the first build compiles the dependencies once)" } else { "" };
            eprint!("\r\x1b[2K{} {what}{extra}", self.label);
            let _ = std::io::stderr().flush();
        }
    }
    pub(crate) fn compiling(&mut self, krate: &str) {
        self.crates += 1;
        self.show(&format!("compiling {krate} ({})", self.crates));
    }
    pub(crate) fn clear(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}
