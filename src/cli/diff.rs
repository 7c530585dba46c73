//! `tcpsim diff A.json B.json`: where two timelines part, in words.

use super::CliError;
use crate::replay::diff::{diff_timelines, DiffOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// First timeline (JSON, as `tcpsim timeline` or `tcpsim simulate -o` write it).
    pub a: PathBuf,
    /// Second timeline.
    pub b: PathBuf,
    /// Leave this field out wherever it appears (repeatable), e.g. `--ignore time`.
    #[arg(long = "ignore", value_name = "FIELD")]
    pub ignore: Vec<String>,
    /// Show at most this many differing events.
    #[arg(long, default_value_t = 10)]
    pub max: usize,
    /// Print the differences as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Reads a JSON document, naming the file on failure.
pub fn read_json(path: &Path) -> Result<serde_json::Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::new(format!("{}: cannot read: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        CliError::new(format!(
            "{}: not valid JSON at line {} column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

pub fn run(args: Args) -> Result<(), CliError> {
    let a = read_json(&args.a)?;
    let b = read_json(&args.b)?;
    let d = diff_timelines(
        &a,
        &b,
        &DiffOptions {
            ignore: args.ignore,
        },
    );
    let text = if args.json {
        serde_json::to_string_pretty(&d)
            .map_err(|e| CliError::new(format!("cannot write JSON: {e}")))?
            + "\n"
    } else {
        format!(
            "A = {}\nB = {}\n{}",
            args.a.display(),
            args.b.display(),
            d.render("A", "B", args.max.max(1))
        )
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if !super::is_broken_pipe(&e) {
            return Err(CliError::new(format!("cannot write output: {e}")));
        }
    }
    if d.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(format!(
            "timelines differ: {} event(s)",
            d.differing_events()
        )))
    }
}
