//! `tcpsim conns` end to end: where the "rel start" column counts from, and
//! what an unreadable file prints.

mod common;

use common::tcpsim;
use std::net::{IpAddr, Ipv4Addr};
use tcpsim::pcap::{linktype, PcapWriter, TsResolution};
use tcpsim::wire::TcpFlags;

const SEC: i64 = 1_000_000_000;

/// A whole connection from client port `port`, its first packet at `t0`.
fn connection<W: std::io::Write>(w: &mut PcapWriter<W>, port: u16, t0: i64) {
    let c = (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), port);
    let s = (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 80);
    const S: u16 = TcpFlags::SYN;
    const A: u16 = TcpFlags::ACK;
    const F: u16 = TcpFlags::FIN;
    // (from client, flags, seq, ack)
    let script = [
        (true, S, 100, 0),
        (false, S | A, 500, 101),
        (true, A, 101, 501),
        (true, F | A, 101, 501),
        (false, A, 501, 102),
        (false, F | A, 501, 102),
        (true, A, 102, 502),
    ];
    for (i, &(from_client, flags, seq, ack)) in script.iter().enumerate() {
        let ends = if from_client { (c, s) } else { (s, c) };
        common::write_segment(w, t0 + i as i64 * 1_000_000, ends, flags, seq, ack, &[]);
    }
}

/// The "rel start" cell of each data row: the tenth (every cell before it
/// is one word).
fn rel_starts(stdout: &[u8]) -> Vec<String> {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    assert!(header.contains("rel start"), "{header}");
    lines
        .map(|l| l.split_whitespace().nth(9).expect("ten cells").to_string())
        .collect()
}

/// tshark's "Rel Start" counts from the capture's first frame, whatever
/// its protocol. A connection retired while the file is still being read
/// (closed, then a minute of capture time without it) must count from the
/// same point as those still open at the end.
#[test]
fn rel_start_counts_from_the_first_record_of_any_protocol() {
    let dir = std::env::temp_dir().join(format!("tcpsim-conns-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cap = dir.join("arp-then-tcp.pcap");
    let mut w = PcapWriter::create_with(&cap, linktype::ETHERNET, TsResolution::Nano).unwrap();
    // An ARP request first, at t = 0.
    let mut arp = vec![0xff; 6];
    arp.extend([2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    arp.extend([0u8; 28]);
    w.write(5 * SEC, &arp, arp.len() as u32).unwrap();
    // 1,200 connections a second apart: each is closed and retired a
    // minute later, hundreds of them while the file is still being read
    // (rows go out a few hundred at a time, the rest at the end).
    for i in 0..1_200u16 {
        connection(&mut w, 40000 + i, (15 + i64::from(i)) * SEC);
    }
    w.finish().unwrap();

    let out = tcpsim(&["conns", cap.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let want: Vec<String> = (0..1_200).map(|i| format!("{}.000000", 10 + i)).collect();
    assert_eq!(rel_starts(&out.stdout), want);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A file that is not a capture: one error line naming it, status 1, and
/// nothing on standard output (not even the table's header).
#[test]
fn an_unreadable_file_prints_only_the_error() {
    for args in [
        vec!["conns", "Cargo.toml"],
        vec!["conns", "--json", "Cargo.toml"],
        vec!["conns", "/nonexistent/x.pcap"],
    ] {
        let out = tcpsim(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            out.stdout.is_empty(),
            "{args:?}: {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(args.last().unwrap()), "{args:?}: {err}");
    }
}
