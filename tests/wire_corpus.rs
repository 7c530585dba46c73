//! Every TCP frame tshark lists in the reference tables of the public corpus
//! decodes with `wire::decode_frame`, and its header fields agree with
//! tshark's. (The per-field CLI comparison, stream-level fields included,
//! lives with `tcpsim decode`; this test checks the codec alone.)
//!
//! Reads `$CARGO_MANIFEST_DIR/../shared/captures` (or `$TCPSIM_SHARED/captures`
//! when that variable is set); fails loudly without it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use tcpsim::pcap::CaptureReader;
use tcpsim::wire::reassembly::Reassembler;
use tcpsim::wire::{decode_frame, Decoded, MalformedTcp, NotTcp, TcpFrame};

fn shared() -> PathBuf {
    let shared = std::env::var_os("TCPSIM_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let p = shared.join("captures");
    assert!(
        p.join("public").is_dir() && p.join("reference").is_dir(),
        "this test needs the shared capture corpus at {} (CI provides it)",
        p.display()
    );
    p
}

struct Reference {
    header: Vec<String>,
    rows: HashMap<u64, Vec<String>>,
}

fn read_reference(path: &std::path::Path) -> Reference {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = match lines.next() {
        Some(h) => h.split('\t').map(str::to_owned).collect(),
        None => Vec::new(),
    };
    let mut rows = HashMap::new();
    for l in lines {
        let cols: Vec<String> = l.split('\t').map(str::to_owned).collect();
        let n: u64 = cols[0].parse().unwrap();
        rows.insert(n, cols);
    }
    Reference { header, rows }
}

fn v4(a: std::net::IpAddr) -> String {
    if a.is_ipv4() {
        a.to_string()
    } else {
        String::new()
    }
}

fn v6(a: std::net::IpAddr) -> String {
    if a.is_ipv6() {
        a.to_string()
    } else {
        String::new()
    }
}

/// Our value of one tshark field, formatted as tshark prints it.
fn ours(t: &TcpFrame<'_>, field: &str) -> Option<String> {
    let i = &t.info;
    let o = &i.options;
    Some(match field {
        "frame.len" => i.frame_len.to_string(),
        "frame.cap_len" => i.cap_len.to_string(),
        "ip.src" => v4(i.src),
        "ip.dst" => v4(i.dst),
        "ipv6.src" => v6(i.src),
        "ipv6.dst" => v6(i.dst),
        "tcp.srcport" => i.src_port.to_string(),
        "tcp.dstport" => i.dst_port.to_string(),
        "tcp.flags" => format!("0x{:04x}", i.flags.0),
        "tcp.hdr_len" => i.header_len.to_string(),
        "tcp.len" => t.tcp_len().map(|l| l.to_string()).unwrap_or_default(),
        "tcp.seq_raw" => i.seq.0.to_string(),
        "tcp.ack_raw" => i.ack.0.to_string(),
        "tcp.window_size_value" => i.window.to_string(),
        "tcp.options.mss_val" => o.mss.map(|m| m.to_string()).unwrap_or_default(),
        "tcp.options.wscale.shift" => o.wscale.map(|m| m.to_string()).unwrap_or_default(),
        "tcp.options.sack_perm" => if o.sack_perm { "present" } else { "" }.to_owned(),
        "tcp.options.timestamp.tsval" => o.timestamps.map(|t| t.0.to_string()).unwrap_or_default(),
        "tcp.options.timestamp.tsecr" => o.timestamps.map(|t| t.1.to_string()).unwrap_or_default(),
        "tcp.checksum" => format!("0x{:04x}", i.checksum),
        "tcp.checksum.status" => i.checksum_status.tshark_value().to_string(),
        "tcp.urgent_pointer" => i.urgent.to_string(),
        _ => return None,
    })
}

/// tshark's fields of a frame whose TCP header is too short: addresses and
/// the ports that fit; every other field empty.
fn ours_malformed(m: &MalformedTcp<'_>, frame: (u32, usize), field: &str) -> String {
    match field {
        "frame.len" => frame.0.to_string(),
        "frame.cap_len" => frame.1.to_string(),
        "ip.src" => v4(m.src),
        "ip.dst" => v4(m.dst),
        "ipv6.src" => v6(m.src),
        "ipv6.dst" => v6(m.dst),
        "tcp.srcport" => m.src_port().map(|p| p.to_string()).unwrap_or_default(),
        "tcp.dstport" => m.dst_port().map(|p| p.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

const FIELDS: &[&str] = &[
    "frame.len",
    "frame.cap_len",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.flags",
    "tcp.hdr_len",
    "tcp.len",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.window_size_value",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
    "tcp.checksum",
    "tcp.checksum.status",
    "tcp.urgent_pointer",
];

/// A fragment that completed nothing: tshark should not list it either.
fn continue_unless_listed(
    listed: bool,
    name: &str,
    number: u64,
    report: &mut String,
) -> Result<Decoded<'static>, tcpsim::wire::DecodeError> {
    if listed {
        writeln!(
            report,
            "{name} frame {number}: tshark lists TCP on a fragment that completes nothing"
        )
        .unwrap();
    }
    Ok(Decoded::NotTcp(NotTcp::Protocol {
        version: tcpsim::wire::IpVersion::V4,
        protocol: 0,
    }))
}

#[test]
fn every_reference_tcp_frame_decodes_with_tsharks_header_fields() {
    let dir = shared();
    let mut report = String::new();
    let mut frames = 0u64;
    let mut files = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir.join("public"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for cap in entries {
        let name = cap.file_name().unwrap().to_string_lossy().into_owned();
        let refp = dir.join("reference").join(format!("{name}.tsv"));
        let Ok(meta) = std::fs::metadata(&refp) else {
            continue;
        };
        if meta.len() == 0 {
            continue;
        }
        let reference = read_reference(&refp);
        if reference.rows.is_empty() {
            continue;
        }
        files += 1;
        let col: HashMap<&str, usize> = reference
            .header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.as_str(), i))
            .collect();
        let Ok(mut reader) = CaptureReader::open(&cap) else {
            writeln!(report, "{name}: reader refused the file").unwrap();
            continue;
        };
        let mut reassembler = Reassembler::new();
        while let Some(rec) = reader.next_record() {
            let Ok(rec) = rec else { break };
            let row = reference.rows.get(&rec.number);
            let decoded = decode_frame(rec.linktype, rec.data, rec.orig_len);
            // tshark reassembles IP fragments and shows TCP on the frame that
            // completes the datagram.
            let fragment = match &decoded {
                Ok(Decoded::Tcp(t)) => t.fragment,
                Ok(Decoded::NotTcp(NotTcp::Fragment(f))) => Some(*f),
                _ => None,
            };
            let datagram = fragment.and_then(|f| reassembler.push(&f));
            let decoded = match &datagram {
                Some(d) => d.decode_tcp(rec.orig_len, rec.data.len() as u32),
                None if fragment.is_some() => {
                    continue_unless_listed(row.is_some(), &name, rec.number, &mut report)
                }
                None => decoded,
            };
            let compare = |got: &dyn Fn(&str) -> String, report: &mut String| {
                let row = row.unwrap();
                for f in FIELDS {
                    let want = row[col[f]].split('|').next().unwrap_or("");
                    let want = if *f == "tcp.options.sack_perm" && !want.is_empty() {
                        "present"
                    } else {
                        want
                    };
                    let got = got(f);
                    if got != want {
                        writeln!(
                            report,
                            "{name} frame {}: {f} tshark {want:?} ours {got:?}",
                            rec.number
                        )
                        .unwrap();
                    }
                }
            };
            match (row, decoded) {
                (Some(_), Ok(Decoded::Tcp(t))) => {
                    frames += 1;
                    compare(&|f| ours(&t, f).unwrap(), &mut report);
                }
                (Some(_), Ok(Decoded::NotTcp(NotTcp::MalformedTcp(m)))) => {
                    frames += 1;
                    compare(
                        &|f| ours_malformed(&m, (rec.orig_len, rec.data.len()), f),
                        &mut report,
                    );
                }
                (Some(_), other) => {
                    writeln!(
                        report,
                        "{name} frame {}: tshark lists TCP, ours {other:?}",
                        rec.number
                    )
                    .unwrap();
                }
                (None, Ok(Decoded::Tcp(_))) => {
                    writeln!(
                        report,
                        "{name} frame {}: ours TCP, tshark does not list it",
                        rec.number
                    )
                    .unwrap();
                }
                _ => {}
            }
        }
    }
    assert!(files > 30, "only {files} reference files found");
    assert!(frames > 9000, "only {frames} frames compared");
    assert!(
        report.is_empty(),
        "{frames} frames in {files} files; differences:\n{report}"
    );
}

/// `field_map` runs on every frame of every readable capture (malformed ones
/// included) without panicking, keeps its spans inside the frame, and marks
/// the TCP ports exactly where `decode_frame` found them.
#[test]
fn field_map_agrees_with_decode_on_the_corpus() {
    let dir = shared();
    let mut checked = 0u64;
    let mut entries: Vec<_> = std::fs::read_dir(dir.join("public"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for cap in entries {
        let Ok(mut reader) = CaptureReader::open(&cap) else {
            continue;
        };
        while let Some(rec) = reader.next_record() {
            let Ok(rec) = rec else { break };
            let spans = tcpsim::wire::field_map(rec.linktype, rec.data);
            for s in &spans {
                assert!(s.range.end <= rec.data.len(), "{}: {s:?}", cap.display());
            }
            if let Ok(Decoded::Tcp(t)) = decode_frame(rec.linktype, rec.data, rec.orig_len) {
                let port = spans
                    .iter()
                    .find(|s| s.name == "tcp.srcport")
                    .unwrap_or_else(|| {
                        panic!("{} frame {}: no tcp.srcport", cap.display(), rec.number)
                    });
                assert_eq!(port.range, t.tcp_offset..t.tcp_offset + 2);
                assert_eq!(port.value_text, t.info.src_port.to_string());
                checked += 1;
            }
        }
    }
    assert!(checked > 9000, "only {checked} TCP frames checked");
}
