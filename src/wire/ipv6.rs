//! IPv6 header view (RFC 8200 §3) and a bounded walk over the extension
//! headers (RFC 8200 §4) down to the upper-layer protocol.

use super::error::{need, DecodeError, Layer};
use std::net::Ipv6Addr;

/// Fixed IPv6 header length.
pub const IPV6_HEADER_LEN: usize = 40;

/// Extension header (next header) numbers, RFC 8200 §4 and RFC 4302.
pub mod next_header {
    pub const HOP_BY_HOP: u8 = 0;
    pub const TCP: u8 = 6;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const NO_NEXT: u8 = 59;
    pub const DEST_OPTS: u8 = 60;
    pub const MOBILITY: u8 = 135;
    pub const HIP: u8 = 139;
    pub const SHIM6: u8 = 140;
}

/// Field byte ranges of the fixed header, for field maps.
pub const FIELD_RANGES: [(&str, core::ops::Range<usize>); 6] = [
    ("version+tclass+flow", 0..4),
    ("plen", 4..6),
    ("nxt", 6..7),
    ("hlim", 7..8),
    ("src", 8..24),
    ("dst", 24..40),
];

/// Most extension headers walked before giving up (each is at least 8 bytes,
/// so a 64 KiB payload could otherwise chain thousands).
pub const MAX_EXTENSION_HEADERS: usize = 16;

/// A zero-copy IPv6 header view; after [`Ipv6Packet::new_checked`] the fixed
/// header is present and the version is 6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

/// A fragment header's content (RFC 8200 §4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Fragment {
    /// Fragment offset in bytes.
    pub offset: u32,
    pub more: bool,
    pub ident: u32,
    /// Offset of the fragment header from the start of the IPv6 header.
    pub header_offset: usize,
}

/// Where the extension header chain ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Upper {
    /// The upper-layer protocol (or the header where the walk stopped:
    /// ESP, no-next-header, or the protocol inside a non-first fragment).
    pub protocol: u8,
    /// Offset of the upper-layer header from the start of the IPv6 header.
    pub offset: usize,
    pub fragment: Option<Ipv6Fragment>,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    pub fn new_unchecked(buffer: T) -> Ipv6Packet<T> {
        Ipv6Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Ipv6Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(b, IPV6_HEADER_LEN, Layer::Ipv6)?;
        let version = b[0] >> 4;
        if version != 6 {
            return Err(DecodeError::Invalid {
                layer: Layer::Ipv6,
                offset: 0,
                field: "version",
                value: version.into(),
            });
        }
        Ok(Ipv6Packet { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn traffic_class(&self) -> u8 {
        let b = self.b();
        (b[0] << 4) | (b[1] >> 4)
    }
    pub fn flow_label(&self) -> u32 {
        let b = self.b();
        u32::from_be_bytes([0, b[1] & 0x0f, b[2], b[3]])
    }
    /// Payload length as stated (extension headers included).
    pub fn payload_len(&self) -> u16 {
        u16::from_be_bytes([self.b()[4], self.b()[5]])
    }
    pub fn next_header(&self) -> u8 {
        self.b()[6]
    }
    pub fn hop_limit(&self) -> u8 {
        self.b()[7]
    }
    pub fn src_addr(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.b()[8..24]);
        Ipv6Addr::from(a)
    }
    pub fn dst_addr(&self) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.b()[24..40]);
        Ipv6Addr::from(a)
    }

    /// Walks the extension headers (RFC 8200 §4.1 order is not enforced) to
    /// the upper-layer header. Stops at a non-first fragment, since what
    /// follows its fragment header is the middle of a datagram. Each header's
    /// length is checked against the captured bytes.
    pub fn upper_layer(&self) -> Result<Ipv6Upper, DecodeError> {
        use next_header::*;
        let b = self.b();
        let mut nh = self.next_header();
        let mut off = IPV6_HEADER_LEN;
        let mut fragment = None;
        for _ in 0..MAX_EXTENSION_HEADERS {
            let len = match nh {
                HOP_BY_HOP | ROUTING | DEST_OPTS | MOBILITY | HIP | SHIM6 => {
                    ext_need(b, off, 2)?;
                    // RFC 8200 §4.3: Hdr Ext Len in 8-octet units, not
                    // counting the first 8 octets.
                    (usize::from(b[off + 1]) + 1) * 8
                }
                AH => {
                    ext_need(b, off, 2)?;
                    // RFC 4302 §2.2: Payload Len in 4-octet units, minus 2.
                    (usize::from(b[off + 1]) + 2) * 4
                }
                FRAGMENT => 8,
                _ => {
                    return Ok(Ipv6Upper {
                        protocol: nh,
                        offset: off,
                        fragment,
                    })
                }
            };
            ext_need(b, off, len)?;
            let next = b[off];
            if nh == FRAGMENT {
                let fo = u16::from_be_bytes([b[off + 2], b[off + 3]]);
                let frag = Ipv6Fragment {
                    offset: u32::from(fo >> 3) * 8,
                    more: fo & 1 != 0,
                    ident: u32::from_be_bytes([b[off + 4], b[off + 5], b[off + 6], b[off + 7]]),
                    header_offset: off,
                };
                fragment = Some(frag);
                if frag.offset != 0 {
                    return Ok(Ipv6Upper {
                        protocol: next,
                        offset: off + 8,
                        fragment,
                    });
                }
            }
            nh = next;
            off += len;
        }
        Err(DecodeError::Invalid {
            layer: Layer::Ipv6Extension,
            offset: off,
            field: "extension header count over limit, next header",
            value: nh.into(),
        })
    }
}

fn ext_need(b: &[u8], off: usize, len: usize) -> Result<(), DecodeError> {
    if b.len() < off + len {
        Err(DecodeError::Truncated {
            layer: Layer::Ipv6Extension,
            offset: off,
            required: len,
            available: b.len() - off.min(b.len()),
        })
    } else {
        Ok(())
    }
}

/// Writes a 40-byte IPv6 header at the start of `buf` (which must hold 40).
pub fn emit_header(
    buf: &mut [u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next: u8,
    payload_len: u16,
    hop_limit: u8,
) {
    let h = &mut buf[..IPV6_HEADER_LEN];
    h[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
    h[4..6].copy_from_slice(&payload_len.to_be_bytes());
    h[6] = next;
    h[7] = hop_limit;
    h[8..24].copy_from_slice(&src.octets());
    h[24..40].copy_from_slice(&dst.octets());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(next: u8) -> Vec<u8> {
        let mut b = vec![0u8; 40];
        emit_header(
            &mut b,
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
            next,
            0,
            64,
        );
        b
    }

    #[test]
    fn fields_and_direct_tcp() {
        let b = base(6);
        let p = Ipv6Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.src_addr(), "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.dst_addr(), "2001:db8::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(
            p.upper_layer().unwrap(),
            Ipv6Upper {
                protocol: 6,
                offset: 40,
                fragment: None
            }
        );
    }

    #[test]
    fn every_truncation_of_fixed_header() {
        let b = base(6);
        for n in 0..40 {
            let e = Ipv6Packet::new_checked(&b[..n]).unwrap_err();
            let want = 40;
            assert_eq!(
                e,
                DecodeError::Truncated {
                    layer: Layer::Ipv6,
                    offset: 0,
                    required: want,
                    available: n
                }
            );
        }
    }

    #[test]
    fn chain_of_extension_headers() {
        let mut b = base(next_header::HOP_BY_HOP);
        b.extend_from_slice(&[next_header::DEST_OPTS, 0, 1, 4, 0, 0, 0, 0]); // HBH, 8 bytes
        b.extend_from_slice(&[next_header::ROUTING, 1]); // DO, 16 bytes
        b.extend_from_slice(&[0; 14]);
        b.extend_from_slice(&[next_header::AH, 0, 0, 0, 0, 0, 0, 0]); // routing, 8 bytes
        b.extend_from_slice(&[next_header::FRAGMENT, 1, 0, 0]); // AH: (1+2)*4 = 12 bytes
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&[6, 0, 0x00, 0x01, 0, 0, 0, 9]); // fragment: offset 0, M=1
        let tcp_at = b.len();
        let p = Ipv6Packet::new_checked(&b[..]).unwrap();
        let u = p.upper_layer().unwrap();
        assert_eq!(u.protocol, 6);
        assert_eq!(u.offset, tcp_at);
        assert_eq!(
            u.fragment,
            Some(Ipv6Fragment {
                offset: 0,
                more: true,
                ident: 9,
                header_offset: tcp_at - 8
            })
        );
        // Every truncation inside the chain is an extension-header error.
        for n in 41..tcp_at {
            let p = Ipv6Packet::new_checked(&b[..n]).unwrap();
            let e = p.upper_layer().unwrap_err();
            assert_eq!(e.layer(), Layer::Ipv6Extension, "length {n}");
        }
    }

    #[test]
    fn non_first_fragment_stops_the_walk() {
        let mut b = base(next_header::FRAGMENT);
        b.extend_from_slice(&[6, 0, 0x01, 0xd0, 0xa1, 0xbc, 0x65, 0x72]); // offset 464
        b.extend_from_slice(b"AAAA");
        let u = Ipv6Packet::new_checked(&b[..])
            .unwrap()
            .upper_layer()
            .unwrap();
        assert_eq!(u.protocol, 6);
        assert_eq!(u.offset, 48);
        let f = u.fragment.unwrap();
        assert_eq!((f.offset, f.more, f.ident), (464, false, 0xa1bc_6572));
    }

    #[test]
    fn endless_chain_is_bounded() {
        let mut b = base(next_header::DEST_OPTS);
        for _ in 0..40 {
            b.extend_from_slice(&[next_header::DEST_OPTS, 0, 0, 0, 0, 0, 0, 0]);
        }
        let e = Ipv6Packet::new_checked(&b[..])
            .unwrap()
            .upper_layer()
            .unwrap_err();
        assert!(matches!(
            e,
            DecodeError::Invalid {
                layer: Layer::Ipv6Extension,
                ..
            }
        ));
    }
}
