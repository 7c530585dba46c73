//! IPv4 header view (RFC 791 §3.1), options included, fragments flagged.

use super::error::{need, DecodeError, Layer};
use std::net::Ipv4Addr;

/// Fixed IPv4 header length.
pub const IPV4_HEADER_LEN: usize = 20;

/// Field byte ranges of the fixed header, for field maps.
pub const FIELD_RANGES: [(&str, core::ops::Range<usize>); 11] = [
    ("version+hdr_len", 0..1),
    ("dsfield", 1..2),
    ("len", 2..4),
    ("id", 4..6),
    ("flags+frag_offset", 6..8),
    ("ttl", 8..9),
    ("proto", 9..10),
    ("checksum", 10..12),
    ("src", 12..16),
    ("dst", 16..20),
    ("options", 20..20),
];

/// A zero-copy IPv4 header view. After [`Ipv4Packet::new_checked`] the whole
/// header (with options) is present, the version is 4 and the header length
/// is at least 20, so accessors cannot panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    pub fn new_unchecked(buffer: T) -> Ipv4Packet<T> {
        Ipv4Packet { buffer }
    }

    /// Checks version, IHL and that the header with its options fits.
    /// The total length is not checked against the buffer: a capture may be
    /// cut short (snaplen) or padded (Ethernet minimum frame).
    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(b, IPV4_HEADER_LEN, Layer::Ipv4)?;
        let version = b[0] >> 4;
        if version != 4 {
            return Err(invalid(0, "version", version.into()));
        }
        let ihl = usize::from(b[0] & 0x0f) * 4;
        if ihl < IPV4_HEADER_LEN {
            return Err(invalid(0, "header length", ihl as u32));
        }
        need(b, ihl, Layer::Ipv4)?;
        Ok(Ipv4Packet { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u16_at(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.b()[i], self.b()[i + 1]])
    }

    /// Header length in bytes, 20..=60.
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[0] & 0x0f) * 4
    }
    pub fn dscp_ecn(&self) -> u8 {
        self.b()[1]
    }
    /// Total length of the datagram as the header states it.
    pub fn total_len(&self) -> u16 {
        self.u16_at(2)
    }
    pub fn ident(&self) -> u16 {
        self.u16_at(4)
    }
    pub fn dont_frag(&self) -> bool {
        self.b()[6] & 0x40 != 0
    }
    pub fn more_frags(&self) -> bool {
        self.b()[6] & 0x20 != 0
    }
    /// Fragment offset in bytes (the field counts 8-byte units).
    pub fn frag_offset(&self) -> u32 {
        u32::from(self.u16_at(6) & 0x1fff) * 8
    }
    /// True if this datagram is a fragment (MF set or offset non-zero).
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }
    pub fn ttl(&self) -> u8 {
        self.b()[8]
    }
    pub fn protocol(&self) -> u8 {
        self.b()[9]
    }
    pub fn checksum(&self) -> u16 {
        self.u16_at(10)
    }
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = self.b();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = self.b();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }
    pub fn options(&self) -> &[u8] {
        &self.b()[IPV4_HEADER_LEN..self.header_len()]
    }
    /// True if the header checksum is right (RFC 791 §3.1).
    pub fn verify_checksum(&self) -> bool {
        super::checksum::fold(super::checksum::sum(&self.b()[..self.header_len()])) == 0xffff
    }
    /// The captured bytes after the header, up to the stated total length
    /// (link padding dropped). May be shorter than the stated payload.
    pub fn payload(&self) -> &[u8] {
        let b = self.b();
        let hl = self.header_len();
        let end = usize::from(self.total_len()).clamp(hl, b.len());
        &b[hl..end]
    }
}

fn invalid(offset: usize, field: &'static str, value: u32) -> DecodeError {
    DecodeError::Invalid {
        layer: Layer::Ipv4,
        offset,
        field,
        value,
    }
}

/// Writes a 20-byte IPv4 header (no options, DF set, checksum computed) at
/// the start of `buf`, which must hold 20 bytes.
pub fn emit_header(
    buf: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    payload_len: u16,
    ident: u16,
    ttl: u8,
) {
    let total = payload_len.saturating_add(IPV4_HEADER_LEN as u16);
    let h = &mut buf[..IPV4_HEADER_LEN];
    h[0] = 0x45;
    h[1] = 0;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&ident.to_be_bytes());
    h[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
    h[8] = ttl;
    h[9] = protocol;
    h[10..12].fill(0);
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let c = super::checksum::checksum(h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut b = vec![0u8; 24];
        emit_header(
            &mut b,
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            6,
            4,
            7,
            64,
        );
        b
    }

    #[test]
    fn fields() {
        let b = sample();
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.total_len(), 24);
        assert_eq!(p.ident(), 7);
        assert!(p.dont_frag() && !p.more_frags() && !p.is_fragment());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), 6);
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(10, 0, 0, 2));
        assert!(p.verify_checksum());
        assert_eq!(p.payload().len(), 4);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let mut b = sample();
        b[0] = 0x46; // 24-byte header with one option word
        for n in 0..24 {
            let want = if n < 20 { 20 } else { 24 };
            assert_eq!(
                Ipv4Packet::new_checked(&b[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Ipv4,
                    offset: 0,
                    required: want,
                    available: n
                },
                "length {n}"
            );
        }
        assert!(Ipv4Packet::new_checked(&b[..24]).is_ok());
    }

    #[test]
    fn bad_version_and_ihl() {
        let mut b = sample();
        b[0] = 0x65;
        assert!(matches!(
            Ipv4Packet::new_checked(&b[..]),
            Err(DecodeError::Invalid {
                field: "version",
                value: 6,
                ..
            })
        ));
        b[0] = 0x44;
        assert!(matches!(
            Ipv4Packet::new_checked(&b[..]),
            Err(DecodeError::Invalid {
                field: "header length",
                value: 16,
                ..
            })
        ));
    }

    #[test]
    fn fragments_and_padding() {
        let mut b = sample();
        b[6] = 0x20; // MF, offset 0
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert!(p.is_fragment() && p.more_frags() && p.frag_offset() == 0);
        b[6] = 0x00;
        b[7] = 0x03; // offset 24 bytes
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert!(p.is_fragment() && p.frag_offset() == 24);
        // Ethernet padding beyond total length is not payload.
        let mut padded = sample();
        padded.extend_from_slice(&[0; 10]);
        assert_eq!(
            Ipv4Packet::new_checked(&padded[..])
                .unwrap()
                .payload()
                .len(),
            4
        );
    }
}
