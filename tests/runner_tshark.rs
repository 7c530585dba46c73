//! Captures made by `tcpsim run` open in tshark without errors, and tshark's
//! per-packet fields (../shared/tools/tshark-reference.sh) agree with
//! `tcpsim decode -2 -T fields` on them, field by field, frame by frame.
//!
//! The shipped captures (captures/run-*.pcap) are checked without privileges;
//! fresh runs need CAP_NET_RAW (CI runs as root) and fail loudly without it.

mod common;

use common::{norm, parse_tsv, reference_cell, Table};
use std::path::{Path, PathBuf};
use std::process::Command;
use tcpsim::cli::fields;
use tcpsim::runner::scenario::{Family, Scenario, ScenarioConfig};
use tcpsim::runner::{run, write_pcap, RunConfig};

/// tshark's table for a capture; tshark must read it without an error.
fn tshark_table(capture: &Path) -> Table {
    let script = common::shared_dir().join("tools/tshark-reference.sh");
    assert!(script.is_file(), "missing {}", script.display());
    let out = Command::new("sh")
        .arg(&script)
        .arg(capture)
        .output()
        .expect("tshark must be installed (apt-get install tshark)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // tshark warns when run as root; anything else is an error reading the file.
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("Running as user"))
        .collect();
    assert!(
        out.status.success() && complaints.is_empty(),
        "tshark on {}: {stderr}",
        capture.display()
    );
    parse_tsv(&String::from_utf8(out.stdout).expect("utf-8"))
}

/// `tcpsim decode -2 -T fields` with the given fields.
fn tcpsim_table(capture: &Path, names: &[String]) -> Table {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tcpsim"));
    cmd.arg("decode").arg(capture).args(["-2", "-T", "fields"]);
    for o in [
        "header=y",
        "separator=/t",
        "quote=n",
        "occurrence=a",
        "aggregator=|",
    ] {
        cmd.args(["-E", o]);
    }
    for n in names {
        cmd.args(["-e", n]);
    }
    let out = cmd.output().expect("run tcpsim decode");
    assert!(
        out.status.success(),
        "tcpsim decode {}: {}",
        capture.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_tsv(&String::from_utf8(out.stdout).expect("utf-8"))
}

/// Compare the two tables on every field tcpsim knows; return the differences.
fn differences(capture: &Path) -> (usize, Vec<String>) {
    let (ref_head, ref_rows) = tshark_table(capture);
    let names: Vec<String> = ref_head
        .iter()
        .filter(|f| fields::lookup(f).is_some())
        .cloned()
        .collect();
    for must in [
        "frame.len",
        "frame.cap_len",
        "tcp.srcport",
        "tcp.dstport",
        "tcp.flags",
        "tcp.len",
        "tcp.seq_raw",
        "tcp.ack_raw",
        "tcp.window_size_value",
        "tcp.checksum",
    ] {
        assert!(
            names.iter().any(|n| n == must),
            "tcpsim decode does not know {must}: {names:?}"
        );
    }
    let (our_head, our_rows) = tcpsim_table(capture, &names);
    assert_eq!(our_head, names);
    let mut diffs = Vec::new();
    let ref_frames: Vec<_> = ref_rows.keys().collect();
    let our_frames: Vec<_> = our_rows.keys().collect();
    if ref_frames != our_frames {
        diffs.push(format!(
            "frames: tshark {ref_frames:?}, tcpsim {our_frames:?}"
        ));
    }
    let mut compared = 0;
    for (col, field) in names.iter().enumerate() {
        let rcol = ref_head.iter().position(|h| h == field).unwrap();
        for (n, r) in &ref_rows {
            let Some(o) = our_rows.get(n) else { continue };
            compared += 1;
            if norm(&reference_cell(field, &r[rcol])) != norm(&o[col]) {
                diffs.push(format!(
                    "frame {n} {field}: tshark {:?}, tcpsim {:?}",
                    r[rcol], o[col]
                ));
            }
        }
    }
    (compared, diffs)
}

fn assert_agree(capture: &Path) {
    let (compared, diffs) = differences(capture);
    assert!(compared > 0);
    assert!(
        diffs.is_empty(),
        "{}: {} differences:\n{}",
        capture.display(),
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn shipped_run_captures_agree_with_tshark() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut caps: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("captures/")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            // Every capture made by `tcpsim run` (see captures/README.md).
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with("run-") || n == "bulk.pcap"
        })
        .collect();
    caps.sort();
    assert!(caps.len() >= 6, "captures made by tcpsim run: {caps:?}");
    std::thread::scope(|scope| {
        for c in &caps {
            scope.spawn(move || assert_agree(c));
        }
    });
}

fn require_cap_net_raw() {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).expect("CapEff is hex"))
        .expect("CapEff line");
    assert!(
        cap_eff & (1 << 13) != 0,
        "this test captures on lo and needs CAP_NET_RAW: run the tests as root (CI does)"
    );
}

/// Run one scenario with capture, write its pcap, compare with tshark.
fn fresh_run_agrees(scenario: Scenario, family: Family, port: u16) {
    require_cap_net_raw();
    let cfg = RunConfig {
        scenario,
        settings: ScenarioConfig {
            family,
            port,
            lines: 4,
            bytes: 200_000,
            clients: 10,
            worker_exe: None,
        },
        capture: true,
    };
    let r = run(&cfg).unwrap_or_else(|e| panic!("{scenario:?}: {e}"));
    let path = std::env::temp_dir().join(format!(
        "tcpsim-runner-tshark-{port}-{}.pcap",
        std::process::id()
    ));
    write_pcap(&path, r.capture.as_ref().unwrap()).expect("write the pcap");
    assert_agree(&path);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn fresh_ipv6_echo_agrees_with_tshark() {
    fresh_run_agrees(Scenario::Echo, Family::V6, 21302);
}

#[test]
fn fresh_bulk_with_large_frames_agrees_with_tshark() {
    fresh_run_agrees(Scenario::Bulk, Family::V4, 21303);
}

#[test]
fn fresh_concurrent_agrees_with_tshark() {
    fresh_run_agrees(Scenario::Concurrent, Family::V4, 21305);
}
