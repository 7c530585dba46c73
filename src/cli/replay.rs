//! `tcpsim replay FILE [--stream N] [--as client|server] [--json]`: one side
//! of a captured connection is the script, tcpsim's endpoint plays the other
//! side, and every segment it sends is compared with the recorded one.

use super::export::Side;
use super::CliError;
use crate::replay::compare::WindowTolerance;
use crate::replay::conformance::{render_report, replay, ReplayOptions};
use crate::replay::diff::{diff_timelines, render_difference, DiffOptions};
use crate::replay::source::{conversation_of, read_capture, read_conversation, stream_packets};
use crate::replay::whatif::{counts, parse_what_if, rerun, rerun_timeline, WhatIf};
use crate::timeline::{timeline_from_packets, Source, SourceKind};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Capture file (pcap, pcapng), or a timeline JSON document (tcpsim timeline, tcpsim simulate -o).
    pub file: PathBuf,
    /// Connection to replay (tcp.stream index).
    #[arg(long, default_value_t = 0)]
    pub stream: usize,
    /// Side tcpsim's endpoint plays; the other side's recorded segments are the script.
    #[arg(long = "as", value_enum, default_value_t = Side::Server)]
    pub play: Side,
    /// Window tolerance, percent of the recorded window (plus one scale unit).
    #[arg(long, default_value_t = 25.0)]
    pub window_tolerance: f64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Re-simulate the connection with the recorded application behaviour
    /// under changed settings, e.g. `rcvbuf=4096,mss=536,drop=17`
    /// (keys: rcvbuf sndbuf mss wscale sack timestamps nagle delack, each
    /// optionally `client.`/`server.`; delay in µs; drop=FRAME of the new timeline).
    #[arg(long = "what-if", value_name = "SETTINGS")]
    pub what_if: Option<String>,
    /// With --what-if: directory for the two timelines (default: beside the capture).
    #[arg(long = "out-dir", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<(), CliError> {
    if !(0.0..=1000.0).contains(&args.window_tolerance) {
        return Err(CliError::usage(
            "--window-tolerance must be between 0 and 1000 (percent)",
        ));
    }
    if let Some(spec) = &args.what_if {
        return what_if(&args, spec);
    }
    let conv =
        read_conversation(&args.file, args.stream).map_err(|e| CliError::new(e.to_string()))?;
    let opts = ReplayOptions {
        play: args.play.into(),
        tolerance: WindowTolerance {
            fraction: args.window_tolerance / 100.0,
        },
        ..ReplayOptions::default()
    };
    require_handshake(&conv, &args)?;
    let report = replay(&conv, &opts);
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::new(format!("cannot write JSON: {e}")))?;
        s.push('\n');
        s
    } else {
        let title = format!(
            "replay {} stream {}: {} (client) <-> {} (server)",
            args.file.display(),
            args.stream,
            conv.client,
            conv.server
        );
        render_report(&report, &title)
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if !super::is_broken_pipe(&e) => {
            Err(CliError::new(format!("cannot write output: {e}")))
        }
        _ => Ok(()),
    }
}

fn write_out(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if !super::is_broken_pipe(&e) => {
            Err(CliError::new(format!("cannot write output: {e}")))
        }
        _ => Ok(()),
    }
}

/// `--what-if`: re-run, write both timelines, say where they part.
fn what_if(args: &Args, spec: &str) -> Result<(), CliError> {
    let w = parse_what_if(spec).map_err(CliError::usage)?;
    let file = args.file.display().to_string();
    if crate::replay::source::looks_like_json(&args.file) {
        return Err(CliError::usage(format!(
            "{file}: --what-if re-runs a captured connection: give the capture, not a timeline"
        )));
    }
    let cap = read_capture(&args.file).map_err(|e| CliError::new(e.to_string()))?;
    let conv = conversation_of(&cap.packets, args.stream, &file)
        .map_err(|e| CliError::new(e.to_string()))?;
    let (packets, _) = stream_packets(&cap.packets, args.stream);
    let original = timeline_from_packets(
        Source {
            kind: SourceKind::Capture,
            name: file.clone(),
            seed: None,
            packets: 0,
        },
        &packets,
    );
    require_handshake(&conv, args)?;
    let r = rerun(&conv, &w);
    let new = rerun_timeline(
        &r,
        format!("what-if {spec} on {file} stream {}", args.stream),
    );
    // The same re-run without changes: what the simulation itself does differently from Linux.
    let base_run = rerun(&conv, &WhatIf::default());
    let baseline = rerun_timeline(
        &base_run,
        format!("re-run without changes of {file} stream {}", args.stream),
    );

    let dir = match &args.out_dir {
        Some(d) => d.clone(),
        None => args
            .file
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    let stem = args
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "capture".into());
    let path_of = |what: &str| dir.join(format!("{stem}.stream{}.{what}.json", args.stream));
    let (orig_path, base_path, new_path) =
        (path_of("original"), path_of("baseline"), path_of("whatif"));
    for (path, tl) in [
        (&orig_path, &original),
        (&base_path, &baseline),
        (&new_path, &new),
    ] {
        let mut text = serde_json::to_string_pretty(tl)
            .map_err(|e| CliError::new(format!("cannot write JSON: {e}")))?;
        text.push('\n');
        std::fs::write(path, text)
            .map_err(|e| CliError::new(format!("{}: cannot write: {e}", path.display())))?;
    }

    let to_value = |t: &crate::timeline::Timeline| {
        serde_json::to_value(t).map_err(|e| CliError::new(e.to_string()))
    };
    let (vo, vb, vn) = (to_value(&original)?, to_value(&baseline)?, to_value(&new)?);
    // Simulator-only annotations (cwnd, ssthresh) are absent from captures: leave them out.
    let ignore = vec!["cwnd".to_string(), "ssthresh".to_string()];
    let d_orig = diff_timelines(
        &vo,
        &vn,
        &DiffOptions {
            ignore: ignore.clone(),
        },
    );
    let d_base = diff_timelines(&vb, &vn, &DiffOptions { ignore });
    let mut text = String::new();
    text.push_str(&format!(
        "what-if {spec} on {file} stream {}\n",
        args.stream
    ));
    text.push_str(&format!(
        "re-run: one-way delay {} µs; client rcvbuf {} mss {}; server rcvbuf {} mss {}\n",
        r.delay.as_micros(),
        r.client_config.recv_buffer,
        r.client_config.mss,
        r.server_config.recv_buffer,
        r.server_config.mss
    ));
    text.push_str(&format!(
        "bytes written client/server {}/{}, read by the peers {}/{}\n",
        r.written[0], r.written[1], r.read[1], r.read[0]
    ));
    text.push_str(&format!(
        "{:<10} {:>8} {:>12} {:>16} {:>6} {:>12}\n",
        "", "packets", "zero-window", "retransmissions", "lost", "duration s"
    ));
    for (name, t) in [
        ("original", &original),
        ("baseline", &baseline),
        ("what-if", &new),
    ] {
        let c = counts(t);
        text.push_str(&format!(
            "{name:<10} {:>8} {:>12} {:>16} {:>6} {:>12.6}\n",
            c.packets, c.zero_window, c.retransmissions, c.lost, c.duration
        ));
    }
    text.push_str(&format!(
        "timelines: {} (the capture), {} (re-run without changes), {} (re-run with {spec})\n",
        orig_path.display(),
        base_path.display(),
        new_path.display()
    ));
    for (d, from, from_path) in [
        (&d_orig, "original", &orig_path),
        (&d_base, "baseline", &base_path),
    ] {
        match d.first_event_difference() {
            Some(first) => text.push_str(&format!(
                "first difference from the {from}: {}\n  (all: tcpsim diff {} {} --ignore cwnd --ignore ssthresh)\n",
                render_difference(first, from, "what-if"),
                from_path.display(),
                new_path.display()
            )),
            None => text.push_str(&format!("the events do not differ from the {from}\n")),
        }
    }
    write_out(&text)
}

/// Replay and re-runs start from the client's SYN.
fn require_handshake(conv: &crate::replay::Conversation, args: &Args) -> Result<(), CliError> {
    if conv.syn_of(crate::replay::Role::Client).is_none() {
        return Err(CliError::new(format!(
            "{}: stream {}: the connection's opening SYN was not captured; replay starts from the handshake",
            args.file.display(),
            args.stream
        )));
    }
    Ok(())
}
