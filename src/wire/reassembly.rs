//! IP fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5), bounded: at most
//! [`MAX_DATAGRAMS`] datagrams pending (the oldest is dropped), each at most
//! 65535 bytes, buffers grown only by fragment bytes actually captured.
//!
//! tshark reassembles by default and shows the TCP header on the frame that
//! completes the datagram; feeding every [`IpFragment`] (first fragments
//! included) to [`Reassembler::push`] reproduces that.
//!
//! ```
//! use tcpsim::wire::{decode_frame, Decoded, NotTcp, reassembly::Reassembler};
//! let mut r = Reassembler::new();
//! # let (linktype, data, orig_len): (u32, &[u8], u32) = (1, &[], 0);
//! match decode_frame(linktype, data, orig_len) {
//!     Ok(Decoded::Tcp(t)) if t.fragment.is_some() => {
//!         let _ = r.push(&t.fragment.unwrap());
//!     }
//!     Ok(Decoded::NotTcp(NotTcp::Fragment(f))) => {
//!         if let Some(datagram) = r.push(&f) {
//!             if let Ok(Decoded::Tcp(t)) = datagram.decode_tcp(orig_len, data.len() as u32) {
//!                 println!("reassembled: {} bytes of payload", t.info.payload_len);
//!             }
//!         }
//!     }
//!     _ => {}
//! }
//! ```

use super::decode::{self, Decoded, IpFragment, IpVersion};
use super::error::DecodeError;
use std::net::IpAddr;

/// Most datagrams kept waiting for their fragments.
pub const MAX_DATAGRAMS: usize = 64;
/// Largest reassembled datagram payload (IPv4 total length is 16 bits;
/// IPv6 fragments carry a 16-bit payload length and a 13-bit offset).
pub const MAX_DATAGRAM_LEN: usize = 65535;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    version: IpVersion,
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    ident: u32,
}

struct Pending {
    key: Key,
    data: Vec<u8>,
    /// Received byte ranges, sorted and merged.
    have: Vec<(usize, usize)>,
    /// Datagram length, known once the last fragment (MF clear) arrived.
    total: Option<usize>,
    age: u64,
}

/// A completed datagram's upper-layer bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    pub version: IpVersion,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub ident: u32,
    /// The reassembled upper-layer bytes (the TCP segment, for TCP).
    pub data: Vec<u8>,
}

impl Datagram {
    /// Decodes the reassembled bytes as a TCP segment, checksum verified
    /// over all of them. `frame_len`/`cap_len` are those of the completing
    /// frame; header offsets in the result count from the segment start.
    pub fn decode_tcp(&self, frame_len: u32, cap_len: u32) -> Result<Decoded<'_>, DecodeError> {
        decode::decode_segment(
            self.version,
            self.src,
            self.dst,
            self.protocol,
            &self.data,
            frame_len,
            cap_len,
        )
    }
}

/// Collects fragments until a datagram is complete.
#[derive(Default)]
pub struct Reassembler {
    pending: Vec<Pending>,
    clock: u64,
    dropped: u64,
}

impl Reassembler {
    pub fn new() -> Reassembler {
        Reassembler::default()
    }

    /// Datagrams dropped so far: evicted, oversized, or with fragments that
    /// were not wholly captured.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Adds one fragment; returns the datagram it completes, if any.
    /// Overlapping fragments: later bytes overwrite earlier ones.
    pub fn push(&mut self, f: &IpFragment<'_>) -> Option<Datagram> {
        self.clock += 1;
        let key = Key {
            version: f.version,
            src: f.src,
            dst: f.dst,
            protocol: f.protocol,
            ident: f.ident,
        };
        let idx = match self.pending.iter().position(|p| p.key == key) {
            Some(i) => i,
            None => {
                if self.pending.len() >= MAX_DATAGRAMS {
                    let oldest = (0..self.pending.len())
                        .min_by_key(|&i| self.pending[i].age)
                        .unwrap_or(0);
                    self.pending.swap_remove(oldest);
                    self.dropped += 1;
                }
                self.pending.push(Pending {
                    key,
                    data: Vec::new(),
                    have: Vec::new(),
                    total: None,
                    age: self.clock,
                });
                self.pending.len() - 1
            }
        };
        let start = f.offset as usize;
        let end = start + f.data.len();
        let complete_capture = f.data.len() as u64 == u64::from(f.stated_len);
        if !complete_capture || end > MAX_DATAGRAM_LEN {
            self.pending.swap_remove(idx);
            self.dropped += 1;
            return None;
        }
        let p = &mut self.pending[idx];
        p.age = self.clock;
        if p.data.len() < end {
            p.data.resize(end, 0);
        }
        p.data[start..end].copy_from_slice(f.data);
        insert_range(&mut p.have, (start, end));
        if !f.more {
            p.total = Some(end);
        }
        let done = matches!((p.total, p.have.as_slice()), (Some(t), [(0, e)]) if *e >= t);
        if !done {
            return None;
        }
        let p = self.pending.swap_remove(idx);
        let mut data = p.data;
        data.truncate(p.total.unwrap_or(data.len()));
        Some(Datagram {
            version: key.version,
            src: key.src,
            dst: key.dst,
            protocol: key.protocol,
            ident: key.ident,
            data,
        })
    }
}

/// Inserts a range into a sorted, merged list of ranges.
fn insert_range(v: &mut Vec<(usize, usize)>, (mut s, mut e): (usize, usize)) {
    if s >= e {
        return;
    }
    let mut out = Vec::with_capacity(v.len() + 1);
    let mut placed = false;
    for &(a, b) in v.iter() {
        if b < s {
            out.push((a, b));
        } else if e < a {
            if !placed {
                out.push((s, e));
                placed = true;
            }
            out.push((a, b));
        } else {
            s = s.min(a);
            e = e.max(b);
        }
    }
    if !placed {
        out.push((s, e));
    }
    *v = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::emit::build_ip_packet;
    use crate::wire::{decode_frame, ChecksumStatus, NotTcp, SeqNumber, TcpFlags, TcpRepr};

    /// Splits an IPv4 TCP packet into fragments of `chunk` data bytes.
    fn fragments(chunk: usize) -> (Vec<Vec<u8>>, usize) {
        let repr = TcpRepr::new(
            1,
            2,
            SeqNumber(10),
            SeqNumber(20),
            TcpFlags(TcpFlags::ACK),
            100,
            vec![],
        );
        let mut ip = Vec::new();
        let payload: Vec<u8> = (0..100u8).collect();
        build_ip_packet(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            &repr,
            &payload,
            &mut ip,
        )
        .unwrap();
        let seg = ip[20..].to_vec();
        let mut out = Vec::new();
        for (i, c) in seg.chunks(chunk).enumerate() {
            let mut h = ip[..20].to_vec();
            h[2..4].copy_from_slice(&((20 + c.len()) as u16).to_be_bytes());
            let off = (i * chunk / 8) as u16;
            let more = (i + 1) * chunk < seg.len();
            h[6..8].copy_from_slice(&(off | if more { 0x2000 } else { 0 }).to_be_bytes());
            h.extend_from_slice(c);
            out.push(h);
        }
        (out, seg.len())
    }

    fn feed(r: &mut Reassembler, frame: &[u8]) -> Option<Datagram> {
        match decode_frame(228, frame, frame.len() as u32).unwrap() {
            Decoded::Tcp(t) => r.push(&t.fragment.expect("first fragment")),
            Decoded::NotTcp(NotTcp::Fragment(f)) => r.push(&f),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn in_order_and_reversed() {
        let (frags, seg_len) = fragments(48);
        assert_eq!(frags.len(), 3);
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let mut r = Reassembler::new();
            let mut done = None;
            for (k, &i) in order.iter().enumerate() {
                let d = feed(&mut r, &frags[i]);
                assert_eq!(d.is_some(), k == 2, "order {order:?}");
                done = done.or(d);
            }
            let d = done.unwrap();
            assert_eq!(d.data.len(), seg_len);
            let Decoded::Tcp(t) = d.decode_tcp(1, 1).unwrap() else {
                panic!()
            };
            assert_eq!(t.info.payload_len, 100);
            assert_eq!(t.info.checksum_status, ChecksumStatus::Good);
            assert_eq!(t.info.ack, SeqNumber(20));
            assert_eq!(t.payload.len(), 100);
        }
    }

    #[test]
    fn cut_fragment_is_dropped() {
        let (frags, _) = fragments(48);
        let mut r = Reassembler::new();
        feed(&mut r, &frags[0]);
        let cut = &frags[1][..40];
        match decode_frame(228, cut, frags[1].len() as u32).unwrap() {
            Decoded::NotTcp(NotTcp::Fragment(f)) => assert!(r.push(&f).is_none()),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.dropped(), 1);
        assert!(feed(&mut r, &frags[2]).is_none());
    }

    #[test]
    fn pending_is_bounded() {
        let (frags, _) = fragments(48);
        let mut r = Reassembler::new();
        for id in 0..(MAX_DATAGRAMS as u16 + 10) {
            let mut f = frags[0].clone();
            f[4..6].copy_from_slice(&id.to_be_bytes());
            feed(&mut r, &f);
        }
        assert_eq!(r.pending.len(), MAX_DATAGRAMS);
        assert_eq!(r.dropped(), 10);
    }

    #[test]
    fn ranges_merge() {
        let mut v = Vec::new();
        insert_range(&mut v, (10, 20));
        insert_range(&mut v, (30, 40));
        insert_range(&mut v, (0, 5));
        assert_eq!(v, vec![(0, 5), (10, 20), (30, 40)]);
        insert_range(&mut v, (5, 10));
        assert_eq!(v, vec![(0, 20), (30, 40)]);
        insert_range(&mut v, (15, 35));
        assert_eq!(v, vec![(0, 40)]);
    }
}
