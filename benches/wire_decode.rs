//! Throughput of the packet decoder and the checksum, without file I/O.
//!
//! Run: `cargo bench --bench wire_decode` (release profile). Prints packets
//! per second for `decode_frame` on a mix of frames shaped like a bulk
//! transfer (full-size data segments with timestamps, pure ACKs with SACK,
//! a handshake), and checksum bytes per second. Figures go in
//! docs/benchmarks.md.

use std::hint::black_box;
use std::time::Instant;
use tcpsim::wire::emit::build_ethernet_frame;
use tcpsim::wire::{checksum, decode_frame, Decoded, SeqNumber, TcpFlags, TcpOption, TcpRepr};

fn frames() -> Vec<Vec<u8>> {
    let a = "192.168.1.10".parse().unwrap();
    let b = "192.168.1.20".parse().unwrap();
    let ts = TcpOption::Timestamps {
        tsval: 123_456,
        tsecr: 654_321,
    };
    let mut out = Vec::new();
    let mut push = |src, dst, repr: TcpRepr, payload: &[u8]| {
        let mut f = Vec::new();
        build_ethernet_frame(src, dst, &repr, payload, &mut f).unwrap();
        out.push(f);
    };
    let syn = TcpRepr::new(
        40000,
        80,
        SeqNumber(1),
        SeqNumber(0),
        TcpFlags(TcpFlags::SYN),
        64240,
        vec![
            TcpOption::Mss(1460),
            TcpOption::SackPermitted,
            ts.clone(),
            TcpOption::NoOperation,
            TcpOption::WindowScale(7),
        ],
    );
    push(a, b, syn, b"");
    let payload = vec![0x5au8; 1448];
    for i in 0..8u32 {
        let data = TcpRepr::new(
            40000,
            80,
            SeqNumber(1 + i * 1448),
            SeqNumber(1),
            TcpFlags(TcpFlags::ACK | TcpFlags::PSH),
            502,
            vec![TcpOption::NoOperation, TcpOption::NoOperation, ts.clone()],
        );
        push(a, b, data, &payload);
    }
    for i in 0..4u32 {
        let ack = TcpRepr::new(
            80,
            40000,
            SeqNumber(1),
            SeqNumber(1 + i * 2896),
            TcpFlags(TcpFlags::ACK),
            65535,
            vec![
                TcpOption::NoOperation,
                TcpOption::NoOperation,
                ts.clone(),
                TcpOption::NoOperation,
                TcpOption::NoOperation,
                TcpOption::Sack(vec![(SeqNumber(5000), SeqNumber(6448))]),
            ],
        );
        push(b, a, ack, b"");
    }
    out
}

/// CPU time of this thread (user + system, from /proc, 10 ms ticks), so the
/// figures hold on a loaded machine too.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn timed(label: &str, units: f64, unit: &str, mut f: impl FnMut()) {
    let (w0, c0) = (Instant::now(), cpu_seconds());
    f();
    let (w, c) = (w0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    println!(
        "{label}: {:.2} {unit}/s by CPU time ({c:.2} s), {:.2} {unit}/s by wall time ({w:.2} s)",
        units / c,
        units / w
    );
}

fn main() {
    let set = frames();
    let bytes_per_round: usize = set.iter().map(Vec::len).sum();
    let rounds = 5_000_000 / set.len() + 1;
    let n = rounds * set.len();
    println!(
        "{} frames per round ({} bytes), {rounds} rounds",
        set.len(),
        bytes_per_round
    );
    let run = |set: &[Vec<u8>], rounds: usize| {
        let mut acc = 0u64;
        for _ in 0..rounds {
            for f in set {
                if let Ok(Decoded::Tcp(t)) = decode_frame(1, black_box(f), f.len() as u32) {
                    acc = acc.wrapping_add(u64::from(t.info.payload_len));
                    black_box(&t.info);
                }
            }
        }
        black_box(acc);
    };
    run(&set, rounds / 10);
    timed("decode_frame, bulk mix", n as f64 / 1e6, "M frames", || {
        run(&set, rounds)
    });
    let acks: Vec<Vec<u8>> = set.iter().filter(|f| f.len() < 100).cloned().collect();
    let ack_rounds = 5_000_000 / acks.len();
    timed(
        "decode_frame, pure ACKs only",
        (ack_rounds * acks.len()) as f64 / 1e6,
        "M frames",
        || run(&acks, ack_rounds),
    );
    let buf = vec![0xa5u8; 1 << 16];
    let iters = 200_000;
    let mut acc = 0u64;
    timed(
        "checksum::sum over 64 KiB",
        (iters * buf.len()) as f64 / 1e9,
        "GB",
        || {
            for _ in 0..iters {
                acc = acc.wrapping_add(checksum::sum(black_box(&buf)));
            }
        },
    );
    black_box(acc);
}
