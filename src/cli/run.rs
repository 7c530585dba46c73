//! `tcpsim run SCENARIO`: real sockets on loopback, captured and analysed.

use super::CliError;
use crate::runner::scenario::{Family, Scenario, ScenarioConfig};
use crate::runner::{self, RunConfig, RunReport};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario to run.
    #[arg(value_enum, required_unless_present = "serve_stdin")]
    pub scenario: Option<Scenario>,
    /// Write the capture here (pcap, Ethernet, snaplen 262144).
    #[arg(long)]
    pub pcap: Option<PathBuf>,
    /// Write the timeline of the capture here (JSON).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The server's port (default: a free port the kernel picks).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Use ::1 instead of 127.0.0.1.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Run the sockets without capturing (no CAP_NET_RAW needed).
    #[arg(long)]
    pub no_capture: bool,
    /// echo, half-close: how many lines.
    #[arg(long, default_value_t = 5)]
    pub lines: usize,
    /// bulk, slow-reader: how many bytes the client sends (default: bulk 1 MiB, slow-reader 64 KiB).
    #[arg(long)]
    pub bytes: Option<usize>,
    /// concurrent, concurrent-fork: how many clients.
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    /// Internal: serve one connection handed over as standard input (concurrent-fork).
    #[arg(long, hide = true)]
    pub serve_stdin: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    if args.serve_stdin {
        return runner::scenario::serve_stdin()
            .map(|_| ())
            .map_err(|e| CliError::new(format!("serve-stdin: {e}")));
    }
    let Some(scenario) = args.scenario else {
        return Err(CliError::usage("a scenario is required"));
    };
    if args.clients == 0 || args.clients > 1000 {
        return Err(CliError::usage("--clients must be between 1 and 1000"));
    }
    let bytes = args.bytes.unwrap_or(if scenario == Scenario::SlowReader {
        64 << 10
    } else {
        1 << 20
    });
    if bytes > 256 << 20 {
        return Err(CliError::usage("--bytes must be at most 268435456"));
    }
    let cfg = RunConfig {
        scenario,
        settings: ScenarioConfig {
            family: if args.ipv6 { Family::V6 } else { Family::V4 },
            port: args.port,
            lines: args.lines,
            bytes,
            clients: args.clients,
            worker_exe: None,
        },
        capture: !args.no_capture,
    };
    let report = runner::run(&cfg).map_err(|e| CliError::new(e.to_string()))?;
    if let (Some(path), Some(capture)) = (&args.pcap, &report.capture) {
        runner::write_pcap(path, capture)
            .map_err(|e| CliError::new(format!("writing {}: {e}", path.display())))?;
    }
    match print_report(&report) {
        Err(e) if super::is_broken_pipe(&e) => Ok(()),
        r => r.map_err(|e| CliError::new(format!("writing the report: {e}"))),
    }
}

fn print_report(r: &RunReport) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "scenario {} on {}", r.scenario.name(), r.server)?;
    for f in &r.outcome.expected_failures {
        let tag = if f.expected { "expected" } else { "UNEXPECTED" };
        writeln!(out, "  {tag}: {}: {}", f.action, f.outcome)?;
    }
    if let Some(c) = &r.capture {
        let drops = c
            .kernel_drops
            .map_or("unknown".to_string(), |d| d.to_string());
        writeln!(
            out,
            "capture: {} frames kept, kernel drops {drops}",
            c.frames.len()
        )?;
    }
    for d in &r.data_checks {
        writeln!(
            out,
            "data {} -> {}: written {}, on wire {}, read {}: {}",
            d.from,
            d.to,
            d.written,
            d.on_wire,
            d.read.map_or("?".to_string(), |n| n.to_string()),
            if d.ok {
                "intact".to_string()
            } else {
                format!("DIFFERS at byte {:?}", d.first_difference)
            }
        )?;
    }
    for s in &r.samples {
        writeln!(out, "kernel at {:?}:", s.label)?;
        for k in &s.sockets {
            writeln!(out, "  {} -> {} {}", k.local, k.remote, k.state)?;
        }
    }
    Ok(())
}
