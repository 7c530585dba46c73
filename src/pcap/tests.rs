use super::*;

fn pcap_bytes(resolution: TsResolution, packets: &[(i64, &[u8], u32)]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), linktype::ETHERNET, resolution).unwrap();
    for (ts, frame, orig) in packets {
        w.write(*ts, frame, *orig).unwrap();
    }
    w.finish().unwrap()
}

/// (number, offset, time_ns, linktype, data, orig_len, interface)
type Rec = (u64, u64, i64, u32, Vec<u8>, u32, u32);

fn read_all(bytes: &[u8]) -> (Vec<Rec>, Option<CaptureError>) {
    records(CaptureReader::from_bytes(bytes, "mem"))
}

fn records<R: std::io::Read>(
    reader: Result<CaptureReader<R>, CaptureError>,
) -> (Vec<Rec>, Option<CaptureError>) {
    let mut out = Vec::new();
    let mut r = match reader {
        Ok(r) => r,
        Err(e) => return (out, Some(e)),
    };
    while let Some(rec) = r.next_record() {
        match rec {
            Ok(rec) => out.push((
                rec.number,
                rec.offset,
                rec.time_ns(),
                rec.linktype,
                rec.data.to_vec(),
                rec.orig_len,
                rec.interface,
            )),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

#[test]
fn writer_round_trip_nano_and_micro() {
    let a = [1u8, 2, 3, 4, 5];
    let b = [9u8; 70];
    let pkts: [(i64, &[u8], u32); 2] = [
        (1_700_000_000_123_456_789, &a, 60),
        (1_700_000_001_000_000_001, &b, 70),
    ];
    let (recs, err) = read_all(&pcap_bytes(TsResolution::Nano, &pkts));
    assert!(err.is_none());
    assert_eq!(recs.len(), 2);
    assert_eq!(
        recs[0],
        (1, 24, 1_700_000_000_123_456_789, 1, a.to_vec(), 60, 0)
    );
    assert_eq!(recs[1].1, 24 + 16 + 5);
    assert_eq!(recs[1].2, 1_700_000_001_000_000_001);
    let (recs, err) = read_all(&pcap_bytes(TsResolution::Micro, &pkts));
    assert!(err.is_none());
    assert_eq!(recs[0].2, 1_700_000_000_123_456_000);
    assert_eq!(recs[1].4, b.to_vec());
}

#[test]
fn reads_big_endian_pcap() {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2c3d4u32.to_be_bytes());
    f.extend_from_slice(&2u16.to_be_bytes());
    f.extend_from_slice(&4u16.to_be_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&65535u32.to_be_bytes());
    f.extend_from_slice(&101u32.to_be_bytes());
    for v in [10u32, 250_000, 3, 40] {
        f.extend_from_slice(&v.to_be_bytes());
    }
    f.extend_from_slice(&[0x45, 0, 0]);
    let (recs, err) = read_all(&f);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(
        recs,
        vec![(1, 24, 10_250_000_000, 101, vec![0x45, 0, 0], 40, 0)]
    );
}

#[test]
fn absurd_record_length_is_an_error_with_place() {
    let a = [7u8; 20];
    let mut f = pcap_bytes(TsResolution::Micro, &[(0, &a, 20), (0, &a, 20)]);
    let second = 24 + 16 + 20;
    f[second + 8..second + 12].copy_from_slice(&4_325_376u32.to_le_bytes());
    let (recs, err) = read_all(&f);
    assert_eq!(recs.len(), 1);
    let err = err.expect("error");
    assert_eq!((err.packet, err.offset), (2, second as u64));
    assert!(matches!(
        err.kind,
        CaptureErrorKind::RecordTooLarge { len: 4_325_376, .. }
    ));
    assert_eq!(
        err.to_string(),
        format!("mem: packet 2 at byte offset {second}: record length 4325376 is larger than the 262144-byte maximum")
    );
}

#[test]
fn truncation_at_every_offset_never_panics() {
    let a = [7u8; 30];
    let f = pcap_bytes(TsResolution::Nano, &[(5, &a, 30), (6, &a, 30), (7, &a, 30)]);
    for cut in 0..f.len() {
        let (recs, err) = read_all(&f[..cut]);
        let rec_len = 16 + 30;
        let complete = cut.saturating_sub(24) / rec_len;
        assert_eq!(recs.len(), if cut < 24 { 0 } else { complete }, "cut {cut}");
        let clean = cut >= 24 && (cut - 24) % rec_len == 0;
        assert_eq!(err.is_none(), clean, "cut {cut}: {err:?}");
        if let Some(e) = err {
            assert_eq!(e.packet, recs.len() as u64 + 1, "cut {cut}");
        }
    }
}

/// `open` reads a regular file through a memory map; `new` over the same
/// file reads it through the buffer. Both must give the same records, and
/// the same error at the same place, for whole and cut files, pcap and
/// pcapng.
#[test]
fn a_mapped_file_reads_as_the_buffered_file() {
    let a = [7u8; 300];
    let pcap = pcap_bytes(
        TsResolution::Micro,
        &[(5, &a, 300), (6, &a[..60], 60), (7, &a, 1500)],
    );
    let mut ng = shb();
    ng.extend(idb(1, Some(9)));
    ng.extend(epb(0, 1_000, &a[..100], 100));
    ng.extend(epb(0, 2_000, &a, 300));
    let dir = std::env::temp_dir().join(format!("tcpsim-mapped-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in [("pcap", &pcap), ("pcapng", &ng)] {
        for cut in [bytes.len(), bytes.len() - 1, bytes.len() / 2, 30, 1] {
            let path = dir.join(format!("{name}-{cut}"));
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let mapped = records(CaptureReader::open(&path));
            let file = std::fs::File::open(&path).unwrap();
            let buffered = records(CaptureReader::new(file, path.display().to_string()));
            assert_eq!(mapped.0, buffered.0, "{name} cut at {cut}");
            assert_eq!(
                mapped.1.map(|e| e.to_string()),
                buffered.1.map(|e| e.to_string()),
                "{name} cut at {cut}"
            );
            if cut == bytes.len() {
                assert_eq!(mapped.0.len(), if name == "pcap" { 3 } else { 2 });
            }
        }
    }
    // Past the size at which the map hands read pages back (8 MiB).
    let frame = [9u8; 1514];
    let many: Vec<(i64, &[u8], u32)> = (0..7_000).map(|i| (i, &frame[..], 1514)).collect();
    let big = pcap_bytes(TsResolution::Nano, &many);
    let path = dir.join("big");
    std::fs::write(&path, &big).unwrap();
    let mapped = records(CaptureReader::open(&path));
    let buffered = records(CaptureReader::new(
        std::fs::File::open(&path).unwrap(),
        "big",
    ));
    assert_eq!(mapped.0.len(), 7_000);
    assert!(mapped.0 == buffered.0 && mapped.1.is_none() && buffered.1.is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn ng_block(btype: u32, body: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    b.extend_from_slice(&btype.to_le_bytes());
    b.extend_from_slice(&total.to_le_bytes());
    b.extend_from_slice(body);
    b.resize(8 + padded, 0);
    b.extend_from_slice(&total.to_le_bytes());
    b
}

fn shb() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0x1A2B3C4Du32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(-1i64).to_le_bytes());
    ng_block(0x0A0D0D0A, &body)
}

fn idb(linktype: u16, tsresol: Option<u8>) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&linktype.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    if let Some(r) = tsresol {
        body.extend_from_slice(&9u16.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&[r, 0, 0, 0]);
        body.extend_from_slice(&[0, 0, 0, 0]);
    }
    ng_block(1, &body)
}

fn epb(iface: u32, ts: u64, data: &[u8], orig: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&iface.to_le_bytes());
    body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ts as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&orig.to_le_bytes());
    body.extend_from_slice(data);
    ng_block(6, &body)
}

#[test]
fn pcapng_interfaces_linktypes_and_resolutions() {
    let mut f = shb();
    f.extend(idb(1, None)); // microseconds
    f.extend(idb(101, Some(9))); // nanoseconds
    f.extend(idb(0, Some(0x80 | 10))); // 2^-10 s
    f.extend(epb(0, 1_500_000, &[1, 2, 3], 3));
    f.extend(epb(1, 2_000_000_007, &[4, 5, 6, 7, 8], 100));
    f.extend(ng_block(5, &[0; 12])); // interface statistics: skipped
    f.extend(epb(2, 1024 * 3 + 512, &[9], 1));
    let mut spb = 60u32.to_le_bytes().to_vec();
    spb.extend_from_slice(&[0xaa; 8]);
    f.extend(ng_block(3, &spb));
    let (recs, err) = read_all(&f);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(recs.len(), 4);
    assert_eq!(
        (recs[0].2, recs[0].3, recs[0].4.clone(), recs[0].6),
        (1_500_000_000, 1, vec![1, 2, 3], 0)
    );
    assert_eq!(
        (recs[1].2, recs[1].3, recs[1].5, recs[1].6),
        (2_000_000_007, 101, 100, 1)
    );
    assert_eq!((recs[2].2, recs[2].3, recs[2].6), (3_500_000_000, 0, 2));
    assert_eq!((recs[3].3, recs[3].4.len(), recs[3].5), (1, 8, 60));
    // Every truncation: no panic, packets before the cut survive, the error names the next packet.
    for cut in 0..f.len() {
        let (part, err) = read_all(&f[..cut]);
        assert!(part.len() <= recs.len());
        if let Some(e) = err {
            assert_eq!(e.packet, part.len() as u64 + 1);
        }
    }
}

#[test]
fn pcapng_unknown_interface_and_bad_length() {
    let mut f = shb();
    f.extend(idb(1, None));
    f.extend(epb(3, 0, &[1], 1));
    let (_, err) = read_all(&f);
    assert!(matches!(
        err.unwrap().kind,
        CaptureErrorKind::UnknownInterface {
            interface: 3,
            count: 1
        }
    ));
    let mut f = shb();
    let at = f.len();
    f.extend(idb(1, None));
    f[at + 4] = 13;
    let (_, err) = read_all(&f);
    let err = err.unwrap();
    assert_eq!(err.offset, at as u64);
    assert!(matches!(
        err.kind,
        CaptureErrorKind::BadBlockLength { len: 13, .. }
    ));
}

#[test]
fn not_a_capture_and_empty() {
    let (_, err) = read_all(b"hello world, this is not a capture file");
    assert!(matches!(
        err.unwrap().kind,
        CaptureErrorKind::NotACapture(_)
    ));
    let (_, err) = read_all(b"");
    assert!(matches!(err.unwrap().kind, CaptureErrorKind::Empty));
}

#[test]
fn a_missing_file_names_the_file_only() {
    let e = CaptureReader::open("/nonexistent/x.pcap")
        .err()
        .expect("error");
    assert!(matches!(e.kind, CaptureErrorKind::Open(_)));
    assert!(
        e.to_string()
            .starts_with("/nonexistent/x.pcap: cannot open: "),
        "{e}"
    );
}
