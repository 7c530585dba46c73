//! Locating ../shared (the public capture corpus and tshark's reference
//! tables; tests that need it fail loudly when it is missing), reading
//! reference tables, and writing a synthetic capture.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// `$TCPSIM_SHARED` if set, else `$CARGO_MANIFEST_DIR/../shared`.
#[allow(dead_code)] // not every test crate reads the corpus
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("TCPSIM_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    assert!(
        dir.join("captures/public").is_dir() && dir.join("captures/reference").is_dir(),
        "this test needs the capture corpus at {} (captures/public and captures/reference); \
         set TCPSIM_SHARED to its location",
        dir.display()
    );
    dir
}

/// tshark-diff.py's `norm`: numbers compared as numbers (1.500000 == 1.5),
/// '|'-joined values kept in order.
#[allow(dead_code)] // not every test crate compares tables
pub fn norm(v: &str) -> String {
    v.split('|')
        .map(|p| {
            let p = p.trim();
            match p.parse::<f64>() {
                Ok(x) if x.is_finite() => {
                    if x == x.trunc() && !p.to_ascii_lowercase().contains('e') {
                        format!("{x:.0}")
                    } else {
                        format!("{}", (x * 1e6).round() / 1e6)
                    }
                }
                _ => p.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// A reference cell as tcpsim is expected to print it: tcpsim's
/// `_ws.expert.message` holds the TCP layer's items it produces, tshark's
/// every layer's, so that field is compared on the same subset
/// (docs/analysis-agreement.md says what is left out).
#[allow(dead_code)]
pub fn reference_cell(field: &str, cell: &str) -> String {
    if field != "_ws.expert.message" {
        return cell.to_string();
    }
    cell.split('|')
        .filter(|m| tcpsim::track::expert::is_compared_tcp_expert(m))
        .collect::<Vec<_>>()
        .join("|")
}

#[allow(dead_code)]
pub type Table = (Vec<String>, BTreeMap<u64, Vec<String>>);

#[allow(dead_code)]
pub fn parse_tsv(text: &str) -> Table {
    let mut lines = text.lines();
    let head: Vec<String> = match lines.next() {
        Some(h) => h.split('\t').map(String::from).collect(),
        None => return (Vec::new(), BTreeMap::new()),
    };
    let key = head
        .iter()
        .position(|h| h == "frame.number")
        .expect("frame.number column");
    let mut rows = BTreeMap::new();
    for l in lines {
        let mut r: Vec<String> = l.split('\t').map(String::from).collect();
        r.resize(head.len(), String::new());
        let n: u64 = r[key].parse().expect("frame number");
        rows.insert(n, r);
    }
    (head, rows)
}

/// One TCP segment of Ethernet/IPv4 written at `time_ns`: `ends` is
/// ((source, port), (destination, port)); a 20-byte header, window 1000,
/// checksum filled in.
#[allow(dead_code)] // not every test crate writes captures
pub fn write_segment<W: std::io::Write>(
    w: &mut tcpsim::pcap::PcapWriter<W>,
    time_ns: i64,
    ends: ((std::net::IpAddr, u16), (std::net::IpAddr, u16)),
    flags: u16,
    seq: u32,
    ack: u32,
    payload: &[u8],
) {
    use tcpsim::wire::emit::build_ethernet_frame;
    use tcpsim::wire::{SeqNumber, TcpFlags, TcpRepr};
    let ((src, sp), (dst, dp)) = ends;
    let repr = TcpRepr {
        src_port: sp,
        dst_port: dp,
        seq: SeqNumber(seq),
        ack: SeqNumber(ack),
        header_len: 20,
        flags: TcpFlags(flags),
        window: 1000,
        checksum: 0,
        urgent: 0,
        options: Vec::new(),
        trailing: Vec::new(),
    };
    let mut frame = Vec::new();
    let wire = build_ethernet_frame(src, dst, &repr, payload, &mut frame).expect("frame");
    w.write(time_ns, &frame, wire as u32).expect("write");
}

/// One connection's handshake and `n - 3` data segments, Ethernet/IPv4.
#[allow(dead_code)] // not every test crate writes captures
pub fn synthetic_capture(path: &std::path::Path, n: u32) {
    use std::net::{IpAddr, Ipv4Addr};
    use tcpsim::pcap::{linktype, PcapWriter, TsResolution};
    use tcpsim::wire::TcpFlags;
    let mut w = PcapWriter::create_with(path, linktype::ETHERNET, TsResolution::Nano)
        .expect("create capture");
    let (c, s) = (
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
    );
    for i in 0..n {
        let (flags, seq, ack, from_client, len) = match i {
            0 => (TcpFlags::SYN, 100, 0, true, 0),
            1 => (TcpFlags::SYN | TcpFlags::ACK, 500, 101, false, 0),
            2 => (TcpFlags::ACK, 101, 501, true, 0),
            k => (TcpFlags::ACK, 101 + (k - 3) * 100, 501, true, 100),
        };
        let ends = if from_client {
            ((c, 40000), (s, 80))
        } else {
            ((s, 80), (c, 40000))
        };
        let t = 1_000_000_000 + i as i64 * 1000;
        write_segment(
            &mut w,
            t,
            ends,
            flags,
            seq,
            ack,
            &[7u8; 100][..len as usize],
        );
    }
    w.finish().expect("flush");
}

/// Runs tcpsim; a run still going after 60 s is killed and fails the test,
/// so a hang cannot stall the whole suite.
#[allow(dead_code)] // not every test crate runs the binary
pub fn tcpsim(args: &[&str]) -> std::process::Output {
    use std::io::Read;
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tcpsim");
    // Drain both pipes on threads so a large output cannot block the child.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        so.read_to_end(&mut v).map(|_| v)
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        se.read_to_end(&mut v).map(|_| v)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for tcpsim") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tcpsim {} did not finish within 60 s", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: out_t.join().unwrap().unwrap(),
        stderr: err_t.join().unwrap().unwrap(),
    }
}

/// [`tcpsim`], which must succeed (its stderr is the failure message).
#[allow(dead_code)] // not every test crate runs the binary
pub fn tcpsim_ok(args: &[&str]) -> std::process::Output {
    let out = tcpsim(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
