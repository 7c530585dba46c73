//! Live runs on loopback, checked against an independent capture (tcpdump)
//! and against what the sockets must have exchanged.
//!
//! These tests need CAP_NET_RAW (CI runs as root) and tcpdump; without them
//! they fail with a message saying so — they are never skipped.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use tcpsim::runner::capture::CapturedFrame;
use tcpsim::runner::frame::locate_tcp;
use tcpsim::runner::procnet::KernelTcpState;
use tcpsim::runner::scenario::{Family, Scenario, ScenarioConfig};
use tcpsim::runner::{run, RunConfig, RunReport};
use tcpsim::timeline::{AnalysisFlag, TcpState};

/// Panic (not skip) unless this process may capture.
fn require_cap_net_raw() {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).expect("CapEff is hex"))
        .expect("CapEff line");
    const CAP_NET_RAW: u64 = 13;
    assert!(
        cap_eff & (1 << CAP_NET_RAW) != 0,
        "this test captures on lo and needs CAP_NET_RAW: run the tests as root (CI does)"
    );
}

fn config(scenario: Scenario, port: u16) -> RunConfig {
    RunConfig {
        scenario,
        settings: ScenarioConfig {
            family: Family::V4,
            port,
            lines: 5,
            bytes: 256 << 10,
            clients: 50,
            worker_exe: Some(PathBuf::from(env!("CARGO_BIN_EXE_tcpsim"))),
        },
        capture: true,
    }
}

/// tcpdump on lo for one port, started and ready.
struct Tcpdump {
    child: Child,
    path: PathBuf,
    stderr: BufReader<std::process::ChildStderr>,
}

impl Tcpdump {
    fn start(port: u16) -> Tcpdump {
        let path = std::env::temp_dir().join(format!(
            "tcpsim-runner-test-{port}-{}.pcap",
            std::process::id()
        ));
        let mut child = Command::new("tcpdump")
            .args([
                "-i",
                "lo",
                "--immediate-mode",
                "-B",
                "65536",
                "-U",
                "-n",
                "-s",
                "262144",
                "-w",
            ])
            .arg(&path)
            .arg(format!("tcp port {port}"))
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("tcpdump must be installed for this test (apt-get install tcpdump)");
        // tcpdump says "listening on lo" once its capture is active.
        let mut stderr = BufReader::new(child.stderr.take().expect("tcpdump stderr"));
        let mut line = String::new();
        stderr
            .read_line(&mut line)
            .expect("read tcpdump's first line");
        assert!(
            line.contains("listening on"),
            "tcpdump did not start: {line}"
        );
        Tcpdump {
            child,
            path,
            stderr,
        }
    }

    /// Stop tcpdump (SIGINT flushes its file) and return its frames.
    fn stop(mut self) -> Vec<Vec<u8>> {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let st = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(st.success());
        self.child.wait().expect("wait for tcpdump");
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stderr, &mut rest).expect("tcpdump's summary");
        assert!(
            rest.lines()
                .any(|l| l.trim() == "0 packets dropped by kernel"),
            "tcpdump itself dropped frames: {rest}"
        );
        let mut r = tcpsim::pcap::CaptureReader::open(&self.path).expect("open tcpdump's capture");
        let mut frames = Vec::new();
        while let Some(rec) = r.next_record() {
            frames.push(rec.expect("tcpdump's record").data.to_vec());
        }
        let _ = std::fs::remove_file(&self.path);
        frames
    }
}

fn frames(report: &RunReport) -> &[CapturedFrame] {
    &report.capture.as_ref().expect("the run captured").frames
}

/// Run with tcpdump alongside; assert both saw the same frames, each once.
fn run_beside_tcpdump(scenario: Scenario, port: u16) -> RunReport {
    require_cap_net_raw();
    let dump = Tcpdump::start(port);
    let report = run(&config(scenario, port)).unwrap_or_else(|e| panic!("{scenario:?}: {e}"));
    let theirs = dump.stop();
    let ours: Vec<Vec<u8>> = frames(&report).iter().map(|f| f.data.clone()).collect();
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{scenario:?}: tcpsim kept {} frames, tcpdump {}",
        ours.len(),
        theirs.len()
    );
    // Same frames (order may differ between two sockets when CPUs race).
    let count = |v: &[Vec<u8>]| {
        let mut m = BTreeMap::new();
        for f in v {
            *m.entry(f.clone()).or_insert(0u32) += 1;
        }
        m
    };
    assert_eq!(
        count(&ours),
        count(&theirs),
        "{scenario:?}: the frame sets differ"
    );
    // No frame counted twice: loopback hands each frame over twice, and on
    // a TCP connection no two distinct frames are byte-identical (IP ID and
    // TCP timestamps advance).
    let dups: Vec<_> = count(&ours).into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(
        dups.is_empty(),
        "{scenario:?}: {} frames captured twice",
        dups.len()
    );
    assert_eq!(
        report.capture.as_ref().unwrap().kernel_drops,
        Some(0),
        "kernel dropped frames"
    );
    // The analyzer saw every frame.
    let timeline = report.timeline.as_ref().expect("a timeline");
    let events: usize = timeline.connections.iter().map(|c| c.events.len()).sum();
    assert_eq!(
        events,
        ours.len(),
        "{scenario:?}: every captured frame is an event of the timeline"
    );
    assert_kernel_agrees(&report);
    report
}

/// The kernel's socket states agree with the inferred ones at every sampled
/// moment, and every scenario connection was sampled on both sides.
fn assert_kernel_agrees(r: &RunReport) {
    let bad: Vec<_> = r.states.iter().filter(|s| !s.agree).collect();
    assert!(
        bad.is_empty(),
        "{:?}: kernel and inferred states disagree: {bad:#?}",
        r.scenario
    );
    let conns = r
        .outcome
        .connections
        .iter()
        .filter(|c| c.client.is_some())
        .count();
    assert_eq!(
        r.states.len(),
        r.samples.len() * conns * 2,
        "a row per sample, connection and side"
    );
    assert!(r.samples.len() >= 2, "sampled at the steps and at the end");
    assert!(
        r.samples.iter().all(|s| s.frames_window.is_some()),
        "every sample is placed between two captured markers"
    );
}

/// Handshake, every byte acknowledged and close seen on every connection,
/// and the run's own verdict is good. (Retransmissions are not ruled out:
/// on a loaded machine loopback can reorder or drop in its backlog, and
/// the capture then rightly shows the kernel's recovery.)
fn assert_complete(r: &RunReport, connections: usize) {
    assert_eq!(
        r.verdicts.len(),
        connections,
        "{:?}: connections in the timeline",
        r.scenario
    );
    for v in &r.verdicts {
        assert!(
            v.handshake && v.all_acknowledged && v.close_seen && !v.rst_seen,
            "{v:?}"
        );
    }
    assert!(r.all_good(), "{:?}: the run's own verdict", r.scenario);
}

/// (SYN, SYN/ACK, FIN, RST, data segments) counted over a run's frames.
fn tally(frames: &[CapturedFrame]) -> (usize, usize, usize, usize, usize) {
    let mut t = (0, 0, 0, 0, 0);
    for f in frames {
        let i = locate_tcp(&f.data).expect("every kept frame is TCP").info;
        match (i.flags.syn(), i.flags.ack()) {
            (true, false) => t.0 += 1,
            (true, true) => t.1 += 1,
            _ => {}
        }
        t.2 += usize::from(i.flags.fin());
        t.3 += usize::from(i.flags.rst());
        t.4 += usize::from(i.payload_len > 0);
    }
    t
}

#[test]
fn echo_capture_matches_tcpdump_and_the_socket_exchange() {
    let r = run_beside_tcpdump(Scenario::Echo, 21101);
    let (syn, synack, fin, rst, data) = tally(frames(&r));
    // One handshake, one FIN each way, no RST; with TCP_NODELAY each of the
    // 5 lines goes out as one segment and comes back as one.
    assert_eq!((syn, synack, fin, rst), (1, 1, 2, 0));
    assert_eq!(data, 2 * 5);
    assert!(
        r.data_checks.len() == 2 && r.data_checks.iter().all(|d| d.ok && d.written == 5 * 52),
        "{:?}",
        r.data_checks
    );
    assert_complete(&r, 1);
    // The client closed first: it ends in TIME-WAIT, the server CLOSED, in
    // the capture's inference and in the kernel's table alike.
    assert_eq!(
        (r.verdicts[0].final_client, r.verdicts[0].final_server),
        (TcpState::TimeWait, TcpState::Closed)
    );
    let steps: Vec<&str> = r.samples.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(steps.first(), Some(&"connected"));
    assert!(
        steps.contains(&"client closed") && steps.last() == Some(&"end"),
        "{steps:?}"
    );
}

#[test]
fn concurrent_fifty_clients_all_echoes_intact_and_each_frame_once() {
    let r = run_beside_tcpdump(Scenario::Concurrent, 21102);
    let (syn, synack, fin, rst, _) = tally(frames(&r));
    assert_eq!((syn, synack, fin, rst), (50, 50, 100, 0));
    assert_eq!(r.outcome.connections.len(), 50);
    assert_eq!(r.data_checks.len(), 100);
    for d in &r.data_checks {
        assert!(
            d.ok && d.written == 2000 && d.on_wire == 2000 && d.read == Some(2000),
            "{d:?}"
        );
    }
    assert_complete(&r, 50);
    // With every client connected, the kernel lists 100 ESTABLISHED sockets
    // (both ends of 50 connections), as the capture says.
    let at: Vec<_> = r
        .states
        .iter()
        .filter(|s| s.step == "all clients connected")
        .collect();
    assert_eq!(at.len(), 100);
    assert!(at
        .iter()
        .all(|s| s.kernel == Some(KernelTcpState::Established)
            && s.inferred == TcpState::Established));
}

#[test]
fn concurrent_fork_serves_each_client_in_its_own_process() {
    let r = run_beside_tcpdump(Scenario::ConcurrentFork, 21103);
    let (syn, synack, fin, rst, _) = tally(frames(&r));
    assert_eq!((syn, synack, fin, rst), (50, 50, 100, 0));
    assert!(
        r.data_checks.iter().all(|d| d.ok && d.on_wire == 2000),
        "{:?}",
        r.data_checks.iter().find(|d| !d.ok)
    );
    assert_complete(&r, 50);
}

#[test]
fn bulk_transfer_loses_no_frame_and_every_byte_is_on_the_wire() {
    let r = run_beside_tcpdump(Scenario::Bulk, 21104);
    let (syn, synack, fin, rst, data) = tally(frames(&r));
    assert_eq!((syn, synack, fin, rst), (1, 1, 2, 0));
    assert!(
        data >= 4,
        "256 KiB in at least 4 segments (MSS 65483), saw {data}"
    );
    assert!(
        r.data_checks[0].ok && r.data_checks[0].on_wire == 256 << 10,
        "{:?}",
        r.data_checks[0]
    );
    // Frames larger than the 4096-byte default read buffer that would have cut them.
    let biggest = frames(&r).iter().map(|f| f.data.len()).max().unwrap();
    assert!(biggest > 4096, "largest frame {biggest} bytes");
    assert_complete(&r, 1);
}

#[test]
fn refused_connect_is_answered_by_rst() {
    let r = run_beside_tcpdump(Scenario::Refused, 21105);
    let (syn, synack, fin, rst, data) = tally(frames(&r));
    assert_eq!((syn, synack, fin, rst, data), (1, 0, 0, 1, 0));
    assert!(
        r.outcome.expected_failures.iter().all(|f| f.expected),
        "{:?}",
        r.outcome.expected_failures
    );
    assert_eq!(r.verdicts.len(), 1);
    let v = &r.verdicts[0];
    assert!(v.rst_seen && !v.handshake, "{v:?}");
    assert_eq!(
        (v.final_client, v.final_server),
        (TcpState::Closed, TcpState::Closed)
    );
    assert!(r.all_good());
}

#[test]
fn slow_reader_shows_zero_windows_from_the_reader() {
    let r = run_beside_tcpdump(Scenario::SlowReader, 21106);
    let server_port = r.server.port();
    let zero = frames(&r)
        .iter()
        .map(|f| locate_tcp(&f.data).unwrap().info)
        .filter(|i| i.src_port == server_port && !i.flags.syn() && i.window == 0)
        .count();
    assert!(zero >= 1, "no zero-window segment from the reader");
    assert!(
        r.verdicts[0].count(AnalysisFlag::ZeroWindow) >= 1,
        "{:?}",
        r.verdicts[0]
    );
    assert_complete(&r, 1);
}

#[test]
fn time_wait_restart_reports_the_bind_failure_as_expected_and_serves_again() {
    let r = run_beside_tcpdump(Scenario::TimeWaitRestart, 21107);
    let f = &r.outcome.expected_failures;
    assert_eq!(f.len(), 1);
    assert!(f[0].expected && f[0].outcome.contains("in use"), "{f:?}");
    let (syn, synack, fin, rst, _) = tally(frames(&r));
    assert_eq!((syn, synack, fin, rst), (2, 2, 4, 0));
    assert_complete(&r, 2);
    // The old server closed first: its side is in TIME-WAIT, inferred and in the kernel.
    assert_eq!(
        (r.verdicts[0].final_client, r.verdicts[0].final_server),
        (TcpState::Closed, TcpState::TimeWait)
    );
    let old = &r.outcome.connections[0];
    let end = r.samples.last().unwrap();
    assert!(
        end.sockets.iter().any(|s| s.local == r.server
            && Some(s.remote) == old.client
            && s.state == KernelTcpState::TimeWait),
        "{:?}",
        end.sockets
    );
}

#[test]
fn ipv6_echo_is_captured_too() {
    require_cap_net_raw();
    let mut cfg = config(Scenario::Echo, 21108);
    cfg.settings.family = Family::V6;
    let r = run(&cfg).expect("run echo over ::1");
    let (syn, synack, fin, rst, data) = tally(frames(&r));
    assert_eq!((syn, synack, fin, rst, data), (1, 1, 2, 0, 10));
    assert!(r.server.is_ipv6());
    assert_kernel_agrees(&r);
    assert_complete(&r, 1);
}

#[test]
fn half_close_reply_flows_after_the_clients_fin() {
    let r = run_beside_tcpdump(Scenario::HalfClose, 21109);
    assert_complete(&r, 1);
    // The client's FIN comes before any byte of the server's reply.
    let client_port = r.outcome.connections[0].client.unwrap().port();
    let infos: Vec<_> = frames(&r)
        .iter()
        .map(|f| locate_tcp(&f.data).unwrap().info)
        .collect();
    let client_fin = infos
        .iter()
        .position(|i| i.src_port == client_port && i.flags.fin())
        .unwrap();
    let first_reply = infos
        .iter()
        .position(|i| i.dst_port == client_port && i.payload_len > 0)
        .unwrap();
    assert!(
        client_fin < first_reply,
        "FIN at {client_fin}, reply at {first_reply}"
    );
    let steps: Vec<&str> = r.samples.iter().map(|s| s.label.as_str()).collect();
    assert!(
        steps.contains(&"client shut down its write side"),
        "{steps:?}"
    );
}

/// The capture written by the run and read back by the pcap reader gives the
/// same timeline as the live frames did: a run is a capture like any other.
#[test]
fn the_written_pcap_reads_back_to_the_same_timeline() {
    require_cap_net_raw();
    let r = run(&config(Scenario::HalfClose, 21110)).expect("run half-close");
    let path = std::env::temp_dir().join(format!(
        "tcpsim-runner-readback-{}.pcap",
        std::process::id()
    ));
    tcpsim::runner::write_pcap(&path, r.capture.as_ref().unwrap()).expect("write the pcap");
    let mut reader = tcpsim::pcap::CaptureReader::open(&path).expect("open the written pcap");
    let mut infos = Vec::new();
    while let Some(rec) = reader.next_record() {
        let rec = rec.expect("a record");
        assert_eq!(rec.linktype, tcpsim::pcap::linktype::ETHERNET);
        assert_eq!(
            rec.data.len() as u32,
            rec.orig_len,
            "no frame cut by the snaplen"
        );
        if let Ok(tcpsim::wire::decode::Decoded::Tcp(t)) =
            tcpsim::wire::decode::decode_frame(rec.linktype, rec.data, rec.orig_len)
        {
            let mut info = t.info;
            info.number = rec.number;
            info.time_ns = rec.time_ns();
            infos.push(info);
        }
    }
    let _ = std::fs::remove_file(&path);
    let live = r.timeline.as_ref().unwrap();
    let source = tcpsim::timeline::Source {
        kind: tcpsim::timeline::SourceKind::Capture,
        name: "x".into(),
        seed: None,
        packets: 0,
    };
    let back = tcpsim::timeline::timeline_from_packets(source, &infos);
    assert_eq!(infos.len(), frames(&r).len());
    assert_eq!(back.connections, live.connections);
}

/// Why the capture filters: a plain packet socket on lo (pnet's default
/// channel, no filter) sees every frame of the run twice, out and in; the
/// runner's capture sees each of those frames exactly once.
#[test]
fn a_plain_packet_socket_sees_each_frame_twice_the_runner_once() {
    use pnet::datalink::{self, Channel};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    require_cap_net_raw();
    let port = 21111;
    let lo = datalink::interfaces()
        .into_iter()
        .find(|i| i.name == "lo")
        .expect("lo");
    let pnet_config = datalink::Config {
        read_buffer_size: 262_144,
        read_timeout: Some(std::time::Duration::from_millis(20)),
        ..datalink::Config::default()
    };
    let Ok(Channel::Ethernet(_, mut rx)) = datalink::channel(&lo, pnet_config) else {
        panic!("pnet channel on lo")
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let plain = std::thread::spawn(move || {
        let mut seen = Vec::new();
        loop {
            match rx.next() {
                Ok(f) => {
                    if let Some(t) = locate_tcp(f) {
                        if t.info.src_port == port || t.info.dst_port == port {
                            seen.push(f.to_vec());
                        }
                    }
                }
                Err(_) if stop2.load(Ordering::SeqCst) => return seen,
                Err(_) => {}
            }
        }
    });
    let r = run(&config(Scenario::Echo, port)).expect("run echo");
    std::thread::sleep(std::time::Duration::from_millis(100));
    stop.store(true, Ordering::SeqCst);
    let plain = plain.join().expect("plain capture thread");
    let ours = frames(&r);
    assert_eq!(
        plain.len(),
        2 * ours.len(),
        "plain socket {} frames, runner {}",
        plain.len(),
        ours.len()
    );
    for f in ours {
        assert_eq!(
            plain.iter().filter(|p| **p == f.data).count(),
            2,
            "each frame twice on the plain socket"
        );
    }
}
