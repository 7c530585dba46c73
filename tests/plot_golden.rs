//! Golden tests on the structure of the pictures drawn from captures: every
//! segment is one arrow, labels are present, lost segments are marked, data
//! segments / SACK blocks / zero windows appear in the sequence graph, and a
//! per-capture summary of element counts matches fixtures/plot/NAME.txt.
//!
//! Re-bless the summaries after an intended change with
//! `TCPSIM_BLESS=1 cargo test --test plot_golden` and review the diff.
//! Needs the shared captures (`../shared`, or TCPSIM_SHARED); fails without them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tcpsim::plot::{self, from_timeline, input, ladder, svg::escape, Direction};
use tcpsim::timeline::schema::{self, AnalysisFlag, Connection, Timeline};

fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("TCPSIM_SHARED") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    assert!(
        dir.join("captures/public").is_dir(),
        "shared captures not found at {} (set TCPSIM_SHARED to the shared/ folder)",
        dir.display()
    );
    dir
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

fn is_retx(e: &schema::Event) -> bool {
    e.analysis.iter().any(|f| {
        matches!(
            f,
            AnalysisFlag::Retransmission
                | AnalysisFlag::FastRetransmission
                | AnalysisFlag::SpuriousRetransmission
        )
    })
}

/// Checks one connection's three pictures against its timeline events and
/// returns its summary line.
fn check_connection(name: &str, conn: &Connection, simulated: bool) -> String {
    let conv = from_timeline::conversation(conn, simulated);
    let n = conn.events.len();
    let lost = conn.events.iter().filter(|e| e.lost).count();
    let retx = conn.events.iter().filter(|e| is_retx(e)).count();

    // Ladder: one arrow per segment, every label, lost ones crossed.
    let layout = ladder::layout(&conv, &ladder::LadderOptions::default());
    let svg = plot::ladder_svg(&conv);
    let ctx = format!("{name} stream {}", conn.stream);
    assert_eq!(count(&svg, "<g class=\"arrow "), n, "{ctx}: arrows");
    assert_eq!(
        count(&svg, "class=\"lost-cross\""),
        lost,
        "{ctx}: lost crosses"
    );
    assert_eq!(
        count(&svg, "class=\"head\""),
        n - lost,
        "{ctx}: arrow heads"
    );
    assert_eq!(
        count(&svg, " retransmission\">"),
        retx,
        "{ctx}: retransmission arrows"
    );
    for (e, s) in conn.events.iter().zip(&conv.segments) {
        let label = ladder::segment_label(s);
        let first = label.split(' ').next().unwrap_or("");
        for f in e.flags.split(',').filter(|f| !f.is_empty() && *f != "RES") {
            assert!(
                first.split(',').any(|x| x == f),
                "{ctx}: label {label:?} lacks flag {f}"
            );
        }
        assert!(
            label.contains(&format!(" seq={} ", e.seq)),
            "{ctx}: {label:?} has seq {}",
            e.seq
        );
        if e.flags_raw & 0x10 != 0 {
            assert!(
                label.contains(&format!(" ack={} ", e.ack)),
                "{ctx}: {label:?} has ack {}",
                e.ack
            );
        }
        assert!(
            svg.contains(&format!(">{}</text>", escape(&label))),
            "{ctx}: label {label:?} missing"
        );
        assert!(
            label.contains(&format!(" len={}", e.len)),
            "{ctx}: {label:?} has len {}",
            e.len
        );
        assert!(
            label.contains(&format!(" win={}", e.window)),
            "{ctx}: {label:?} has win {}",
            e.window
        );
    }
    // Each endpoint's state is written where it changes.
    for e in &conn.events {
        assert!(
            svg.contains(&format!(">{}</text>", e.client_state.name())),
            "{ctx}: state {}",
            e.client_state
        );
        assert!(
            svg.contains(&format!(">{}</text>", e.server_state.name())),
            "{ctx}: state {}",
            e.server_state
        );
    }
    assert!(
        svg.contains(&format!(">{}</text>", escape(&conn.client.to_string()))),
        "{ctx}: client address"
    );
    assert!(
        svg.contains(&format!(">{}</text>", escape(&conn.server.to_string()))),
        "{ctx}: server address"
    );

    // The text ladder is the same layout: one line per segment with the same labels.
    let text = plot::ladder_text(&conv);
    for a in &layout.arrows {
        assert!(
            text.contains(&a.label),
            "{ctx}: text ladder lacks {:?}",
            a.label
        );
    }
    assert_eq!(
        text.lines()
            .filter(|l| l.contains(" |") && l.contains(" seq="))
            .count(),
        n,
        "{ctx}: text arrows"
    );

    // Sequence graph.
    let d = conv.main_data_direction();
    let sd = match d {
        Direction::ToServer => schema::Direction::ClientToServer,
        Direction::ToClient => schema::Direction::ServerToClient,
    };
    let data = conn
        .events
        .iter()
        .filter(|e| e.direction == sd && e.nxtseq != e.seq)
        .count();
    let data_model = conv
        .segments
        .iter()
        .filter(|s| s.dir == d && s.seq_len() > 0)
        .count();
    let seq = plot::sequence_svg(&conv);
    assert_eq!(
        count(&seq, "<g class=\"seg"),
        data_model,
        "{ctx}: data segments in the sequence graph"
    );
    assert!(
        data_model >= data,
        "{ctx}: data segments {data_model} < events with nxtseq != seq {data}"
    );
    let acks = conn
        .events
        .iter()
        .filter(|e| e.direction != sd && e.flags_raw & 0x10 != 0 && !e.lost);
    let (mut sacks, mut zero) = (0, 0);
    for e in acks {
        sacks += e.sack.len();
        zero += usize::from(e.window == 0 && e.flags_raw & 0x04 == 0);
    }
    assert_eq!(
        count(&seq, "<g class=\"sack\""),
        sacks,
        "{ctx}: SACK blocks"
    );
    assert_eq!(
        count(&seq, "<g class=\"zero-window\""),
        zero,
        "{ctx}: zero windows"
    );
    assert!(
        seq.contains("relative sequence number (bytes)")
            && seq.contains("time since first segment (s)")
    );

    // Window graph.
    let win = plot::window_svg(&conv);
    let has_reverse = conn.events.iter().any(|e| e.direction != sd && !e.lost);
    assert_eq!(
        win.contains("<polyline class=\"rwnd\""),
        has_reverse && conn.events.len() > 1,
        "{ctx}: rwnd line"
    );
    let cwnd = conn
        .events
        .iter()
        .any(|e| e.direction == sd && e.cwnd.is_some());
    assert_eq!(
        win.contains("<polyline class=\"cwnd\""),
        cwnd,
        "{ctx}: cwnd line"
    );

    format!(
        "stream {}: arrows={} lost={} retransmissions={} folds={} states={} data_segments={} sack={} zero_window={} ladder={}x{}",
        conn.stream,
        n,
        lost,
        retx,
        layout.folds.len(),
        layout.states.len(),
        data_model,
        sacks,
        zero,
        layout.width.round(),
        layout.height.round()
    )
}

/// Checks every connection (up to 20) and compares the summary with the golden file.
fn check_timeline(name: &str, t: &Timeline) {
    let simulated = t.source.kind == schema::SourceKind::Simulation;
    assert!(!t.connections.is_empty(), "{name}: no connections");
    let mut summary = String::new();
    for conn in t.connections.iter().take(20) {
        let _ = writeln!(summary, "{}", check_connection(name, conn, simulated));
    }
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/plot")
        .join(format!("{name}.txt"));
    if std::env::var_os("TCPSIM_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, &summary).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (bless with TCPSIM_BLESS=1 cargo test --test plot_golden)",
            golden.display()
        )
    });
    assert_eq!(
        summary, want,
        "{name}: picture structure changed (re-bless with TCPSIM_BLESS=1 if intended)"
    );
}

fn check_capture(file: &str) {
    let path = shared_dir().join("captures/public").join(file);
    let (kind, t) = input::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kind, input::InputKind::Capture);
    let name = file.rsplit_once('.').map_or(file, |(n, _)| n);
    check_timeline(name, &t);
}

#[test]
fn handshake_capture() {
    check_capture("chrissanders-packets__tcp_handshake.pcapng");
}

#[test]
fn retransmissions_capture() {
    check_capture("chrissanders-packets__tcp_retransmissions.pcapng");
}

#[test]
fn zero_window_capture() {
    check_capture("chrissanders-packets__tcp_zerowindowrecovery.pcapng");
}

#[test]
fn sack_capture() {
    check_capture("chrissanders-packets__tcp_dupack.pcapng");
}

#[test]
fn http_download_with_sack_and_zero_windows() {
    check_capture("zeek__testing__btest__Traces__http__206_example_b.pcap");
}

#[test]
fn many_connections() {
    check_capture("nDPI__tests__cfgs__default__pcap__sites.pcapng");
}

#[test]
fn teardown_capture() {
    check_capture("chrissanders-packets__tcp_teardown.pcapng");
}

fn check_project_capture(file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(file);
    let (kind, t) = input::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kind, input::InputKind::Capture);
    check_timeline(file.rsplit_once('.').map_or(file, |(n, _)| n), &t);
}

#[test]
fn project_capture_echo() {
    check_project_capture("run-echo.pcap");
}

#[test]
fn project_capture_zero_window() {
    check_project_capture("run-slow-reader.pcap");
}

#[test]
fn project_capture_two_streams_time_wait() {
    check_project_capture("run-time-wait-restart.pcap");
}

#[test]
fn project_capture_bulk_and_handshake() {
    check_project_capture("bulk.pcap");
    check_project_capture("handshake.pcap");
}

/// The README's pictures are what `docs/img/regenerate.sh` makes today.
#[test]
fn readme_pictures_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let conv = |file: &str| {
        let (_, t) =
            input::load(&root.join("captures").join(file)).unwrap_or_else(|e| panic!("{e}"));
        from_timeline::conversation(&t.connections[0], false)
    };
    let echo = conv("run-echo.pcap");
    let zero = conv("run-slow-reader.pcap");
    for (name, now) in [
        ("echo-ladder.svg", plot::ladder_svg(&echo)),
        ("echo-ladder.txt", plot::ladder_text(&echo)),
        ("zero-window-sequence.svg", plot::sequence_svg(&zero)),
        ("zero-window-window.svg", plot::window_svg(&zero)),
    ] {
        let path = root.join("docs/img").join(name);
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == now,
            "{} is stale: run sh docs/img/regenerate.sh",
            path.display()
        );
    }
}

#[test]
fn timeline_json_round_trip_draws_the_same() {
    // A capture's timeline written as JSON and read back draws the same ladder.
    let path =
        shared_dir().join("captures/public/chrissanders-packets__tcp_retransmissions.pcapng");
    let (_, t) = input::load(&path).unwrap();
    let dir = std::env::temp_dir().join(format!("tcpsim-plot-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("t.json");
    std::fs::write(&json, serde_json::to_string(&t).unwrap()).unwrap();
    let (kind, back) = input::load(&json).unwrap();
    assert_eq!(kind, input::InputKind::TimelineJson);
    let a = plot::ladder_svg(&from_timeline::conversation(&t.connections[0], false));
    let b = plot::ladder_svg(&from_timeline::conversation(&back.connections[0], false));
    assert_eq!(a, b);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every public capture either draws (all three pictures of every connection,
/// and the report) or fails with an error naming the file; nothing panics.
#[test]
fn every_public_capture_draws_or_fails_cleanly() {
    let dir = shared_dir().join("captures/public");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() > 20,
        "expected the public captures in {}",
        dir.display()
    );
    let mut drawn = 0;
    for path in &files {
        let loaded = match input::load_partial(path) {
            Ok(l) => l,
            Err(e) => {
                let msg = e.to_string();
                let name = path.file_name().unwrap().to_string_lossy();
                assert!(
                    msg.contains(name.as_ref()),
                    "error does not name the file: {msg}"
                );
                continue;
            }
        };
        if let Some(f) = &loaded.fault {
            let name = path.file_name().unwrap().to_string_lossy();
            assert!(
                f.to_string().contains(name.as_ref()),
                "fault does not name the file: {f}"
            );
        }
        let simulated = loaded.timeline.source.kind == schema::SourceKind::Simulation;
        for conn in loaded.timeline.connections.iter().take(50) {
            let conv = from_timeline::conversation(conn, simulated);
            let svg = plot::ladder_svg(&conv);
            assert_eq!(
                count(&svg, "<g class=\"arrow "),
                conn.events.len(),
                "{}",
                path.display()
            );
            assert!(plot::sequence_svg(&conv).ends_with("</svg>\n"));
            assert!(plot::window_svg(&conv).ends_with("</svg>\n"));
            assert!(!plot::ladder_text(&conv).is_empty());
            drawn += 1;
        }
    }
    assert!(drawn > 100, "only {drawn} connections drawn");
}
