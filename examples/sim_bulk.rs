//! Bulk transfer through the simulator, timed on the wall clock:
//! `cargo run --release --example sim_bulk -- [MiB] [loss]`.
//! benches/sim.sh runs it; docs/benchmarks.md has the figures.

use std::time::Instant as WallClock;
use tcpsim::sim::{builtin, Sim};

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let loss: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0.01);
    let cfg = builtin::bulk(mib << 20, loss, 1);
    let start = WallClock::now();
    let mut sim = Sim::new(cfg);
    let o = sim.run();
    let wall = start.elapsed().as_secs_f64();
    let segments = o.stats[0].segments_sent + o.stats[1].segments_sent;
    println!(
        "{mib} MiB, loss {loss}: {segments} segments ({} data, {} retransmitted) in {wall:.3} s wall = {:.2} M segments/s; simulated {:.1} s; delivered {} bytes, integrity errors {:?}, states {:?}",
        o.stats[0].segments_sent,
        o.stats[0].retransmitted_segments,
        segments as f64 / wall / 1e6,
        o.end.as_nanos() as f64 / 1e9,
        o.apps[1].read,
        o.integrity_errors,
        o.states,
    );
    if o.apps[1].read != mib << 20 || o.integrity_errors != [0, 0] {
        eprintln!("transfer incomplete or corrupt");
        std::process::exit(1);
    }
}
