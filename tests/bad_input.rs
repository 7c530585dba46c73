//! Bad input never panics: not a capture, truncated files, absurd record
//! lengths, corrupt pcapng blocks, garbage inside packets. Every packet
//! before a fault is printed, then one error names file, packet number and
//! byte offset.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use tcpsim::cli::decode::{decode_reader, DecodeError, DecodeSummary, FieldsSpec, OutputMode};
use tcpsim::pcap::{CaptureError, CaptureReader};

fn fields_mode() -> OutputMode {
    let names = [
        "frame.number",
        "tcp.srcport",
        "tcp.seq_raw",
        "tcp.flags.str",
        "tcp.options.sack_le",
    ]
    .map(String::from);
    OutputMode::Fields(FieldsSpec::parse(&names, &["header=n".to_string()]).unwrap())
}

/// Decodes bytes in every output mode; returns the fields-mode rows and result.
fn decode_bytes(bytes: &[u8]) -> (Vec<String>, Result<DecodeSummary, CaptureError>) {
    let mut rows = Vec::new();
    let mut last = None;
    for mode in [
        fields_mode(),
        OutputMode::Text,
        OutputMode::Json,
        OutputMode::Jsonl,
        OutputMode::Hex,
    ] {
        let mut out = Vec::new();
        let r = match CaptureReader::from_bytes(bytes, "mem") {
            Ok(reader) => decode_reader(reader, &mode, true, &mut out).map_err(|e| match e {
                DecodeError::Capture(c) => c,
                DecodeError::Output(o) => panic!("output error {o}"),
            }),
            Err(e) => Err(e),
        };
        if let OutputMode::Fields(_) = mode {
            rows = String::from_utf8(out.clone())
                .unwrap()
                .lines()
                .map(String::from)
                .collect();
        }
        if let OutputMode::Json = mode {
            if r.is_ok() || !out.is_empty() {
                serde_json::from_slice::<serde_json::Value>(&out)
                    .expect("--json stays one valid document");
            }
        }
        last = Some(r);
    }
    (rows, last.unwrap())
}

fn category(manifest: &str, file: &str) -> Option<String> {
    manifest
        .lines()
        .find(|l| l.starts_with(&format!("{file}\t")))
        .and_then(|l| {
            l.split("category=")
                .nth(1)
                .map(|c| c.split(';').next().unwrap().to_string())
        })
}

#[test]
fn malformed_corpus_files_fail_cleanly_after_printing_what_precedes() {
    let shared = common::shared_dir();
    let manifest = fs::read_to_string(shared.join("captures/MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut checked = 0;
    for line in manifest.lines().skip(1) {
        let file = line.split('\t').next().unwrap();
        let cat = category(&manifest, file).unwrap_or_default();
        let bad = ["broken-", "fuzz-", "bad-", "trunc-"]
            .iter()
            .any(|p| cat.starts_with(p))
            || cat == "empty"
            || cat == "modified-pcap-magic";
        if !bad {
            continue;
        }
        checked += 1;
        let path = shared.join("captures/public").join(file);
        let bytes = fs::read(&path).unwrap();
        let (rows, result) = decode_bytes(&bytes);
        let reference = shared
            .join("captures/reference")
            .join(format!("{file}.tsv"));
        let ref_rows = fs::read_to_string(&reference)
            .map(|t| t.lines().count().saturating_sub(1))
            .unwrap_or(0);
        let tshark_failed = shared
            .join("captures/reference")
            .join(format!("{file}.stderr"))
            .exists();
        match &result {
            Err(e) => {
                assert!(
                    tshark_failed,
                    "{file} ({cat}): tshark reads it to the end, tcpsim: {e}"
                );
                assert_eq!(e.file, "mem");
                let packets_before = rows.len();
                assert!(
                    e.packet as usize > packets_before,
                    "{file}: error packet {} vs {packets_before} rows",
                    e.packet
                );
                assert!(
                    e.offset <= bytes.len() as u64,
                    "{file}: offset {} beyond file",
                    e.offset
                );
                let msg = e.to_string();
                assert!(
                    msg.starts_with(&format!(
                        "mem: packet {} at byte offset {}: ",
                        e.packet, e.offset
                    )),
                    "{msg}"
                );
            }
            Ok(_) => assert!(
                !tshark_failed,
                "{file} ({cat}): tshark failed on it, tcpsim read it all"
            ),
        }
        // The frames tshark printed before its own error are printed too
        // (tcpsim may recover one frame tshark lost to a packet fault, never fewer).
        assert!(
            rows.len() + 1 >= ref_rows,
            "{file}: {} rows, tshark {ref_rows}",
            rows.len()
        );
    }
    assert!(
        checked >= 10,
        "only {checked} malformed files found in MANIFEST.tsv"
    );
}

fn handshake() -> Vec<u8> {
    fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/handshake.pcap"))
        .expect("captures/handshake.pcap")
}

/// Offsets where each record of a classic pcap ends.
fn record_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
        ends.push(at);
    }
    ends
}

#[test]
fn truncating_a_capture_at_every_byte_never_panics() {
    let full = handshake();
    let ends = record_ends(&full);
    assert_eq!(*ends.last().unwrap(), full.len());
    let (all_rows, r) = decode_bytes(&full);
    assert!(r.is_ok());
    for cut in 0..full.len() {
        let (rows, result) = decode_bytes(&full[..cut]);
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(rows, all_rows[..complete].to_vec(), "cut at {cut}");
        let clean = cut >= 24 && (ends.contains(&cut) || cut == 24);
        match result {
            Ok(s) => assert!(clean, "cut at {cut}: accepted a partial record ({s:?})"),
            Err(e) => {
                assert!(!clean, "cut at {cut}: {e}");
                assert_eq!(e.packet, complete as u64 + 1, "cut at {cut}: {e}");
                let expect_offset = if cut < 24 {
                    0
                } else if complete == 0 {
                    24
                } else {
                    ends[complete - 1]
                };
                assert_eq!(e.offset, expect_offset as u64, "cut at {cut}: {e}");
            }
        }
    }
}

#[test]
fn truncating_a_pcapng_at_every_byte_never_panics() {
    let shared = common::shared_dir();
    let full = fs::read(shared.join("captures/public/chrissanders-packets__tcp_handshake.pcapng"))
        .unwrap();
    let (all_rows, r) = decode_bytes(&full);
    assert!(r.is_ok());
    assert_eq!(all_rows.len(), 3);
    for cut in 0..full.len() {
        let (rows, result) = decode_bytes(&full[..cut]);
        assert_eq!(rows, all_rows[..rows.len()].to_vec(), "cut at {cut}");
        if let Err(e) = result {
            assert_eq!(e.packet, rows.len() as u64 + 1, "cut at {cut}: {e}");
        } else {
            assert!(cut == 0 || rows.len() <= 3);
        }
    }
}

/// A small deterministic generator (xorshift) for reproducible garbage.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn garbage_inside_packets_and_headers_never_panics() {
    let full = handshake();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..3000 {
        let mut b = full.clone();
        let flips = 1 + (xorshift(&mut seed) % 8) as usize;
        for _ in 0..flips {
            // Mostly inside packets; sometimes in file or record headers.
            let at = if round % 4 == 0 {
                (xorshift(&mut seed) as usize) % b.len()
            } else {
                24 + 16 + (xorshift(&mut seed) as usize) % (b.len() - 40)
            };
            b[at] = xorshift(&mut seed) as u8;
        }
        let _ = decode_bytes(&b);
    }
}

#[test]
fn not_a_capture_and_absurd_lengths() {
    let (rows, r) = decode_bytes(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n");
    assert!(rows.is_empty());
    assert!(r
        .unwrap_err()
        .to_string()
        .contains("not a pcap or pcapng capture"));
    let mut b = handshake();
    let ends = record_ends(&b);
    // Third record claims 4 GiB.
    b[ends[1] + 8..ends[1] + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let (rows, r) = decode_bytes(&b);
    assert_eq!(rows.len(), 2);
    let e = r.unwrap_err();
    assert_eq!((e.packet, e.offset), (3, ends[1] as u64));
    assert!(
        e.to_string()
            .contains("record length 4294967295 is larger than the 262144-byte maximum"),
        "{e}"
    );
    // A record that claims more than the file holds, below the maximum.
    let mut b = handshake();
    b[ends[8] + 8..ends[8] + 12].copy_from_slice(&200_000u32.to_le_bytes());
    let (rows, r) = decode_bytes(&b);
    assert_eq!(rows.len(), 9);
    assert!(r
        .unwrap_err()
        .to_string()
        .contains("file ends inside the record"));
}

#[test]
fn cli_prints_rows_then_one_error_line_and_fails() {
    let shared = common::shared_dir();
    let file = shared.join(
        "captures/public/suricata-verify__tests__bug-1450-04__tls_DER-incomplete-header.pcap",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args([
            "decode",
            file.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        vec!["1", "2", "3", "4", "5", "6"]
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "tcpsim: {}: packet 7 at byte offset 5035: record length 4325376 is larger than the 262144-byte maximum",
            file.display()
        )
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args([
            "decode",
            file.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "tcp.bogus",
            "-e",
            "ip.src",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("Some fields aren't valid: tcp.bogus"));
}
