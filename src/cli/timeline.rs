//! `tcpsim timeline FILE [--jsonl] [--stream N] [--pretty] [-o OUT]`: the
//! story of each connection in a capture as JSON (schema in
//! docs/timeline-schema.md).
//!
//! Without `--jsonl`, one document; numbers come out as at the end of the
//! capture (like `tshark -2`). With `--jsonl`, one line per packet as it is
//! analyzed and one summary line per connection when it ends, then a
//! `source` line; memory stays bounded by the live connections.

use super::output::BackgroundWriter;
use super::tcp_input::{for_each_tcp_packet, TcpInputStats};
use super::CliError;
use crate::timeline::{event_from, JsonlLine, Source, SourceKind, TimelineBuilder, SCHEMA_VERSION};
use crate::track::{Analyzer, AnalyzerOptions, ConnSummary};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Capture file (pcap or pcapng).
    pub file: PathBuf,
    /// Stream one JSON object per line: an event per packet, a summary per
    /// finished connection, a source line at the end.
    #[arg(long)]
    pub jsonl: bool,
    /// Only this connection (tcp.stream index).
    #[arg(long)]
    pub stream: Option<u32>,
    /// Indent the JSON document.
    #[arg(long, conflicts_with = "jsonl")]
    pub pretty: bool,
    /// Write here instead of standard output.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

fn out_err(e: io::Error) -> CliError {
    CliError::new(format!("cannot write output: {e}"))
}

/// The output file or standard output (written by a thread of its own),
/// behind a buffer that takes serde's many small writes without dynamic
/// dispatch.
fn open_output(path: &Option<PathBuf>) -> Result<BufWriter<Box<dyn Write>>, CliError> {
    let inner: Box<dyn Write> = match path {
        Some(p) => Box::new(
            File::create(p)
                .map_err(|e| CliError::new(format!("{}: cannot create: {e}", p.display())))?,
        ),
        None => Box::new(BackgroundWriter::new(io::stdout())),
    };
    Ok(BufWriter::with_capacity(1 << 16, inner))
}

fn source_of(path: &Path) -> Source {
    Source {
        kind: SourceKind::Capture,
        name: path.display().to_string(),
        seed: None,
        packets: 0,
    }
}

fn finish_input(stats: TcpInputStats) -> Result<(), CliError> {
    match stats.error {
        Some(e) => Err(CliError::new(e.to_string())),
        None => Ok(()),
    }
}

pub fn run(args: Args) -> Result<(), CliError> {
    let mut out = open_output(&args.output)?;
    let r = if args.jsonl {
        run_jsonl(&args, &mut out)
    } else {
        run_document(&args, &mut out)
    };
    match r {
        Err(e) if e.message.contains("Broken pipe") => Ok(()),
        other => other,
    }
}

fn run_document<W: Write>(args: &Args, out: &mut W) -> Result<(), CliError> {
    let mut b = TimelineBuilder::new(source_of(&args.file));
    let stats = for_each_tcp_packet(&args.file, |p| {
        b.push_input(p);
    })
    .map_err(|e| CliError::new(e.to_string()))?;
    let mut t = b.finish();
    if let Some(s) = args.stream {
        t.connections.retain(|c| c.stream == s);
    }
    let r = if args.pretty {
        serde_json::to_writer_pretty(&mut *out, &t)
    } else {
        serde_json::to_writer(&mut *out, &t)
    };
    r.map_err(|e| out_err(e.into()))?;
    writeln!(out).and_then(|_| out.flush()).map_err(out_err)?;
    finish_input(stats)
}

fn write_line<W: Write>(out: &mut W, line: &JsonlLine) -> io::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")
}

fn write_summaries<W: Write>(
    out: &mut W,
    list: impl Iterator<Item = ConnSummary>,
    only: Option<u32>,
) -> io::Result<()> {
    for s in list {
        if only.is_some_and(|n| n != s.stream) {
            continue;
        }
        write_line(
            out,
            &JsonlLine::Connection(Box::new(s.into_connection(Vec::new()))),
        )?;
    }
    Ok(())
}

fn run_jsonl<W: Write>(args: &Args, out: &mut W) -> Result<(), CliError> {
    let mut an = Analyzer::new(AnalyzerOptions::bounded());
    let mut werr: Option<io::Error> = None;
    let stats = for_each_tcp_packet(&args.file, |p| {
        if werr.is_some() {
            return;
        }
        let a = an.push_input(p);
        let r = (|| {
            if args.stream.is_none_or(|n| n == a.stream) {
                let ev = event_from(&p.info, &a, None);
                write_line(
                    out,
                    &JsonlLine::Event {
                        stream: a.stream,
                        event: ev,
                    },
                )?;
            }
            write_summaries(out, an.drain_finished(), args.stream)
        })();
        if let Err(e) = r {
            werr = Some(e);
        }
    })
    .map_err(|e| CliError::new(e.to_string()))?;
    if let Some(e) = werr {
        return Err(out_err(e));
    }
    let packets = an.packets();
    write_summaries(out, an.finish().into_iter(), args.stream).map_err(out_err)?;
    let mut source = source_of(&args.file);
    source.packets = packets;
    write_line(
        out,
        &JsonlLine::Source {
            schema_version: SCHEMA_VERSION,
            source,
        },
    )
    .map_err(out_err)?;
    out.flush().map_err(out_err)?;
    finish_input(stats)
}
