//! `tcpsim report FILE -o report.html`: one self-contained HTML page with the
//! connection table, each connection's verdict and its three pictures.

use super::plot::{load, write_output};
use super::CliError;
use crate::plot::from_timeline;
use crate::plot::report::{self, Report, ReportEntry, Selection};
use crate::timeline::schema::SourceKind;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A capture (pcap, pcapng) or a timeline JSON / JSON-lines file.
    pub file: PathBuf,
    /// Write the HTML here instead of standard output.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Draw pictures for this connection (repeatable); default: the largest.
    #[arg(long)]
    pub stream: Vec<u32>,
    /// Without --stream: draw pictures for this many connections with the
    /// most packets; the rest are only listed.
    #[arg(long, default_value_t = 10)]
    pub largest: usize,
}

pub fn run(args: Args) -> Result<(), CliError> {
    let (_, timeline, fault) = load(&args.file)?;
    let simulated = timeline.source.kind == SourceKind::Simulation;
    let first_ns = from_timeline::first_packet_ns(&timeline);
    let entries = timeline
        .connections
        .iter()
        .map(|c| ReportEntry {
            conversation: from_timeline::conversation(c, simulated),
            verdict: from_timeline::verdict_text(c),
            row: from_timeline::table_row(c, first_ns),
        })
        .collect();
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rep = Report {
        title: format!("tcpsim report: {name}"),
        source: args.file.display().to_string(),
        columns: from_timeline::table_columns(),
        entries,
    };
    let sel = if args.stream.is_empty() {
        Selection::Largest(args.largest)
    } else {
        for s in &args.stream {
            if !timeline.connections.iter().any(|c| c.stream == *s) {
                return Err(CliError::new(format!(
                    "{}: no TCP connection with stream index {s}",
                    args.file.display()
                )));
            }
        }
        Selection::Streams(args.stream.iter().map(|s| u64::from(*s)).collect())
    };
    write_output(args.output.as_deref(), &report::render(&rep, &sel))?;
    // What was read before a fault is in the report; the fault still fails the command.
    fault.map_or(Ok(()), Err)
}
