//! The endpoint's segment type: header fields, a fixed-size option summary and
//! a payload that is either real bytes or generated content described by its
//! stream offset and length (so bulk simulations move no payload bytes).

use crate::wire::{SeqNumber, TcpFlags, TcpOption, TcpOptionsSummary, TcpRepr};

/// Byte `offset` of a generated stream. Not periodic at packet scale, so a
/// byte delivered at the wrong offset is caught by comparison.
pub fn pattern_byte(offset: u64) -> u8 {
    let x = offset.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((x >> 56) as u8) ^ (offset as u8)
}

/// Fill `buf` with the generated stream starting at `offset`.
pub fn fill_pattern(offset: u64, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern_byte(offset + i as u64);
    }
}

/// A segment's payload.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Payload {
    #[default]
    Empty,
    /// Real bytes.
    Bytes(Vec<u8>),
    /// `len` bytes of the generated stream (see [`pattern_byte`]) starting at
    /// stream offset `offset`.
    Pattern { offset: u64, len: u32 },
}

impl Payload {
    pub fn len(&self) -> usize {
        match self {
            Payload::Empty => 0,
            Payload::Bytes(b) => b.len(),
            Payload::Pattern { len, .. } => *len as usize,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The payload as bytes (generated content is materialised).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Payload::Empty => Vec::new(),
            Payload::Bytes(b) => b.clone(),
            Payload::Pattern { offset, len } => {
                let mut v = vec![0; *len as usize];
                fill_pattern(*offset, &mut v);
                v
            }
        }
    }
    /// Drop `n` bytes from the front.
    pub fn trim_front(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        match self {
            Payload::Empty => {}
            Payload::Bytes(b) => {
                b.drain(..n.min(b.len()));
            }
            Payload::Pattern { offset, len } => {
                let n = (n as u32).min(*len);
                *offset += n as u64;
                *len -= n;
            }
        }
        if self.is_empty() {
            *self = Payload::Empty;
        }
    }
    /// Keep at most `n` bytes.
    pub fn truncate(&mut self, n: usize) {
        match self {
            Payload::Empty => {}
            Payload::Bytes(b) => b.truncate(n),
            Payload::Pattern { len, .. } => *len = (*len).min(n as u32),
        }
        if self.is_empty() {
            *self = Payload::Empty;
        }
    }
}

/// One TCP segment as the endpoint sends or receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    pub flags: TcpFlags,
    /// The window field as on the wire (before scaling).
    pub window: u16,
    pub options: TcpOptionsSummary,
    pub payload: Payload,
}

impl Segment {
    /// An empty segment with the given ports, numbers and flags.
    pub fn new(
        src_port: u16,
        dst_port: u16,
        seq: SeqNumber,
        ack: SeqNumber,
        flags: u16,
    ) -> Segment {
        Segment {
            src_port,
            dst_port,
            seq,
            ack,
            flags: TcpFlags(flags),
            window: 0,
            options: TcpOptionsSummary::default(),
            payload: Payload::Empty,
        }
    }
    pub fn syn(&self) -> bool {
        self.flags.syn()
    }
    pub fn fin(&self) -> bool {
        self.flags.fin()
    }
    pub fn rst(&self) -> bool {
        self.flags.rst()
    }
    pub fn has_ack(&self) -> bool {
        self.flags.ack()
    }
    /// SEG.LEN (RFC 9293 §3.4): payload plus one for SYN and one for FIN.
    pub fn seg_len(&self) -> usize {
        self.payload.len() + self.syn() as usize + self.fin() as usize
    }
    /// Sack blocks carried.
    pub fn sack_blocks(&self) -> &[(SeqNumber, SeqNumber)] {
        let n = (self.options.sack_count as usize).min(self.options.sack.len());
        &self.options.sack[..n]
    }

    /// The option list in the order Linux sends it, padded to 4 bytes.
    pub fn option_list(&self) -> Vec<TcpOption> {
        let o = &self.options;
        let mut v = Vec::new();
        if let Some(mss) = o.mss {
            v.push(TcpOption::Mss(mss));
        }
        if o.sack_perm {
            if o.timestamps.is_some() {
                v.push(TcpOption::SackPermitted);
            } else {
                v.push(TcpOption::NoOperation);
                v.push(TcpOption::NoOperation);
                v.push(TcpOption::SackPermitted);
            }
        }
        if let Some((tsval, tsecr)) = o.timestamps {
            if !o.sack_perm {
                v.push(TcpOption::NoOperation);
                v.push(TcpOption::NoOperation);
            }
            v.push(TcpOption::Timestamps { tsval, tsecr });
        }
        if let Some(ws) = o.wscale {
            v.push(TcpOption::NoOperation);
            v.push(TcpOption::WindowScale(ws));
        }
        let blocks = self.sack_blocks();
        if !blocks.is_empty() {
            v.push(TcpOption::NoOperation);
            v.push(TcpOption::NoOperation);
            v.push(TcpOption::Sack(blocks.to_vec()));
        }
        v
    }

    /// Length of the option list in bytes (a multiple of 4 for lists built by
    /// [`Segment::option_list`]).
    pub fn options_len(&self) -> usize {
        self.option_list().iter().map(option_len).sum()
    }

    /// The header as a `wire::TcpRepr` (checksum left 0: the frame builder
    /// computes it).
    pub fn to_repr(&self) -> TcpRepr {
        let options = self.option_list();
        let opt_len: usize = options.iter().map(option_len).sum();
        TcpRepr {
            src_port: self.src_port,
            dst_port: self.dst_port,
            seq: self.seq,
            ack: self.ack,
            header_len: (20 + opt_len) as u8,
            flags: self.flags,
            window: self.window,
            checksum: 0,
            urgent: 0,
            options,
            trailing: Vec::new(),
        }
    }

    /// A segment from a parsed header and its payload bytes.
    pub fn from_repr(repr: &TcpRepr, payload: &[u8]) -> Segment {
        let mut options = TcpOptionsSummary::default();
        for o in &repr.options {
            match o {
                TcpOption::Mss(m) => options.mss = Some(*m),
                TcpOption::WindowScale(s) => options.wscale = Some(*s),
                TcpOption::SackPermitted => options.sack_perm = true,
                TcpOption::Sack(blocks) => {
                    let n = blocks.len().min(options.sack.len());
                    options.sack[..n].copy_from_slice(&blocks[..n]);
                    options.sack_count = n as u8;
                }
                TcpOption::Timestamps { tsval, tsecr } => {
                    options.timestamps = Some((*tsval, *tsecr))
                }
                _ => {}
            }
        }
        Segment {
            src_port: repr.src_port,
            dst_port: repr.dst_port,
            seq: repr.seq,
            ack: repr.ack,
            flags: repr.flags,
            window: repr.window,
            options,
            payload: if payload.is_empty() {
                Payload::Empty
            } else {
                Payload::Bytes(payload.to_vec())
            },
        }
    }
}

/// Encoded size of one option.
pub fn option_len(o: &TcpOption) -> usize {
    match o {
        TcpOption::EndOfList | TcpOption::NoOperation => 1,
        TcpOption::Mss(_) => 4,
        TcpOption::WindowScale(_) => 3,
        TcpOption::SackPermitted => 2,
        TcpOption::Sack(b) => 2 + 8 * b.len(),
        TcpOption::Timestamps { .. } => 10,
        TcpOption::FastOpen(c) => 2 + c.len(),
        TcpOption::Mptcp(d) => 2 + d.len(),
        TcpOption::Unknown { data, .. } => 2 + data.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_trims() {
        let mut p = Payload::Pattern { offset: 10, len: 5 };
        p.trim_front(2);
        assert_eq!(p, Payload::Pattern { offset: 12, len: 3 });
        p.truncate(1);
        assert_eq!(p.to_bytes(), vec![pattern_byte(12)]);
        p.trim_front(4);
        assert_eq!(p, Payload::Empty);
        let mut b = Payload::Bytes(vec![1, 2, 3]);
        b.trim_front(1);
        b.truncate(1);
        assert_eq!(b, Payload::Bytes(vec![2]));
    }

    #[test]
    fn pattern_is_not_periodic_at_small_scale() {
        let a: Vec<u8> = (0..256).map(pattern_byte).collect();
        let b: Vec<u8> = (256..512).map(pattern_byte).collect();
        assert_ne!(a, b);
    }

    #[test]
    fn options_are_word_aligned() {
        let mut s = Segment::new(1, 2, SeqNumber(0), SeqNumber(0), TcpFlags::SYN);
        s.options.mss = Some(1460);
        s.options.wscale = Some(7);
        s.options.sack_perm = true;
        s.options.timestamps = Some((1, 0));
        assert_eq!(s.options_len(), 20);
        let mut d = Segment::new(1, 2, SeqNumber(0), SeqNumber(0), TcpFlags::ACK);
        d.options.timestamps = Some((1, 2));
        d.options.sack_count = 3;
        assert_eq!(d.options_len(), 12 + 28);
        let r = d.to_repr();
        assert_eq!(r.header_len, 60);
        assert_eq!(Segment::from_repr(&r, &[]), d);
    }
}
