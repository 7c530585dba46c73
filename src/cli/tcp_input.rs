//! Every TCP packet of a capture file, decoded for the analyzer: the input
//! loop `tcpsim timeline` and `tcpsim conns` share (and the corpus tests).

use crate::pcap::{CaptureError, CaptureReader};
use crate::track::TcpInput;
use crate::wire::checksum::{self, Verdict};
use crate::wire::decode::{decode_frame, Decoded, IpFragment, IpVersion, NotTcp, IPPROTO_TCP};
use crate::wire::tcp::TcpPacket;
use crate::wire::{ChecksumStatus, TcpPacketInfo};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

/// Most datagrams being reassembled at once, and most bytes in one
/// (RFC 791 §3.2 / RFC 8200 §4.5: a datagram is at most 65535 bytes of
/// payload, plus the IPv6 jumbo case we do not reassemble).
const MAX_PENDING_DATAGRAMS: usize = 256;
const MAX_DATAGRAM: usize = 65_535;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct FragKey {
    version: u8,
    src: IpAddr,
    dst: IpAddr,
    ident: u32,
}

#[derive(Default)]
struct Datagram {
    /// (offset, bytes) in arrival order.
    parts: Vec<(u32, Vec<u8>)>,
    /// Total length, known once the last fragment (MF clear) arrives.
    total: Option<u32>,
    held: usize,
}

/// IP reassembly of TCP datagrams, as tshark does by default: the TCP
/// segment is analyzed at the frame that completes it.
#[derive(Default)]
struct Reassembler {
    pending: HashMap<FragKey, Datagram>,
}

impl Reassembler {
    /// Adds a fragment; returns the whole TCP segment when it is complete.
    fn add(&mut self, f: &IpFragment<'_>) -> Option<(IpAddr, IpAddr, Vec<u8>)> {
        if f.protocol != IPPROTO_TCP {
            return None;
        }
        let key = FragKey {
            version: if f.version == IpVersion::V4 { 4 } else { 6 },
            src: f.src,
            dst: f.dst,
            ident: f.ident,
        };
        if !self.pending.contains_key(&key) && self.pending.len() >= MAX_PENDING_DATAGRAMS {
            // Forget the oldest-looking entry rather than grow without bound.
            if let Some(k) = self.pending.keys().next().copied() {
                self.pending.remove(&k);
            }
        }
        let d = self.pending.entry(key).or_default();
        let end = f.offset as usize + f.data.len();
        if end > MAX_DATAGRAM || d.held + f.data.len() > MAX_DATAGRAM {
            self.pending.remove(&key);
            return None;
        }
        if (f.data.len() as u32) < f.stated_len {
            // The capture cut this fragment: the datagram cannot be rebuilt.
            self.pending.remove(&key);
            return None;
        }
        d.held += f.data.len();
        d.parts.push((f.offset, f.data.to_vec()));
        if !f.more {
            d.total = Some(f.offset + f.data.len() as u32);
        }
        let total = d.total? as usize;
        let mut covered = vec![false; total];
        for (off, bytes) in &d.parts {
            let o = *off as usize;
            for c in covered.iter_mut().skip(o).take(bytes.len()) {
                *c = true;
            }
        }
        if !covered.iter().all(|c| *c) {
            return None;
        }
        let d = self.pending.remove(&key)?;
        let mut buf = vec![0u8; total];
        for (off, bytes) in &d.parts {
            let o = *off as usize;
            let n = bytes.len().min(total.saturating_sub(o));
            buf[o..o + n].copy_from_slice(&bytes[..n]);
        }
        Some((f.src, f.dst, buf))
    }
}

/// A TCP packet from a reassembled segment.
fn info_from_segment(src: IpAddr, dst: IpAddr, seg: &[u8], frame_len: u32, cap_len: u32) -> Option<TcpPacketInfo> {
    let tcp = TcpPacket::new_checked(seg).ok()?;
    let hl = u32::from(tcp.header_len());
    let stated = seg.len() as u32;
    let pseudo = checksum::pseudo_header(src, dst, IPPROTO_TCP, stated);
    let checksum_status = match checksum::verify(pseudo, seg, tcp.checksum()) {
        Verdict::Good => ChecksumStatus::Good,
        Verdict::Bad => ChecksumStatus::Bad,
        Verdict::Partial => ChecksumStatus::Partial,
    };
    Some(TcpPacketInfo {
        number: 0,
        time_ns: 0,
        frame_len,
        cap_len,
        src,
        dst,
        src_port: tcp.src_port(),
        dst_port: tcp.dst_port(),
        seq: tcp.seq_number(),
        ack: tcp.ack_number(),
        flags: tcp.flags(),
        window: tcp.window_len(),
        header_len: tcp.header_len(),
        payload_len: stated.saturating_sub(hl),
        checksum: tcp.checksum(),
        checksum_status,
        urgent: tcp.urgent_at(),
        options: tcp.options_summary(),
    })
}

/// What the input loop saw.
#[derive(Debug, Default)]
pub struct TcpInputStats {
    /// Records read from the file.
    pub frames: u64,
    /// TCP packets handed to the callback.
    pub tcp: u64,
    /// Frames that are not TCP (other protocols, non-first IP fragments).
    pub not_tcp: u64,
    /// Frames whose headers could not be decoded down to TCP.
    pub malformed: u64,
    /// Time of the file's first record, nanoseconds since the epoch.
    pub first_time_ns: Option<i64>,
    /// The reading error that ended the loop early, if any. Everything read
    /// before it was handed to the callback.
    pub error: Option<CaptureError>,
}

/// Calls `f` with every TCP packet of the capture at `path`, in file order.
/// Opening errors are returned; a reading error later in the file ends the
/// loop and is kept in [`TcpInputStats::error`].
pub fn for_each_tcp_packet(
    path: &Path,
    mut f: impl FnMut(&TcpInput),
) -> Result<TcpInputStats, CaptureError> {
    let mut reader = CaptureReader::open(path)?;
    let mut stats = TcpInputStats::default();
    let mut frags = Reassembler::default();
    while let Some(rec) = reader.next_record() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                stats.error = Some(e);
                break;
            }
        };
        stats.frames += 1;
        let t = rec.time_ns();
        if stats.first_time_ns.is_none() {
            stats.first_time_ns = Some(t);
        }
        let (frame_len, cap_len) = (rec.orig_len, rec.data.len().min(u32::MAX as usize) as u32);
        let mut whole = None;
        match decode_frame(rec.linktype, rec.data, rec.orig_len) {
            Ok(Decoded::Tcp(frame)) => match frame.fragment {
                // The first fragment of a datagram: its segment is whole
                // only once the other fragments arrive.
                Some(frag) => whole = frags.add(&frag),
                None => {
                    let mut info = frame.info;
                    info.number = rec.number;
                    info.time_ns = t;
                    stats.tcp += 1;
                    let short_segment = frame.segment_len < u32::from(info.header_len);
                    f(&TcpInput { info, short_segment });
                }
            },
            Ok(Decoded::NotTcp(NotTcp::Fragment(frag))) => whole = frags.add(&frag),
            Ok(Decoded::NotTcp(_)) => stats.not_tcp += 1,
            Err(_) => stats.malformed += 1,
        }
        if let Some((src, dst, seg)) = whole {
            match info_from_segment(src, dst, &seg, frame_len, cap_len) {
                Some(mut info) => {
                    info.number = rec.number;
                    info.time_ns = t;
                    stats.tcp += 1;
                    f(&TcpInput { info, short_segment: false });
                }
                None => stats.malformed += 1,
            }
        }
    }
    Ok(stats)
}
