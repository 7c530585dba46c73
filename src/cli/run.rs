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
    if let (Some(path), Some(timeline)) = (&args.json, &report.timeline) {
        let write = || -> std::io::Result<()> {
            let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
            serde_json::to_writer_pretty(&mut f, timeline)?;
            f.write_all(b"\n")?;
            f.flush()
        };
        write().map_err(|e| CliError::new(format!("writing {}: {e}", path.display())))?;
    }
    if (args.pcap.is_some() || args.json.is_some()) && report.capture.is_none() {
        eprintln!("tcpsim: --no-capture: nothing captured, so no --pcap or --json written");
    }
    match print_report(&report) {
        Err(e) if super::is_broken_pipe(&e) => return Ok(()),
        r => r.map_err(|e| CliError::new(format!("writing the report: {e}")))?,
    }
    if report.capture.is_some() && !report.all_good() {
        return Err(CliError::new(format!(
            "{}: some checks failed (see the report above)",
            scenario.name()
        )));
    }
    Ok(())
}

fn print_report(r: &RunReport) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "scenario {} on {}", r.scenario.name(), r.server)?;
    for f in &r.outcome.expected_failures {
        let tag = if f.expected { "expected" } else { "UNEXPECTED" };
        writeln!(out, "  {tag}: {}: {}", f.action, f.outcome)?;
    }
    let Some(c) = &r.capture else {
        writeln!(out, "not captured (--no-capture): the kernel's view only")?;
        for s in &r.samples {
            writeln!(out, "kernel at {:?}:", s.label)?;
            for k in &s.sockets {
                writeln!(out, "  {} -> {} {}", k.local, k.remote, k.state)?;
            }
        }
        return Ok(());
    };
    let drops = c
        .kernel_drops
        .map_or("unknown".to_string(), |d| d.to_string());
    writeln!(
        out,
        "capture: {} frames on lo (each once), kernel drops: {drops}",
        c.frames.len()
    )?;
    if let Some(d) = c.kernel_drops.filter(|&d| d > 0) {
        writeln!(
            out,
            "CAPTURE INCOMPLETE: the kernel dropped {d} frames the capture thread could not take in time; checks that need them fail"
        )?;
    }
    writeln!(out, "connections: {}", r.verdicts.len())?;
    // With many connections, list the first few and every one with a problem.
    let many = r.verdicts.len() > 8;
    for (i, v) in r.verdicts.iter().enumerate() {
        let ok = v.handshake && v.all_acknowledged && v.close_seen;
        if many && i >= 3 && ok {
            continue;
        }
        let yes = |b: bool| if b { "yes" } else { "NO" };
        let flags: Vec<String> = v.flags.iter().map(|(k, n)| format!("{k} x{n}")).collect();
        writeln!(
            out,
            "  stream {} {} -> {}: {} packets, handshake {}, every byte acknowledged {}, close seen {}{}, final states client {} / server {}{}",
            v.stream,
            v.client,
            v.server,
            v.packets,
            yes(v.handshake),
            yes(v.all_acknowledged),
            yes(v.close_seen),
            if v.rst_seen { " (RST)" } else { "" },
            v.final_client,
            v.final_server,
            if flags.is_empty() { String::new() } else { format!(", flags: {}", flags.join(", ")) }
        )?;
    }
    if many {
        writeln!(
            out,
            "  ... ({} more, all complete)",
            r.verdicts.len().saturating_sub(3)
        )?;
    }
    let bad: Vec<_> = r.data_checks.iter().filter(|d| !d.ok).collect();
    let bytes: usize = r.data_checks.iter().map(|d| d.written).sum();
    writeln!(
        out,
        "data end to end: {} directions, {bytes} bytes written = on the wire = read: {}",
        r.data_checks.len(),
        if bad.is_empty() {
            "yes".to_string()
        } else {
            format!("NO, {} directions differ", bad.len())
        }
    )?;
    for d in bad {
        writeln!(
            out,
            "  {} -> {}: written {}, on wire {}, read {}, first difference at byte {:?}, {} bytes beyond",
            d.from,
            d.to,
            d.written,
            d.on_wire,
            d.read.map_or("?".to_string(), |n| n.to_string()),
            d.first_difference,
            d.beyond_written
        )?;
    }
    let disagree = r.states.iter().filter(|s| !s.agree).count();
    writeln!(
        out,
        "kernel (/proc/net/tcp) vs inferred states: {} rows, {disagree} disagreements",
        r.states.len()
    )?;
    let show_all = r.states.len() <= 64;
    for s in &r.states {
        if !show_all && s.agree {
            continue;
        }
        let kernel = s.kernel.map_or("(none)".to_string(), |k| k.to_string());
        writeln!(
            out,
            "  {:<34} {:<6} {} -> {}  kernel {:<12} inferred {:<12} {}",
            s.step,
            s.role,
            s.local,
            s.remote,
            kernel,
            s.inferred.name(),
            if s.agree { "agree" } else { "DISAGREE" }
        )?;
    }
    writeln!(
        out,
        "verdict: {}",
        if r.all_good() {
            "all checks passed"
        } else {
            "SOME CHECKS FAILED"
        }
    )?;
    Ok(())
}
