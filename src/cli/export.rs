//! `tcpsim export --packetdrill FILE [--stream N] [--local client|server]`:
//! a captured (or simulated, via `tcpsim simulate --pcap`) connection as a
//! packetdrill script.

use super::CliError;
use crate::replay::conversation::Role;
use crate::replay::packetdrill::{to_packetdrill, PacketdrillOptions};
use crate::replay::source::read_conversation;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write a packetdrill script (the only export format so far).
    #[arg(long, required = true)]
    pub packetdrill: bool,
    /// Capture file (pcap, pcapng), or a timeline JSON document (tcpsim timeline, tcpsim simulate -o).
    pub file: PathBuf,
    /// Connection to export (tcp.stream index).
    #[arg(long, default_value_t = 0)]
    pub stream: usize,
    /// Side the kernel under test plays; the other side's packets are injected.
    #[arg(long, value_enum, default_value_t = Side::Server)]
    pub local: Side,
    /// Write the script here instead of standard output.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl From<Side> for Role {
    fn from(s: Side) -> Role {
        match s {
            Side::Client => Role::Client,
            Side::Server => Role::Server,
        }
    }
}

pub fn run(args: Args) -> Result<(), CliError> {
    let conv =
        read_conversation(&args.file, args.stream).map_err(|e| CliError::new(e.to_string()))?;
    let script = to_packetdrill(
        &conv,
        &PacketdrillOptions {
            local: args.local.into(),
        },
    );
    match &args.output {
        Some(path) => std::fs::write(path, script)
            .map_err(|e| CliError::new(format!("{}: cannot write: {e}", path.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(script.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if !super::is_broken_pipe(&e) => {
                    Err(CliError::new(format!("cannot write output: {e}")))
                }
                _ => Ok(()),
            }
        }
    }
}
