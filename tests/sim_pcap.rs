//! The pcap `tcpsim simulate` writes opens in tshark with no malformed packet
//! and no bad checksum, and reading it back through the capture path
//! (pcap reader -> wire decode -> the same analyzer `tcpsim timeline` uses)
//! reproduces the simulator's own timeline.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use tcpsim::pcap::CaptureReader;
use tcpsim::sim::builtin::builtin;
use tcpsim::sim::output::{frames, timeline, write_pcap};
use tcpsim::sim::{Scenario, Sim};
use tcpsim::timeline::{timeline_from_packets, Source, SourceKind, Timeline};
use tcpsim::wire::decode::{decode_frame, Decoded};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tcpsim-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("tshark is needed for this test (apt install tshark; .ci/run installs it): {e}")
        });
    assert!(
        out.status.success(),
        "tshark {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read_back(path: &Path) -> Timeline {
    let mut r = CaptureReader::open(path).unwrap();
    let mut infos = Vec::new();
    while let Some(rec) = r.next_record() {
        let rec = rec.unwrap();
        match decode_frame(rec.linktype, rec.data, rec.orig_len).unwrap() {
            Decoded::Tcp(t) => {
                let mut info = t.info;
                info.number = rec.number;
                info.time_ns = rec.time_ns();
                infos.push(info);
            }
            _ => panic!("frame {} is not TCP", rec.number),
        }
    }
    let source = Source {
        kind: SourceKind::Capture,
        name: path.display().to_string(),
        seed: None,
        packets: 0,
    };
    timeline_from_packets(source, &infos)
}

fn check_scenario(mut s: Scenario, tag: &str) {
    let cfg = s.to_config(tag).unwrap();
    let mut sim = Sim::new(cfg);
    let outcome = sim.run();
    assert!(!outcome.hit_time_limit, "{tag}");
    let fr = frames(&sim).unwrap();
    assert!(!fr.is_empty(), "{tag}");
    s.name = tag.to_string();
    let own = timeline(&fr, &s.name, s.seed);
    let path = temp(&format!("{tag}.pcap"));
    write_pcap(&path, &fr).unwrap();
    let p = path.to_str().unwrap();

    // tshark reads every frame...
    let all = tshark(&["-r", p]);
    assert_eq!(all.lines().count(), fr.len(), "{tag}: tshark frame count");
    // ...and finds nothing malformed and no bad checksum.
    let bad = tshark(&[
        "-r",
        p,
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "ip.check_checksum:TRUE",
        "-Y",
        "_ws.malformed || tcp.checksum.status==0 || ip.checksum.status==0",
    ]);
    assert_eq!(bad, "", "{tag}: tshark flags these frames");
    // And it checked them: every TCP checksum is reported good.
    let good = tshark(&[
        "-r",
        p,
        "-o",
        "tcp.check_checksum:TRUE",
        "-Y",
        "tcp.checksum.status==1",
    ]);
    assert_eq!(good.lines().count(), fr.len(), "{tag}: good checksums");

    // The capture path reproduces the simulator's own timeline.
    let back = read_back(&path);
    assert_eq!(back.connections.len(), own.connections.len(), "{tag}");
    for (a, b) in own.connections.iter().zip(&back.connections) {
        assert_eq!((a.client, a.server), (b.client, b.server), "{tag}");
        assert_eq!(a.events.len(), b.events.len(), "{tag}");
        for (x, y) in a.events.iter().zip(&b.events) {
            let key = |e: &tcpsim::timeline::Event| {
                (
                    e.frame,
                    e.time_ns,
                    e.direction,
                    e.flags_raw,
                    e.seq,
                    e.ack,
                    e.len,
                    e.window,
                    e.window_raw,
                    e.client_state,
                    e.server_state,
                )
            };
            assert_eq!(key(x), key(y), "{tag}: frame {}", x.frame);
            assert_eq!(x.analysis, y.analysis, "{tag}: frame {}", x.frame);
        }
        assert_eq!(a.verdict, b.verdict, "{tag}");
    }
    // The simulator's timeline carries what only it knows.
    let ev: Vec<_> = own.connections.iter().flat_map(|c| &c.events).collect();
    assert!(ev.iter().any(|e| e.cwnd.is_some()), "{tag}: cwnd recorded");
    let lost = outcome
        .links
        .iter()
        .map(|l| l.dropped + l.queue_drops)
        .sum::<u64>();
    assert_eq!(
        ev.iter().filter(|e| e.lost).count() as u64,
        lost,
        "{tag}: lost segments marked"
    );
    std::fs::remove_file(&path).ok();
}

#[test]
fn builtin_pcaps_are_clean_and_reproduce_the_timeline() {
    for name in [
        "handshake",
        "teaching",
        "zero-window",
        "fast-retransmit",
        "simultaneous-open",
        "simultaneous-close",
        "half-close",
        "refused",
    ] {
        check_scenario(builtin(name).unwrap(), name);
    }
}

#[test]
fn lossy_run_with_options_is_clean_and_reproduces_the_timeline() {
    let mut s = builtin("teaching").unwrap();
    s.link.loss = 0.1;
    s.link.duplicate = 0.1;
    s.link.reorder = 0.1;
    s.seed = 7;
    for h in [&mut s.client.tcp, &mut s.server.tcp] {
        h.sack = true;
        h.timestamps = true;
        h.window_scale = Some(2);
    }
    s.client.app[1].write = Some(40_000);
    check_scenario(s, "lossy");
}

#[test]
fn cli_writes_timeline_and_pcap_and_reports_bad_files() {
    let exe = env!("CARGO_BIN_EXE_tcpsim");
    let json = temp("cli.json");
    let pcap = temp("cli.pcap");
    let out = common::tcpsim_ok(&[
        "simulate",
        "--builtin",
        "teaching",
        "-o",
        json.to_str().unwrap(),
        "--pcap",
        pcap.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FIN-WAIT-1") && stdout.contains("TIME-WAIT"),
        "{stdout}"
    );
    let t: Timeline = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(t.source.kind, SourceKind::Simulation);
    assert_eq!(t.connections.len(), 1);
    assert!(std::fs::metadata(&pcap).unwrap().len() > 24);
    // `tcpsim timeline` of the pcap tells the same story as the simulator.
    let out = Command::new(exe)
        .args(["timeline", pcap.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back: Timeline = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(back.connections.len(), 1);
    let (a, b) = (&t.connections[0].events, &back.connections[0].events);
    assert_eq!(a.len(), b.len());
    assert!(a.len() > 10);
    for (x, y) in a.iter().zip(b) {
        assert_eq!(
            (
                x.seq,
                x.ack,
                x.window,
                x.flags_raw,
                x.len,
                x.client_state,
                x.server_state
            ),
            (
                y.seq,
                y.ack,
                y.window,
                y.flags_raw,
                y.len,
                y.client_state,
                y.server_state
            ),
            "frame {}",
            x.frame
        );
    }
    assert!(a.iter().any(|e| e.cwnd.is_some()) && b.iter().all(|e| e.cwnd.is_none()));

    let list = Command::new(exe)
        .args(["simulate", "--list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for name in [
        "handshake",
        "teaching",
        "zero-window",
        "fast-retransmit",
        "simultaneous-open",
        "simultaneous-close",
        "half-close",
        "refused",
    ] {
        assert!(list.contains(name), "{list}");
    }

    let bad = temp("bad.json");
    std::fs::write(&bad, "{\n \"name\": \"x\",\n \"client\": 5\n}").unwrap();
    let out = Command::new(exe)
        .args(["simulate", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("bad.json: line 3"), "{err}");
    let out = Command::new(exe)
        .args(["simulate", "--builtin", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown built-in scenario 'nope'"));
}
