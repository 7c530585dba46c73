//! Conformance replay of the project's own loopback captures (captures/):
//! tcpsim's endpoint plays the server against the recorded client, and the
//! handshake, the acknowledgements of data and the close must come out with
//! exactly the flags, seq, ack and length the Linux kernel sent. Each
//! capture's matching rate (both sides) is printed (`cargo test -- --nocapture`).
//!
//! Also: a what-if re-run of the bulk transfer with a 4 KiB server receive
//! buffer shows zero-window events, and `tcpsim diff` names where the two
//! timelines part.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use tcpsim::replay::compare::SegmentKind;
use tcpsim::replay::conformance::{replay, ReplayOptions};
use tcpsim::replay::source::{conversation_of, read_capture, stream_packets};
use tcpsim::replay::whatif::{counts, parse_what_if, rerun, rerun_timeline};
use tcpsim::replay::Role;
use tcpsim::timeline::{timeline_from_packets, AnalysisFlag, Source, SourceKind};

fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: cannot list captures: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no captures in {}", dir.display());
    v
}

#[test]
fn loopback_captures_replay_with_exact_handshake_data_acks_and_close() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for path in captures() {
        let cap = read_capture(&path).unwrap_or_else(|e| panic!("{e}"));
        let (_, count) = stream_packets(&cap.packets, 0);
        for stream in 0..count {
            let conv = conversation_of(&cap.packets, stream, &path.display().to_string()).unwrap();
            if conv.syn_of(Role::Client).is_none() {
                continue; // no handshake captured: not a connection replay can start
            }
            for play in [Role::Server, Role::Client] {
                let r = replay(
                    &conv,
                    &ReplayOptions {
                        play,
                        ..ReplayOptions::default()
                    },
                );
                let s = &r.summary;
                println!(
                    "{} stream {stream} as {}: {}/{} match ({:.1}%, {} coalesced), {} exact apart from the window, {} extra, {} unexplained",
                    path.file_name().unwrap().to_string_lossy(),
                    play.name(),
                    s.matched,
                    s.recorded,
                    s.match_rate * 100.0,
                    s.coalesced,
                    s.exact,
                    s.extra,
                    s.unexplained
                );
                if play == Role::Server {
                    replayed += 1;
                    for kind in [
                        SegmentKind::Handshake,
                        SegmentKind::DataAck,
                        SegmentKind::Close,
                    ] {
                        if !s.kind_all_exact(kind) {
                            failures.push(format!(
                                "{} stream {stream}: {} segments not reproduced exactly: {:?}\n{}",
                                path.display(),
                                kind.name(),
                                s.by_kind.get(&kind),
                                tcpsim::replay::conformance::render_report(&r, "replay")
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(replayed > 0, "no capture with a handshake in captures/");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn bulk() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/bulk.pcap");
    assert!(
        p.is_file(),
        "{} is missing (see captures/README.md)",
        p.display()
    );
    p
}

fn replay_capture_as_client(name: &str) -> tcpsim::replay::conformance::ReplayReport {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name);
    let cap = read_capture(&path).unwrap_or_else(|e| panic!("{e}"));
    let conv = conversation_of(&cap.packets, 0, name).unwrap();
    replay(
        &conv,
        &ReplayOptions {
            play: Role::Client,
            ..ReplayOptions::default()
        },
    )
}

#[test]
fn bulk_replayed_as_client_matches_all_but_the_recorded_retransmission() {
    use tcpsim::replay::compare::{Outcome, Rule};
    let r = replay_capture_as_client("bulk.pcap");
    let text = tcpsim::replay::conformance::render_report(&r, "bulk.pcap as client");
    let s = &r.summary;
    // Frames 1, 3, 4, 6, 7, 10 and 12 match; frame 8 repeats frame 7's
    // 54 bytes 4 µs later, which tcpsim's endpoint has no cause to do.
    assert_eq!((s.recorded, s.matched, s.exact), (8, 7, 7), "{text}");
    assert_eq!((s.coalesced, s.extra, s.unexplained), (0, 0, 0), "{text}");
    assert_eq!(s.missing, 1, "{text}");
    assert!(
        r.outcomes.iter().any(|o| matches!(
            o,
            Outcome::Missing {
                rule: Some(Rule::RecordedRetransmission),
                ..
            }
        )),
        "{text}"
    );
    // Linux sent the last 54 bytes while 32741 bytes were unacknowledged;
    // the endpoint, given that write when Linux sent it, sends it at once
    // too, so every script ACK acknowledges bytes it has sent.
    assert_eq!(r.acks_within_sent, 0, "{text}");
    assert!(s.kind_all_exact(SegmentKind::Close), "{text}");
}

#[test]
fn slow_reader_replayed_as_client_coalesces_gso_super_segments() {
    use tcpsim::replay::compare::Outcome;
    let r = replay_capture_as_client("run-slow-reader.pcap");
    let text = tcpsim::replay::conformance::render_report(&r, "run-slow-reader.pcap as client");
    let s = &r.summary;
    // Four recorded 4096-byte super-segments, each tiled by two 2048-byte
    // segments of tcpsim's; the one recorded zero-window probe is missing.
    assert_eq!((s.recorded, s.matched, s.coalesced), (17, 16, 4), "{text}");
    assert_eq!((s.exact, s.extra, s.unexplained), (12, 0, 0), "{text}");
    for o in &r.outcomes {
        if let Outcome::Coalesced {
            recorded,
            ours,
            recorded_pieces,
            ..
        } = o
        {
            assert_eq!((recorded.len, *recorded_pieces), (4096, 1), "{text}");
            assert_eq!(ours.iter().map(|o| o.len).collect::<Vec<_>>(), [2048, 2048]);
        }
    }
    assert!(s.kind_all_match(SegmentKind::Data), "{text}");
}

#[test]
fn what_if_small_receive_buffer_shows_zero_windows() {
    let path = bulk();
    let cap = read_capture(&path).unwrap();
    let conv = conversation_of(&cap.packets, 0, "bulk").unwrap();
    let (packets, _) = stream_packets(&cap.packets, 0);
    let original = timeline_from_packets(
        Source {
            kind: SourceKind::Capture,
            name: "captures/bulk.pcap".into(),
            seed: None,
            packets: 0,
        },
        &packets,
    );
    let w = parse_what_if("server.rcvbuf=4096").unwrap();
    let r = rerun(&conv, &w);
    assert_eq!(
        r.written[0], 65536,
        "the client wrote what it wrote in the capture"
    );
    assert_eq!(r.read[1], 65536, "the server read everything");
    let new = rerun_timeline(&r, "what-if".into());
    let baseline = rerun_timeline(&rerun(&conv, &Default::default()), "baseline".into());
    let (co, cb, cn) = (counts(&original), counts(&baseline), counts(&new));
    println!(
        "zero-window events: original {}, re-run without changes {}, with a 4 KiB buffer {}",
        co.zero_window, cb.zero_window, cn.zero_window
    );
    assert_eq!(
        co.zero_window, 0,
        "the captured transfer has no zero window"
    );
    assert!(
        cn.zero_window > cb.zero_window + 5,
        "a 4 KiB receive buffer closes the window again and again: {cn:?} vs {cb:?}"
    );
    // The server never advertises more than its 4 KiB buffer (after the SYN-ACK).
    let conn = &new.connections[0];
    for e in conn.events.iter().filter(|e| e.flags_raw & 0x002 == 0) {
        if matches!(e.direction, tcpsim::timeline::Direction::ServerToClient) {
            assert!(e.window <= 4096, "frame {}: window {}", e.frame, e.window);
        }
    }
    assert!(conn
        .events
        .iter()
        .any(|e| e.analysis.contains(&AnalysisFlag::ZeroWindow)));
}

#[test]
fn cli_what_if_then_diff_names_first_differing_event() {
    let exe = env!("CARGO_BIN_EXE_tcpsim");
    let out_dir = std::env::temp_dir().join(format!("tcpsim-whatif-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = Command::new(exe)
        .args([
            "replay",
            bulk().to_str().unwrap(),
            "--what-if",
            "server.rcvbuf=4096",
            "--out-dir",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Against the re-run without changes, the server's SYN-ACK is the first
    // event the smaller buffer changes.
    assert!(
        text.contains(
            "first difference from the baseline: connection 0, event 1 (frame 2, server→client):"
        ),
        "{text}"
    );
    assert!(
        text.contains("first difference from the original: connection 0, event "),
        "{text}"
    );
    let a = out_dir.join("bulk.stream0.baseline.json");
    let b = out_dir.join("bulk.stream0.whatif.json");
    let out = Command::new(exe)
        .args([
            "diff",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--ignore",
            "cwnd",
            "--ignore",
            "ssthresh",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "diff exits 1 when timelines differ: {text}"
    );
    let first = text
        .lines()
        .find(|l| l.starts_with("connection 0, event"))
        .expect("an event line");
    assert!(
        first.starts_with("connection 0, event 1 (frame 2, server→client):"),
        "{text}"
    );
    assert!(first.contains("window 65535 vs 4096"), "{text}");
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn cli_replay_json_and_packetdrill_export() {
    let exe = env!("CARGO_BIN_EXE_tcpsim");
    let out = Command::new(exe)
        .args(["replay", bulk().to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(v["played"], "server");
    assert!(v["summary"]["match_rate"].as_f64().is_some());
    let out = Command::new(exe)
        .args(["export", "--packetdrill", bulk().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(script.contains("listen(3, 1) = 0"), "{script}");
    assert!(
        script.contains("< S 0:0(0) win 65495 <mss 65495,sackOK,TS val"),
        "{script}"
    );
    assert!(script.contains("accept(3, ..., ...) = 4"), "{script}");
    assert!(script.contains("close(4) = 0"), "{script}");
    let out = Command::new(exe)
        .args(["replay", bulk().to_str().unwrap(), "--stream", "7"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no TCP connection with stream index 7"));
}

#[test]
fn simulated_timeline_exports_and_replays() {
    // A simulated connection (tcpsim simulate -o) is read from its timeline JSON.
    let exe = env!("CARGO_BIN_EXE_tcpsim");
    let path = std::env::temp_dir().join(format!("tcpsim-teaching-{}.json", std::process::id()));
    common::tcpsim_ok(&[
        "simulate",
        "--builtin",
        "teaching",
        "-q",
        "-o",
        path.to_str().unwrap(),
    ]);
    let out = Command::new(exe)
        .args(["export", "--packetdrill"])
        .arg(&path)
        .output()
        .unwrap();
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        script.contains("< S 0:0(0) win 4096 <mss 1460>"),
        "{script}"
    );
    assert!(
        script.contains("> S. 0:0(0) ack 1 win 6144 <mss 1024>"),
        "{script}"
    );
    let accept = script.find("accept(3, ..., ...) = 4").expect("accept");
    let read = script.find("read(4, ..., 1024) = 1024").expect("read");
    assert!(accept < read, "accept before the first read:\n{script}");
    let conv = tcpsim::replay::source::read_conversation(&path, 0).unwrap();
    let r = replay(
        &conv,
        &ReplayOptions {
            play: Role::Client,
            ..ReplayOptions::default()
        },
    );
    assert!(
        r.summary.kind_all_exact(SegmentKind::Data),
        "{}",
        tcpsim::replay::conformance::render_report(&r, "teaching")
    );
    let _ = std::fs::remove_file(&path);
}
