//! Where the TCP ports and payload sit in a captured loopback frame.
//!
//! The capture thread needs the ports to keep only the scenario's frames, and
//! the end-to-end check needs the payload bytes; neither is part of
//! `wire::TcpPacketInfo`. Every access is bounds-checked: a frame too short or
//! not Ethernet/IPv4/IPv6/TCP gives `None`, never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Ethernet header length (Linux `lo` frames carry a zeroed Ethernet header).
const ETHERNET_LEN: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const IPPROTO_TCP: u8 = 6;

/// The TCP view of one frame, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameTcp<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    /// The low 12 bits of header bytes 12..14 (tshark's tcp.flags).
    pub flags: u16,
    /// The TCP payload present in the frame (cut short if the frame was).
    pub payload: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Locate TCP in an Ethernet frame carrying IPv4 or IPv6 (no extension
/// headers, no fragments: loopback TCP carries neither).
pub fn locate_tcp(frame: &[u8]) -> Option<FrameTcp<'_>> {
    let ip = frame.get(ETHERNET_LEN..)?;
    let (src, dst, tcp_start, ip_end) = match be16(frame, 12)? {
        ETHERTYPE_IPV4 => {
            // RFC 791 §3.1: version/IHL, total length, protocol, addresses.
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            if ip.first()? >> 4 != 4 || ihl < 20 || *ip.get(9)? != IPPROTO_TCP {
                return None;
            }
            let frag = be16(ip, 6)?;
            if frag & 0x3fff != 0 {
                return None; // a fragment
            }
            let total = usize::from(be16(ip, 2)?);
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            (
                IpAddr::V4(Ipv4Addr::from(src)),
                IpAddr::V4(Ipv4Addr::from(dst)),
                ihl,
                total,
            )
        }
        ETHERTYPE_IPV6 => {
            // RFC 8200 §3: payload length, next header, addresses.
            if ip.first()? >> 4 != 6 || *ip.get(6)? != IPPROTO_TCP {
                return None;
            }
            let total = 40 + usize::from(be16(ip, 4)?);
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            (
                IpAddr::V6(Ipv6Addr::from(src)),
                IpAddr::V6(Ipv6Addr::from(dst)),
                40,
                total,
            )
        }
        _ => return None,
    };
    let tcp = ip.get(tcp_start..)?;
    // RFC 9293 §3.1: data offset in the high nibble of byte 12.
    let header_len = usize::from(tcp.get(12)? >> 4) * 4;
    if header_len < 20 || tcp.len() < header_len {
        return None;
    }
    let payload_end = ip_end.checked_sub(tcp_start)?.min(tcp.len());
    let payload = tcp.get(header_len..payload_end.max(header_len))?;
    Some(FrameTcp {
        src,
        dst,
        src_port: be16(tcp, 0)?,
        dst_port: be16(tcp, 2)?,
        seq: be32(tcp, 4)?,
        flags: be16(tcp, 12)? & 0x0fff,
        payload,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A loopback Ethernet + IPv4 + TCP frame (checksums left zero).
    pub(crate) fn ipv4_frame(
        src_port: u16,
        dst_port: u16,
        seq: u32,
        flags: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        let total = (20 + 20 + payload.len()) as u16;
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[
            0,
            0,
            0x40,
            0,
            64,
            IPPROTO_TCP,
            0,
            0,
            127,
            0,
            0,
            1,
            127,
            0,
            0,
            1,
        ]);
        f.extend_from_slice(&src_port.to_be_bytes());
        f.extend_from_slice(&dst_port.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&0u32.to_be_bytes());
        f.extend_from_slice(&(0x5000u16 | flags).to_be_bytes());
        f.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn finds_ports_flags_and_payload_in_ipv4() {
        let f = ipv4_frame(40000, 20001, 7, 0x018, b"hello");
        let t = locate_tcp(&f).unwrap();
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.flags),
            (40000, 20001, 7, 0x018)
        );
        assert_eq!(t.payload, b"hello");
        assert_eq!(t.src, IpAddr::V4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut f = ipv4_frame(1, 2, 0, 0x010, b"");
        f.extend_from_slice(&[0u8; 6]);
        assert_eq!(locate_tcp(&f).unwrap().payload, b"");
    }

    #[test]
    fn finds_tcp_in_ipv6() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, 23, IPPROTO_TCP, 64]);
        f.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        f.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        f.extend_from_slice(&[
            0x9c, 0x40, 0x4e, 0x21, 0, 0, 0, 9, 0, 0, 0, 0, 0x50, 0x11, 1, 0, 0, 0, 0, 0,
        ]);
        f.extend_from_slice(b"abc");
        let t = locate_tcp(&f).unwrap();
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.flags),
            (40000, 20001, 9, 0x011)
        );
        assert_eq!(t.payload, b"abc");
        assert_eq!(t.dst, IpAddr::V6(Ipv6Addr::LOCALHOST));
    }

    #[test]
    fn every_truncation_gives_none_or_a_shorter_payload_never_a_panic() {
        let f = ipv4_frame(40000, 20001, 7, 0x018, b"hello");
        for cut in 0..f.len() {
            if let Some(t) = locate_tcp(&f[..cut]) {
                assert!(t.payload.len() < 5);
            }
        }
        // Garbage in every byte position must not panic either.
        for i in 0..f.len() {
            for v in [0u8, 0x0f, 0xf0, 0xff] {
                let mut g = f.clone();
                g[i] = v;
                let _ = locate_tcp(&g);
            }
        }
    }
}
