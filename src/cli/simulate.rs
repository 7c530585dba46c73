//! `tcpsim simulate [SCENARIO.json | --builtin NAME] [--seed N] [-o timeline.json]
//! [--pcap out.pcap] [--list]`: run two simulated endpoints, print a ladder
//! diagram and a summary, write the timeline and a pcap.

use super::CliError;
use crate::sim::builtin::{builtin, BUILTINS};
use crate::sim::output;
use crate::sim::{Outcome, Scenario, Sim};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario file (JSON, format in docs/scenarios.md).
    pub scenario: Option<PathBuf>,
    /// Run a built-in scenario instead (see --list).
    #[arg(long, conflicts_with = "scenario")]
    pub builtin: Option<String>,
    /// Seed for the links' random faults (overrides the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the timeline JSON (same schema as `tcpsim timeline`) here.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Indent the timeline JSON.
    #[arg(long)]
    pub pretty: bool,
    /// Write every segment as a pcap (Ethernet, IPv4, correct checksums).
    #[arg(long)]
    pub pcap: Option<PathBuf>,
    /// List the built-in scenarios.
    #[arg(long)]
    pub list: bool,
    /// Print the scenario as JSON instead of running it.
    #[arg(long)]
    pub dump: bool,
    /// Print only the summary, not the ladder.
    #[arg(short, long)]
    pub quiet: bool,
    /// Most ladder rows printed (0 = all).
    #[arg(long, default_value_t = 400)]
    pub max_rows: usize,
    /// Benchmark: run without recording segments, print wall time and rate.
    #[arg(long, hide = true)]
    pub bench: bool,
}

fn summary(o: &Outcome, wall: f64) -> String {
    let seg = o.stats[0].segments_sent + o.stats[1].segments_sent;
    let mut s = String::new();
    s.push_str(&format!(
        "simulated {:.6} s in {:.3} s wall: {} segments ({:.2} M/s)\n",
        o.end.as_nanos() as f64 / 1e9,
        wall,
        seg,
        seg as f64 / wall.max(1e-9) / 1e6
    ));
    for (i, name) in ["client", "server"].iter().enumerate() {
        let st = &o.stats[i];
        let app = &o.apps[i];
        s.push_str(&format!(
            "{name}: {} | wrote {} read {}{} | sent {} segments, {} retransmitted ({} fast, {} timeouts), {} zero-window probes\n",
            o.states[i],
            app.written,
            app.read,
            if app.eof { " + EOF" } else { "" },
            st.segments_sent,
            st.retransmitted_segments,
            st.fast_retransmits,
            st.timeouts,
            st.zero_window_probes,
        ));
        for e in &app.errors {
            s.push_str(&format!("{name}: application call refused: {e}\n"));
        }
        if app.corrupt_bytes > 0 || o.integrity_errors[i] > 0 {
            s.push_str(&format!(
                "{name}: INTEGRITY: {} corrupt bytes read, {} misplaced segments\n",
                app.corrupt_bytes, o.integrity_errors[i]
            ));
        }
    }
    for (i, dir) in ["client->server", "server->client"].iter().enumerate() {
        let l = &o.links[i];
        if l.dropped + l.queue_drops + l.duplicated + l.reordered + l.corrupted > 0 {
            s.push_str(&format!(
                "link {dir}: {} dropped, {} queue drops, {} duplicated, {} reordered, {} corrupted\n",
                l.dropped, l.queue_drops, l.duplicated, l.reordered, l.corrupted
            ));
        }
    }
    if o.hit_time_limit {
        s.push_str("stopped at the scenario's time limit\n");
    }
    s
}

fn print(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if !super::is_broken_pipe(&e) => Err(CliError::new(format!("standard output: {e}"))),
        _ => Ok(()),
    }
}

/// Keep the first `max` lines of a ladder.
fn clip(ladder: &str, max: usize) -> String {
    let lines: Vec<&str> = ladder.lines().collect();
    if max == 0 || lines.len() <= max {
        return ladder.to_string();
    }
    format!(
        "{}\n... {} more rows (--max-rows 0 prints all)\n",
        lines[..max].join("\n"),
        lines.len() - max
    )
}

pub fn run(args: Args) -> Result<(), CliError> {
    if args.list {
        let mut s = String::new();
        for (name, _) in BUILTINS {
            let sc = builtin(name).map_err(|e| CliError::new(e.to_string()))?;
            s.push_str(&format!("{name:20} {}\n", sc.description));
        }
        return print(&s);
    }
    let (scenario, file) = match (&args.scenario, &args.builtin) {
        (Some(p), None) => (Scenario::load(p), p.display().to_string()),
        (None, Some(b)) => (builtin(b), format!("builtin:{b}")),
        _ => {
            return Err(CliError::usage(
                "give a scenario file or --builtin NAME (--list shows the built-ins)",
            ))
        }
    };
    let mut scenario = scenario.map_err(|e| CliError::new(e.to_string()))?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if args.dump {
        return print(&(scenario.to_json() + "\n"));
    }
    let mut cfg = scenario
        .to_config(&file)
        .map_err(|e| CliError::new(e.to_string()))?;
    let want_trace = !args.bench && (!args.quiet || args.output.is_some() || args.pcap.is_some());
    cfg.trace = want_trace;
    let start = std::time::Instant::now();
    let mut sim = Sim::new(cfg);
    let outcome = sim.run();
    let wall = start.elapsed().as_secs_f64();
    if want_trace {
        let frames = output::frames(&sim).map_err(|e| CliError::new(e.to_string()))?;
        let timeline = output::timeline(&frames, &scenario.name, scenario.seed);
        if !args.quiet {
            print(&clip(&output::ladder(&timeline), args.max_rows))?;
        }
        if let Some(path) = &args.output {
            let f = std::fs::File::create(path)
                .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
            let mut w = std::io::BufWriter::new(f);
            let written = if args.pretty {
                serde_json::to_writer_pretty(&mut w, &timeline)
            } else {
                serde_json::to_writer(&mut w, &timeline)
            };
            written.map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
            w.write_all(b"\n")
                .and_then(|_| w.flush())
                .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
        }
        if let Some(path) = &args.pcap {
            output::write_pcap(path, &frames).map_err(|e| CliError::new(e.to_string()))?;
        }
    }
    let total = start.elapsed().as_secs_f64();
    let mut s = summary(&outcome, wall);
    if want_trace && (args.output.is_some() || args.pcap.is_some()) {
        s.push_str(&format!("with timeline/pcap output: {total:.3} s wall\n"));
    }
    print(&s)
}
