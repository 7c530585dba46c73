//! `tcpsim conns FILE [--json]`: one row per connection, what
//! `tshark -q -z conv,tcp` shows (frames and bytes each way, relative start,
//! duration) plus both endpoints' final states, Zeek's conn_state and history.
//! Memory stays bounded by the live connections: rows are printed in stream
//! order as connections finish.

use super::tcp_input::for_each_tcp_packet;
use super::CliError;
use crate::timeline::conn_table::{self, ConnRow};
use crate::timeline::Connection;
use crate::track::{Analyzer, AnalyzerOptions, ConnSummary};
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Capture file (pcap or pcapng).
    pub file: PathBuf,
    /// One JSON array of connections (the timeline schema's Connection,
    /// without events).
    #[arg(long)]
    pub json: bool,
}

/// Prints rows in stream order although connections finish out of order.
struct Ordered<'a> {
    out: &'a mut dyn Write,
    json: bool,
    first_ns: i64,
    next: u32,
    pending: BTreeMap<u32, ConnSummary>,
    printed: u64,
    line: Vec<u8>,
    scratch: Vec<u8>,
}

impl Ordered<'_> {
    fn add(&mut self, s: ConnSummary) -> io::Result<()> {
        self.pending.insert(s.stream, s);
        while let Some(s) = self.pending.remove(&self.next) {
            self.print(s)?;
            self.next += 1;
        }
        Ok(())
    }

    fn flush_all(&mut self) -> io::Result<()> {
        while let Some((_, s)) = self.pending.pop_first() {
            self.print(s)?;
        }
        Ok(())
    }

    fn print(&mut self, s: ConnSummary) -> io::Result<()> {
        if self.json {
            if self.printed > 0 {
                self.out.write_all(b",\n")?;
            }
            let c: Connection = s.into_connection(Vec::new());
            serde_json::to_writer(&mut *self.out, &c)?;
        } else {
            self.line.clear();
            let row = ConnRow {
                stream: s.stream,
                client: &s.client,
                server: &s.server,
                verdict: &s.verdict,
            };
            row.write_text(&mut self.line, self.first_ns, &mut self.scratch);
            if s.roles_guessed {
                self.line.extend_from_slice(b" (roles guessed)");
            }
            self.line.push(b'\n');
            self.out.write_all(&self.line)?;
        }
        self.printed += 1;
        Ok(())
    }
}

pub fn run(args: Args) -> Result<(), CliError> {
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let r = conns(&args, &mut out);
    match r {
        Err(e) if e.message.contains("Broken pipe") => Ok(()),
        other => other,
    }
}

fn conns(args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    let werr = |e: io::Error| CliError::new(format!("cannot write output: {e}"));
    let mut an = Analyzer::new(AnalyzerOptions::bounded());
    if args.json {
        out.write_all(b"[\n").map_err(werr)?;
    } else {
        let mut header = Vec::with_capacity(256);
        conn_table::write_header(&mut header);
        header.push(b'\n');
        out.write_all(&header).map_err(werr)?;
    }
    let mut first_ns: Option<i64> = None;
    let mut ordered = Ordered {
        out,
        json: args.json,
        first_ns: 0,
        next: 0,
        pending: BTreeMap::new(),
        printed: 0,
        line: Vec::with_capacity(256),
        scratch: Vec::with_capacity(64),
    };
    let mut failed: Option<io::Error> = None;
    let stats = for_each_tcp_packet(&args.file, |p| {
        if first_ns.is_none() {
            first_ns = Some(p.info.time_ns);
        }
        an.push_input(p);
        for s in an.drain_finished() {
            if failed.is_none() {
                ordered.first_ns = first_ns.unwrap_or(0);
                if let Err(e) = ordered.add(s) {
                    failed = Some(e);
                }
            }
        }
    })
    .map_err(|e| CliError::new(e.to_string()))?;
    if let Some(e) = failed {
        return Err(werr(e));
    }
    ordered.first_ns = stats.first_time_ns.or(first_ns).unwrap_or(0);
    for s in an.finish() {
        ordered.add(s).map_err(werr)?;
    }
    ordered.flush_all().map_err(werr)?;
    if args.json {
        ordered.out.write_all(b"\n]\n").map_err(werr)?;
    }
    ordered.out.flush().map_err(werr)?;
    match stats.error {
        Some(e) => Err(CliError::new(e.to_string())),
        None => Ok(()),
    }
}
