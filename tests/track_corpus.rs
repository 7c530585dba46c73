//! tcpsim's analysis against tshark 4.0's reference tables over the public
//! corpus in ../shared/captures: the stream-level fields must agree on every
//! frame, and no agreement figure may fall below docs/analysis-agreement.md
//! (regenerate it with the command written at its top).

use std::collections::HashMap;
use std::path::PathBuf;
use tcpsim::cli::agreement::{compute, Report};

fn shared() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/captures");
    assert!(
        p.join("public").is_dir() && p.join("reference").is_dir(),
        "this test needs the public corpus at {} (../shared/captures/public and reference)",
        p.display()
    );
    p
}

fn report() -> Report {
    let s = shared();
    compute(&s.join("public"), &s.join("reference")).expect("reading the corpus")
}

/// Rows of a Markdown table under the given heading: first cell -> other cells.
fn table(md: &str, heading: &str) -> HashMap<String, Vec<String>> {
    let mut rows = HashMap::new();
    let mut inside = false;
    for line in md.lines() {
        if line.starts_with("## ") {
            inside = line.trim_start_matches("## ").trim() == heading;
            continue;
        }
        if !inside || !line.starts_with('|') || line.starts_with("|---") {
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        if cells
            .first()
            .is_some_and(|c| c == "field" || c == "flag" || c == "item")
        {
            continue;
        }
        rows.insert(cells[0].clone(), cells[1..].to_vec());
    }
    rows
}

fn committed() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/analysis-agreement.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn stream_level_fields_agree_with_tshark_on_every_frame() {
    let r = report();
    assert!(r.frames > 9000, "the corpus shrank: {} frames", r.frames);
    for (field, c) in &r.exact {
        assert_eq!(
            c.disagree, 0,
            "{field} disagrees with tshark on {} frames, e.g. {:?}",
            c.disagree, c.examples
        );
        assert_eq!(
            c.agree, r.frames,
            "{field}: every reference frame is compared"
        );
    }
}

#[test]
fn analysis_agreement_never_falls_below_the_committed_table() {
    let r = report();
    let md = committed();
    let flags = table(&md, "Analysis flags");
    assert_eq!(
        flags.len(),
        r.flags.len(),
        "the committed table lists every flag"
    );
    for (flag, c) in &r.flags {
        let row = flags
            .get(flag.name())
            .unwrap_or_else(|| panic!("{} missing from the table", flag.name()));
        let n = |i: usize| -> f64 {
            row[i]
                .parse()
                .unwrap_or_else(|_| panic!("bad cell {:?}", row[i]))
        };
        let (both, only_t, only_s, pct) = (n(0), n(1), n(2), n(4));
        assert!(
            c.agreement() >= 99.0,
            "{}: {:.3}% agreement is below 99%",
            flag.name(),
            c.agreement()
        );
        assert!(
            (c.agreement() * 1000.0).round() / 1000.0 >= pct,
            "{}: agreement {:.3}% fell below the committed {pct}%",
            flag.name(),
            c.agreement()
        );
        assert!(
            c.both as f64 >= both,
            "{}: frames both flag fell from {both} to {}",
            flag.name(),
            c.both
        );
        assert!(
            c.only_tshark as f64 <= only_t,
            "{}: only-tshark rose from {only_t} to {}",
            flag.name(),
            c.only_tshark
        );
        assert!(
            c.only_tcpsim as f64 <= only_s,
            "{}: only-tcpsim rose from {only_s} to {}",
            flag.name(),
            c.only_tcpsim
        );
    }
    let values = table(&md, "Other analysis values");
    for (field, c) in r.values.iter().chain(r.exact.iter()) {
        let table = if r.exact.contains_key(field) {
            table(&md, "Stream-level fields (must agree on every frame)")
        } else {
            values.clone()
        };
        let row = table
            .get(field)
            .unwrap_or_else(|| panic!("{field} missing from the committed table"));
        let agree: u64 = row[0].parse().expect("agreeing count");
        assert!(
            c.agree >= agree,
            "{field}: frames agreeing fell from {agree} to {}",
            c.agree
        );
    }
}

#[test]
fn completeness_and_window_scaling_follow_tshark_on_known_frames() {
    // Spot checks that could fail independently of the table: the
    // zero-window capture starts mid-stream (completeness 4 on its first
    // frame, 12 after: tshark's second pass), and its windows are unscaled
    // with an unknown factor.
    let s = shared();
    let cap = s.join("public/chrissanders-packets__tcp_zerowindowdead.pcapng");
    let mut inputs = Vec::new();
    tcpsim::cli::tcp_input::for_each_tcp_packet(&cap, |p| inputs.push(*p)).expect("readable");
    let a = tcpsim::timeline::analyze_inputs(&inputs);
    assert_eq!(a[0].completeness, 4);
    assert!(a[1..].iter().all(|x| x.completeness == 12));
    assert!(a
        .iter()
        .all(|x| x.scale == Some(tcpsim::track::WindowScale::Unknown)));
    assert!(a
        .iter()
        .any(|x| x.flags.contains(tcpsim::timeline::AnalysisFlag::ZeroWindow)));
}

/// Frames of a corpus capture with each of tcpsim's own SACK verdicts.
fn sack_verdict_frames(name: &str) -> [Vec<u64>; 3] {
    let cap = shared().join("public").join(name);
    let mut inputs = Vec::new();
    tcpsim::cli::tcp_input::for_each_tcp_packet(&cap, |p| inputs.push(*p)).expect("readable");
    let a = tcpsim::timeline::analyze_inputs(&inputs);
    let frames = |f: fn(&tcpsim::track::PacketAnalysis) -> bool| -> Vec<u64> {
        inputs
            .iter()
            .zip(&a)
            .filter(|(_, x)| f(x))
            .map(|(p, _)| p.info.number)
            .collect()
    };
    [
        frames(|x| x.sack_recovery),
        frames(|x| x.already_sacked),
        frames(|x| x.dsack),
    ]
}

#[test]
fn sack_verdicts_on_known_frames() {
    // The client (49506) sends 2084..3954 in frames 21-23; the server's
    // ACKs say 2084 and SACK 2692..3954 (frames 24-26). Frame 27 resends
    // the hole 2084..2692 (SACK recovery); frame 28 resends 3326..3954,
    // which the server already held: it reports it back as a D-SACK in
    // frame 31 (RFC 2883).
    let [rec, held, dsack] =
        sack_verdict_frames("suricata-verify__tests__tcp-empty-sack__tcp-opt.pcap");
    assert_eq!(rec, vec![27]);
    assert_eq!(held, vec![28]);
    assert_eq!(dsack, vec![31]);

    // RFC 6675 recovery: frame 128 ACKs 43441 with SACK blocks
    // 53577..57921, 59369..62265, 63713..98465; frames 129-132 repair
    // exactly those holes. Frames 133-134 resend bytes above the highest
    // SACKed byte: no verdict.
    let [rec, held, dsack] =
        sack_verdict_frames("suricata-verify__tests__bug-4376__syn_retransmit_with_ts.pcap");
    assert_eq!(rec, vec![51, 127, 129, 130, 131, 132]);
    assert!(held.is_empty() && dsack.is_empty());
}

#[test]
fn tcp_expert_messages_never_fall_below_the_committed_table() {
    let r = report();
    let md = committed();
    let t = table(&md, "TCP expert messages");
    let row = t
        .get("_ws.expert.message (TCP)")
        .expect("the committed table has the sequence row");
    let agree: u64 = row[0].parse().expect("agreeing count");
    assert!(
        r.expert.agree >= agree,
        "TCP expert messages: frames agreeing fell from {agree} to {}; e.g. {:?}",
        r.expert.agree,
        r.expert.examples
    );
    assert!(
        r.expert.agree * 1000 >= r.frames * 999,
        "TCP expert messages agree on fewer than 99.9% of frames"
    );
    assert_eq!(r.expert.agree + r.expert.disagree, r.frames);
    for (kind, c) in &r.expert_kinds {
        let row = t
            .get(kind)
            .unwrap_or_else(|| panic!("{kind} missing from the committed table"));
        let n = |i: usize| -> u64 {
            row[i]
                .parse()
                .unwrap_or_else(|_| panic!("bad cell {:?}", row[i]))
        };
        assert!(c.both >= n(0), "{kind}: frames both show fell");
        assert!(c.only_tshark <= n(1), "{kind}: only-tshark rose");
        assert!(c.only_tcpsim <= n(2), "{kind}: only-tcpsim rose");
    }
    // Items that do occur in the corpus are really compared.
    for kind in [
        "Connection establish request (SYN): server port N",
        "This frame initiates the connection closing",
        "This frame undergoes the connection closing",
        "D-SACK Sequence",
        "Duplicate ACK (#N)",
    ] {
        assert!(r.expert_kinds[kind].both > 0, "{kind} never seen");
    }
}

#[test]
fn rto_frames_follow_tshark_on_known_frames() {
    // tshark 4.0: frames 2-6 resend frame 1's segment, each timed from it.
    let cap = shared().join("public/chrissanders-packets__tcp_retransmissions.pcapng");
    let mut inputs = Vec::new();
    tcpsim::cli::tcp_input::for_each_tcp_packet(&cap, |p| inputs.push(*p)).expect("readable");
    let a = tcpsim::timeline::analyze_inputs(&inputs);
    let frames: Vec<(u64, Option<u64>, Option<i64>)> = inputs
        .iter()
        .zip(&a)
        .map(|(p, x)| (p.info.number, x.rto_frame, x.rto_ns))
        .collect();
    for (n, frame, rto) in &frames[1..6] {
        assert_eq!(*frame, Some(1), "frame {n}");
        assert!(rto.is_some_and(|r| r > 0), "frame {n}");
    }
    assert_eq!(
        frames[5].2,
        Some(9_211_000_000),
        "frame 6: 9.211 s after frame 1"
    );
}
