//! One file per subcommand. Each exposes `Args` (clap) and `run(args) -> Result<(), CliError>`.
//! main.rs maps errors to one line on stderr and a non-zero exit.

pub mod agreement;
pub mod check;
pub mod conns;
pub mod decode;
mod decode_hex;
mod decode_json;
mod decode_text;
pub mod diff;
pub mod export;
pub mod fields;
pub mod output;
pub mod plot;
pub mod replay;
pub mod report;
pub mod run;
pub mod simulate;
pub mod tcp_input;
pub mod timeline;

use std::fmt;

/// An error the CLI prints as one line and turns into a non-zero exit.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: i32,
}

impl CliError {
    pub fn new(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 1,
        }
    }
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 2,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Writing to a closed pipe (`tcpsim decode x | head`) ends the program quietly.
pub fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}
