//! Simulator invariants: every byte delivered once, in order, intact; both
//! endpoints end CLOSED or TIME-WAIT; nothing panics — over many seeds with
//! random loss, duplication and reordering.

use super::*;
use crate::tcp::{Config, Duration, TcpState};
use std::net::Ipv4Addr;

fn host(addr: [u8; 4], port: u16, tcp: Config, script: Vec<Step>) -> Host {
    Host {
        addr: Ipv4Addr::from(addr),
        port,
        tcp,
        script,
    }
}

fn step(ms: u64, action: Action) -> Step {
    Step {
        at: Duration::from_millis(ms),
        action,
    }
}

/// Client sends `up` bytes, server sends `down` bytes; both close when done.
pub(crate) fn exchange(
    up: u64,
    down: u64,
    link: LinkConfig,
    seed: u64,
    ccfg: Config,
    scfg: Config,
) -> SimConfig {
    SimConfig {
        hosts: [
            host(
                [10, 0, 0, 1],
                40000,
                ccfg,
                vec![
                    step(0, Action::Connect),
                    step(
                        0,
                        Action::Write {
                            bytes: up,
                            chunk: Some(700),
                        },
                    ),
                    step(0, Action::Shutdown),
                ],
            ),
            host(
                [10, 0, 0, 2],
                80,
                scfg,
                vec![
                    step(0, Action::Listen),
                    step(
                        1,
                        Action::Write {
                            bytes: down,
                            chunk: None,
                        },
                    ),
                    step(1, Action::Shutdown),
                ],
            ),
        ],
        links: [link.clone(), link],
        faults: Vec::new(),
        seed,
        data: DataMode::Bytes,
        time_limit: Duration::from_secs(3600),
        trace: false,
    }
}

fn check(o: &Outcome, up: u64, down: u64, what: &str) {
    assert!(!o.hit_time_limit, "{what}: time limit, {o:?}");
    for (i, s) in o.states.iter().enumerate() {
        assert!(
            matches!(s, TcpState::Closed | TcpState::TimeWait),
            "{what}: side {i} ended {s:?}"
        );
    }
    assert_eq!(o.apps[0].written, up, "{what}");
    assert_eq!(o.apps[1].written, down, "{what}");
    assert_eq!(o.apps[1].read, up, "{what}: server read");
    assert_eq!(o.apps[0].read, down, "{what}: client read");
    assert!(o.apps[0].eof && o.apps[1].eof, "{what}: eof {o:?}");
    assert_eq!(
        o.apps[0].corrupt_bytes + o.apps[1].corrupt_bytes,
        0,
        "{what}"
    );
    assert_eq!(o.integrity_errors, [0, 0], "{what}");
    assert!(
        o.apps[0].errors.is_empty() && o.apps[1].errors.is_empty(),
        "{what}: {o:?}"
    );
}

#[test]
fn clean_exchange() {
    let cfg = SimConfig {
        trace: true,
        ..exchange(
            20_000,
            5_000,
            LinkConfig::default(),
            1,
            Config::default(),
            Config {
                isn: 5000,
                ..Config::default()
            },
        )
    };
    let mut sim = Sim::new(cfg);
    let o = sim.run();
    check(&o, 20_000, 5_000, "clean");
    assert_eq!(o.stats[0].retransmitted_segments, 0);
    // Both FIN exchanges completed: one side in TIME-WAIT has expired too.
    assert_eq!(o.states, [TcpState::Closed, TcpState::Closed]);
    assert!(sim.state_changes().len() >= 8);
}

/// The randomised run for one seed: options vary with the seed so SACK,
/// timestamps, Nagle, delayed ACK and window scaling are all exercised.
pub(crate) fn seeded(seed: u64) -> (SimConfig, u64, u64) {
    let link = LinkConfig {
        delay: Duration::from_millis(5),
        loss: 0.08,
        duplicate: 0.04,
        reorder: 0.08,
        reorder_delay: Duration::from_millis(8),
        rate_bps: Some(20_000_000),
        ..LinkConfig::default()
    };
    let c = Config {
        isn: (seed as u32).wrapping_mul(2_654_435_761),
        mss: 536 + (seed % 3) as u16 * 400,
        sack: seed % 2 == 0,
        timestamps: seed % 3 == 0,
        nagle: seed % 4 < 2,
        delayed_ack: if seed % 5 == 0 {
            None
        } else {
            Some(Duration::from_millis(40))
        },
        window_scale: if seed % 7 == 0 { Some(3) } else { None },
        recv_buffer: 4096 + (seed % 4) as usize * 3000,
        send_buffer: 8192,
        ..Config::default()
    };
    let s = Config {
        isn: u32::MAX - seed as u32 * 77,
        sack: seed % 3 != 1,
        ..c.clone()
    };
    let up = 3000 + seed * 37 % 9000;
    let down = seed * 53 % 4000;
    (exchange(up, down, link, seed, c, s), up, down)
}

#[test]
fn invariants_over_1000_seeds() {
    let (mut segments, mut rtx, mut dropped, mut dups, mut reordered) = (0, 0, 0, 0, 0);
    for seed in 0..1000u64 {
        let (cfg, up, down) = seeded(seed);
        let o = Sim::new(cfg).run();
        check(&o, up, down, &format!("seed {seed}"));
        segments += o.stats[0].segments_sent + o.stats[1].segments_sent;
        rtx += o.stats[0].retransmitted_segments + o.stats[1].retransmitted_segments;
        for l in &o.links {
            dropped += l.dropped;
            dups += l.duplicated;
            reordered += l.reordered;
        }
    }
    // The faults really happened, and recovery really ran.
    assert!(segments > 20_000, "{segments}");
    assert!(
        dropped > 1000 && dups > 500 && reordered > 1000,
        "{dropped} {dups} {reordered}"
    );
    assert!(rtx >= dropped / 2, "{rtx} {dropped}");
    eprintln!("{segments} segments, {rtx} retransmitted, {dropped} dropped, {dups} duplicated, {reordered} reordered");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Random links and sizes: still delivered once, in order, intact.
        #[test]
        fn random_links_keep_the_invariants(
            loss in 0.0f64..0.25,
            dup in 0.0f64..0.2,
            reorder in 0.0f64..0.3,
            delay_ms in 1u64..50,
            up in 0u64..30_000,
            down in 0u64..10_000,
            mss in 100u16..2000,
            rbuf in 500usize..20_000,
            sack in any::<bool>(),
            ts in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let link = LinkConfig {
                delay: Duration::from_millis(delay_ms),
                loss,
                duplicate: dup,
                reorder,
                reorder_delay: Duration::from_millis(delay_ms),
                ..LinkConfig::default()
            };
            let c = Config { mss, recv_buffer: rbuf, sack, timestamps: ts, max_retransmissions: 30, ..Config::default() };
            let s = Config { isn: 77, ..c.clone() };
            let o = Sim::new(exchange(up, down, link, seed, c, s)).run();
            check(&o, up, down, &format!("loss {loss} dup {dup} reorder {reorder}"));
        }
    }
}
