//! `tcpsim plot FILE [--stream N] --kind ladder|sequence|window [-o out.svg]`:
//! one connection of a capture or timeline as a picture.

use super::CliError;
use crate::plot;
use crate::plot::from_timeline;
use crate::plot::input::{self, InputKind};
use crate::timeline::schema::Timeline;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Two time axes (client, server) with one arrow per segment.
    Ladder,
    /// Stevens / tcptrace time-sequence graph of the main data direction.
    Sequence,
    /// Advertised window, bytes in flight, cwnd and ssthresh against time.
    Window,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Svg,
    /// Plain text (ladder only), as `tcpsim simulate` prints it.
    Text,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A capture (pcap, pcapng) or a timeline JSON / JSON-lines file written by
    /// `tcpsim timeline` or `tcpsim simulate`; the kind is told by content.
    pub file: PathBuf,
    /// The connection to draw (tcp.stream index). Default: the first one.
    #[arg(long)]
    pub stream: Option<u32>,
    /// Which picture.
    #[arg(long, value_enum, default_value_t = Kind::Ladder)]
    pub kind: Kind,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Svg)]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
}

/// Loads a capture or timeline, naming the file in any error. A capture that
/// breaks off part way yields the packets before the fault and the fault,
/// which the caller reports after writing its output.
pub fn load(path: &Path) -> Result<(InputKind, Timeline, Option<CliError>), CliError> {
    let l = input::load_partial(path).map_err(|e| CliError::new(e.to_string()))?;
    Ok((
        l.kind,
        l.timeline,
        l.fault.map(|e| CliError::new(e.to_string())),
    ))
}

/// Writes `text` to `output` or standard output; a closed pipe is not an error.
pub fn write_output(output: Option<&Path>, text: &str) -> Result<(), CliError> {
    match output {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| CliError::new(format!("{}: cannot write: {e}", p.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if !super::is_broken_pipe(&e) => {
                    Err(CliError::new(format!("standard output: {e}")))
                }
                _ => Ok(()),
            }
        }
    }
}

pub fn run(args: Args) -> Result<(), CliError> {
    let (_, timeline, fault) = load(&args.file)?;
    let file = args.file.display();
    if timeline.connections.is_empty() {
        return Err(
            fault.unwrap_or_else(|| CliError::new(format!("{file}: no TCP connection to draw")))
        );
    }
    let conn = match args.stream {
        None => &timeline.connections[0],
        Some(n) => timeline
            .connections
            .iter()
            .find(|c| c.stream == n)
            .ok_or_else(|| {
                CliError::new(format!(
                    "{file}: no TCP connection with stream index {n} (streams {}..={})",
                    timeline.connections[0].stream,
                    timeline.connections[timeline.connections.len() - 1].stream
                ))
            })?,
    };
    if args.format == Format::Text && args.kind != Kind::Ladder {
        return Err(CliError::usage("--format text is only for --kind ladder"));
    }
    let simulated = timeline.source.kind == crate::timeline::schema::SourceKind::Simulation;
    let conv = from_timeline::conversation(conn, simulated);
    let text = match (args.kind, args.format) {
        (Kind::Ladder, Format::Text) => plot::ladder_text(&conv),
        (Kind::Ladder, Format::Svg) => plot::ladder_svg(&conv),
        (Kind::Sequence, _) => plot::sequence_svg(&conv),
        (Kind::Window, _) => plot::window_svg(&conv),
    };
    write_output(args.output.as_deref(), &text)?;
    // What was read before a fault is drawn; the fault still fails the command.
    fault.map_or(Ok(()), Err)
}
