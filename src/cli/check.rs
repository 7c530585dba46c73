//! `tcpsim check DIR [--bless]`: rebuild each fixture's timeline from its
//! source and compare it with the expected one; `--bless` rewrites the
//! expectations that differ.

use super::CliError;
use crate::replay::check::{check_dir, rebuild, render_results};
use crate::replay::diff::DiffOptions;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory of fixtures: NAME.json expected timelines naming their source.
    #[arg(default_value = "fixtures")]
    pub dir: PathBuf,
    /// Rewrite the expectations that differ with what tcpsim produces now.
    #[arg(long)]
    pub bless: bool,
    /// Show at most this many differing events per fixture.
    #[arg(long, default_value_t = 5)]
    pub max: usize,
}

pub fn run(args: Args) -> Result<(), CliError> {
    let results = check_dir(&args.dir, args.bless, &DiffOptions::default(), &rebuild)
        .map_err(|e| CliError::new(e.to_string()))?;
    let text = render_results(&results, args.max.max(1));
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if !super::is_broken_pipe(&e) {
            return Err(CliError::new(format!("cannot write output: {e}")));
        }
    }
    let failed = results.iter().filter(|r| !r.passed() && !r.blessed).count();
    if failed > 0 {
        return Err(CliError::new(format!(
            "{failed} fixture(s) differ from their expected timeline"
        )));
    }
    Ok(())
}
