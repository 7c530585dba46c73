//! The two-thread input loop (`for_each_tcp_packet`: decoding on a thread
//! of its own, batches handed to the caller) gives exactly what the
//! single-thread loop (`decode_tcp_packets`) gives: the same packets in the
//! same order, the same counts, the same error after the same packets. On
//! every corpus capture (reads ../shared), the shipped captures, and a
//! synthetic capture of several batches, whole and cut inside a record.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use tcpsim::cli::tcp_input::{decode_tcp_packets, for_each_tcp_packet, TcpInputStats};
use tcpsim::pcap::{linktype, CaptureReader, PcapWriter, TsResolution};
use tcpsim::track::TcpInput;
use tcpsim::wire::emit::build_ethernet_frame;
use tcpsim::wire::{SeqNumber, TcpFlags, TcpRepr};

type Run = Result<(Vec<TcpInput>, String), String>;

fn summary(s: &TcpInputStats) -> String {
    format!(
        "frames {} tcp {} not_tcp {} malformed {} first {:?} error {:?}",
        s.frames,
        s.tcp,
        s.not_tcp,
        s.malformed,
        s.first_time_ns,
        s.error.as_ref().map(|e| e.to_string())
    )
}

fn threaded(path: &Path) -> Run {
    let mut v = Vec::new();
    let s = for_each_tcp_packet(path, |p| v.push(*p)).map_err(|e| e.to_string())?;
    Ok((v, summary(&s)))
}

fn single(path: &Path) -> Run {
    let reader = CaptureReader::open(path).map_err(|e| e.to_string())?;
    let mut v = Vec::new();
    let s = decode_tcp_packets(reader, |p| v.push(*p));
    Ok((v, summary(&s)))
}

fn assert_same(path: &Path) -> usize {
    let (a, b) = (threaded(path), single(path));
    match (&a, &b) {
        (Ok((pa, sa)), Ok((pb, sb))) => {
            assert_eq!(sa, sb, "{}: counts or error differ", path.display());
            assert_eq!(pa.len(), pb.len(), "{}: packet count", path.display());
            for (x, y) in pa.iter().zip(pb) {
                assert_eq!(x, y, "{}: packet differs", path.display());
            }
            pa.len()
        }
        (Err(ea), Err(eb)) => {
            assert_eq!(ea, eb, "{}: opening error differs", path.display());
            0
        }
        _ => panic!(
            "{}: one loop failed to open, the other did not: {a:?} / {b:?}",
            path.display()
        ),
    }
}

#[test]
fn same_packets_counts_and_errors_on_every_corpus_and_shipped_capture() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::shared_dir().join("captures/public"))
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .collect();
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures");
    files.extend(
        std::fs::read_dir(&shipped)
            .expect("captures/")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng")),
    );
    files.sort();
    assert!(files.len() >= 61 + 5, "{} files", files.len());
    let packets: usize = files.iter().map(|f| assert_same(f)).sum();
    assert!(packets > 9000, "{packets} TCP packets in all");
}

/// One connection's handshake and `n - 3` data segments, Ethernet/IPv4.
fn synthetic_capture(path: &Path, n: u32) {
    let mut w = PcapWriter::create_with(path, linktype::ETHERNET, TsResolution::Nano)
        .expect("create capture");
    let (c, s) = (
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
    );
    let mut frame = Vec::new();
    for i in 0..n {
        let (flags, seq, ack, from_client, len) = match i {
            0 => (TcpFlags::SYN, 100, 0, true, 0),
            1 => (TcpFlags::SYN | TcpFlags::ACK, 500, 101, false, 0),
            2 => (TcpFlags::ACK, 101, 501, true, 0),
            k => (TcpFlags::ACK, 101 + (k - 3) * 100, 501, true, 100),
        };
        let (src, dst, sp, dp) = if from_client {
            (c, s, 40000, 80)
        } else {
            (s, c, 80, 40000)
        };
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
        frame.clear();
        let wire = build_ethernet_frame(src, dst, &repr, &[7u8; 100][..len as usize], &mut frame)
            .expect("frame");
        w.write(1_000_000_000 + i as i64 * 1000, &frame, wire as u32)
            .expect("write");
    }
    w.finish().expect("flush");
}

#[test]
fn same_result_over_many_batches_whole_and_cut_inside_a_record() {
    let dir = std::env::temp_dir().join(format!("tcpsim-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let whole = dir.join("whole.pcap");
    synthetic_capture(&whole, 20_003);
    assert_eq!(assert_same(&whole), 20_003);

    // Cut in the middle of a record near the end: every packet before it
    // arrives, then the error.
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 70]).unwrap();
    let n = assert_same(&cut);
    assert_eq!(n, 20_002, "every packet before the cut record");
    let (_, s) = threaded(&cut).unwrap();
    assert!(s.contains("error Some("), "{s}");
    std::fs::remove_dir_all(&dir).unwrap();
}
