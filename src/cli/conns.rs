//! `tcpsim conns FILE [--json]`: one row per connection, what
//! `tshark -q -z conv,tcp` shows (frames and bytes each way, relative start,
//! duration) plus both endpoints' final states, Zeek's conn_state and history.
//! Memory stays bounded by the live connections: rows are printed in stream
//! order as connections finish.

use super::tcp_input::for_each_tcp_batch;
use super::CliError;
use crate::timeline::conn_table::{self, ConnRow};
use crate::timeline::Connection;
use crate::track::{Analyzer, AnalyzerOptions, ConnSummary};
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::thread;

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
    out: &'a mut (dyn Write + Send),
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

fn write_header(out: &mut dyn Write, json: bool) -> io::Result<()> {
    if json {
        out.write_all(b"[\n")
    } else {
        let mut header = Vec::with_capacity(256);
        conn_table::write_header(&mut header);
        header.push(b'\n');
        out.write_all(&header)
    }
}

pub fn run(args: Args) -> Result<(), CliError> {
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout());
    let r = conns(&args, &mut out);
    match r {
        Err(e) if e.message.contains("Broken pipe") => Ok(()),
        other => other,
    }
}

/// Finished connections handed to the printing thread at a time, with the
/// time their start is printed relative to.
const ROWS_PER_BATCH: usize = 256;
type Rows = (i64, Vec<ConnSummary>);

/// The analyzer runs on this thread, fed by the decoding thread of
/// [`for_each_tcp_batch`]; rows are formatted and written by a third, so
/// that formatting does not hold up the analysis.
fn conns(args: &Args, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    let werr = |e: io::Error| CliError::new(format!("cannot write output: {e}"));
    let json = args.json;
    let (to_printer, rows) = sync_channel::<Rows>(4);
    let (stats, printed) = thread::scope(|s| {
        // The header goes out with the first rows (every readable file
        // sends some, if only the final empty batch): a file that cannot
        // be opened prints nothing but the error.
        let printer = s.spawn(move || -> io::Result<()> {
            let mut ordered = Ordered {
                out,
                json,
                first_ns: 0,
                next: 0,
                pending: BTreeMap::new(),
                printed: 0,
                line: Vec::with_capacity(256),
                scratch: Vec::with_capacity(64),
            };
            let mut started = false;
            for (first_ns, batch) in rows {
                if !started {
                    started = true;
                    write_header(ordered.out, json)?;
                }
                ordered.first_ns = first_ns;
                for s in batch {
                    ordered.add(s)?;
                }
            }
            if started {
                ordered.flush_all()?;
                if json {
                    ordered.out.write_all(b"\n]\n")?;
                }
            }
            ordered.out.flush()
        });
        let mut an = Analyzer::new(AnalyzerOptions::bounded());
        // Starts are printed relative to the file's first record, as
        // tshark's "Rel Start" is (it may be another protocol's).
        let mut first_ns = 0;
        let mut done: Vec<ConnSummary> = Vec::with_capacity(ROWS_PER_BATCH);
        // A closed printer (write error) has its error returned by join.
        let mut printer_open = true;
        let stats = for_each_tcp_batch(&args.file, |batch, first_time_ns| {
            first_ns = first_time_ns;
            for p in batch {
                an.push_input(p);
            }
            done.extend(an.drain_finished());
            if done.len() >= ROWS_PER_BATCH && printer_open {
                let batch = std::mem::replace(&mut done, Vec::with_capacity(ROWS_PER_BATCH));
                printer_open = to_printer.send((first_ns, batch)).is_ok();
            }
        });
        if let Ok(stats) = &stats {
            let first = stats.first_time_ns.unwrap_or(first_ns);
            done.extend(an.finish());
            if printer_open {
                let _ = to_printer.send((first, done));
            }
        }
        drop(to_printer);
        let printed = printer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (stats, printed)
    });
    let stats = stats.map_err(|e| CliError::new(e.to_string()))?;
    printed.map_err(werr)?;
    match stats.error {
        Some(e) => Err(CliError::new(e.to_string())),
        None => Ok(()),
    }
}
