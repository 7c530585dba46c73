//! Built-in scenarios (`tcpsim simulate --list`).

use super::app::{Action, DataMode, ReadMode, Step};
use super::driver::{FaultAction, Host, ScriptedFault, Side, SimConfig};
use super::link::LinkConfig;
use crate::tcp::{Config, Duration};
use std::net::Ipv4Addr;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn step(at_ms: u64, action: Action) -> Step {
    Step {
        at: ms(at_ms),
        action,
    }
}

pub const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const CLIENT_PORT: u16 = 40000;
pub const SERVER_PORT: u16 = 80;

/// A 1 GiB-class bulk transfer: client writes `bytes` of generated data over
/// a 10 Gbit/s, 1 ms link with `loss` in both directions; SACK, window
/// scaling, 4 MiB buffers.
pub fn bulk(bytes: u64, loss: f64, seed: u64) -> SimConfig {
    let tcp = Config {
        mss: 1460,
        send_buffer: 4 << 20,
        recv_buffer: 4 << 20,
        window_scale: Some(7),
        sack: true,
        ..Config::default()
    };
    let link = LinkConfig {
        delay: ms(1),
        rate_bps: Some(10_000_000_000),
        loss,
        ..LinkConfig::default()
    };
    SimConfig {
        hosts: [
            Host {
                addr: CLIENT_ADDR,
                port: CLIENT_PORT,
                tcp: Config {
                    isn: 1_000_000,
                    ..tcp.clone()
                },
                script: vec![
                    step(0, Action::Connect),
                    step(0, Action::Write { bytes, chunk: None }),
                    step(0, Action::Close),
                ],
            },
            Host {
                addr: SERVER_ADDR,
                port: SERVER_PORT,
                tcp: Config {
                    isn: 5_000_000,
                    ..tcp
                },
                script: vec![
                    step(0, Action::Listen),
                    step(0, Action::Read(ReadMode::All)),
                    step(0, Action::WaitEof),
                    step(0, Action::Close),
                ],
            },
        ],
        links: [link.clone(), link],
        faults: Vec::new(),
        seed,
        data: DataMode::Generated,
        time_limit: Duration::from_secs(100_000),
        trace: false,
    }
}
