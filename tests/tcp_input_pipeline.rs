//! The two-thread input loop (`for_each_tcp_packet`: decoding on a thread
//! of its own, batches handed to the caller) gives exactly what the
//! single-thread loop (`decode_tcp_packets`) gives: the same packets in the
//! same order, the same counts, the same error after the same packets. On
//! every corpus capture (reads ../shared), the shipped captures, and a
//! synthetic capture of several batches, whole and cut inside a record.

mod common;

use std::path::{Path, PathBuf};
use tcpsim::cli::tcp_input::{decode_tcp_packets, for_each_tcp_packet, TcpInputStats};
use tcpsim::pcap::CaptureReader;
use tcpsim::track::TcpInput;

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

#[test]
fn same_result_over_many_batches_whole_and_cut_inside_a_record() {
    let dir = std::env::temp_dir().join(format!("tcpsim-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let whole = dir.join("whole.pcap");
    common::synthetic_capture(&whole, 20_003);
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
