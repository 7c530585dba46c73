//! Thin binary: parse arguments, call the library, map errors to exit codes.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "tcpsim",
    version,
    about = "TCP at the packet level: decode, track, simulate, run, replay"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compare tcpsim's analysis with tshark reference tables (writes docs/analysis-agreement.md).
    #[command(hide = true)]
    Agreement(tcpsim::cli::agreement::Args),
    /// Each connection's story as JSON: events, both endpoints' states, verdict.
    Timeline(tcpsim::cli::timeline::Args),
    /// One row per connection: frames and bytes each way, states, Zeek history.
    Conns(tcpsim::cli::conns::Args),
    /// Where two timelines part, in words a person reads.
    Diff(tcpsim::cli::diff::Args),
    /// Check regression fixtures (expected timelines) against their sources; --bless rewrites them.
    Check(tcpsim::cli::check::Args),
    /// Write a connection as a packetdrill script.
    Export(tcpsim::cli::export::Args),
    /// Replay one side of a captured connection against tcpsim's endpoint; --what-if re-runs it.
    Replay(tcpsim::cli::replay::Args),
    /// Run a scenario on real sockets over loopback, capture and analyse it.
    Run(tcpsim::cli::run::Args),
    /// Draw a connection: ladder diagram, time-sequence graph or window graph (SVG).
    Plot(tcpsim::cli::plot::Args),
    /// One self-contained HTML page: connection table, verdicts and pictures.
    Report(tcpsim::cli::report::Args),
    /// One line per TCP packet; --json, --jsonl, tshark's -T fields, --hex.
    Decode(tcpsim::cli::decode::Args),
    /// Simulate two TCP endpoints over a lossy link: ladder, timeline, pcap.
    Simulate(tcpsim::cli::simulate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), tcpsim::cli::CliError> = match cli.command {
        Command::Agreement(a) => tcpsim::cli::agreement::run(a),
        Command::Timeline(a) => tcpsim::cli::timeline::run(a),
        Command::Conns(a) => tcpsim::cli::conns::run(a),
        Command::Diff(a) => tcpsim::cli::diff::run(a),
        Command::Check(a) => tcpsim::cli::check::run(a),
        Command::Export(a) => tcpsim::cli::export::run(a),
        Command::Replay(a) => tcpsim::cli::replay::run(a),
        Command::Run(a) => tcpsim::cli::run::run(a),
        Command::Plot(a) => tcpsim::cli::plot::run(a),
        Command::Report(a) => tcpsim::cli::report::run(a),
        Command::Decode(a) => tcpsim::cli::decode::run(a),
        Command::Simulate(a) => tcpsim::cli::simulate::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcpsim: {e}");
            ExitCode::from(e.code.clamp(1, 255) as u8)
        }
    }
}
