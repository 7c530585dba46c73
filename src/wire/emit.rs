//! Building whole frames (Ethernet or raw IP, then IPv4/IPv6, then TCP) with
//! correct IP and TCP checksums, for the simulator, pcap writers and tests.

use super::checksum;
use super::ipv4::{self, IPV4_HEADER_LEN};
use super::ipv6::{self, IPV6_HEADER_LEN};
use super::link::{emit_ethernet, ethertype};
use super::tcp::{EmitError, TcpPacket, TcpRepr};
use std::net::IpAddr;

/// Source MAC address written by [`build_ethernet_frame`] (locally administered).
pub const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// Destination MAC address written by [`build_ethernet_frame`].
pub const DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
/// TTL / hop limit of built packets.
pub const DEFAULT_TTL: u8 = 64;

/// Appends an Ethernet II + IP + TCP frame to `out` (link type 1) and
/// returns its length. The TCP checksum is computed over the pseudo-header,
/// overriding `repr.checksum`; the IPv4 header checksum is computed too.
pub fn build_ethernet_frame(
    src: IpAddr,
    dst: IpAddr,
    repr: &TcpRepr,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, EmitError> {
    let start = out.len();
    let etype = match src {
        IpAddr::V4(_) => ethertype::IPV4,
        IpAddr::V6(_) => ethertype::IPV6,
    };
    out.resize(start + 14, 0);
    emit_ethernet(&mut out[start..], DST_MAC, SRC_MAC, etype);
    match build_ip_packet(src, dst, repr, payload, out) {
        Ok(n) => Ok(n + 14),
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Appends an IP + TCP packet to `out` (raw IP, link type 101) and returns
/// its length. See [`build_ethernet_frame`].
pub fn build_ip_packet(
    src: IpAddr,
    dst: IpAddr,
    repr: &TcpRepr,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, EmitError> {
    let start = out.len();
    let hl = usize::from(repr.header_len);
    let seg_len = hl + payload.len();
    let ip_len = match src {
        IpAddr::V4(_) => IPV4_HEADER_LEN,
        IpAddr::V6(_) => IPV6_HEADER_LEN,
    };
    let limit = match src {
        IpAddr::V4(_) => usize::from(u16::MAX) - IPV4_HEADER_LEN,
        IpAddr::V6(_) => usize::from(u16::MAX),
    };
    if seg_len > limit {
        return Err(EmitError::PayloadTooLong { len: seg_len });
    }
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            out.resize(start + ip_len + seg_len, 0);
            ipv4::emit_header(&mut out[start..], s, d, 6, seg_len as u16, 0, DEFAULT_TTL);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            out.resize(start + ip_len + seg_len, 0);
            ipv6::emit_header(&mut out[start..], s, d, 6, seg_len as u16, DEFAULT_TTL);
        }
        _ => return Err(EmitError::AddressFamilyMismatch),
    }
    let seg = &mut out[start + ip_len..];
    if let Err(e) = write_segment(src, dst, repr, payload, seg) {
        out.truncate(start);
        return Err(e);
    }
    Ok(ip_len + seg_len)
}

/// Writes header and payload into `seg` (exactly their length) and fills in
/// the TCP checksum (RFC 9293 §3.1).
pub fn write_segment(
    src: IpAddr,
    dst: IpAddr,
    repr: &TcpRepr,
    payload: &[u8],
    seg: &mut [u8],
) -> Result<(), EmitError> {
    let hl = repr.emit(seg)?;
    let needed = hl + payload.len();
    if seg.len() < needed {
        return Err(EmitError::BufferTooSmall {
            required: needed,
            available: seg.len(),
        });
    }
    seg[hl..needed].copy_from_slice(payload);
    let seg = &mut seg[..needed];
    let mut p = TcpPacket::new_unchecked(&mut *seg);
    p.set_checksum(0);
    let pseudo = checksum::pseudo_header(src, dst, checksum::PROTO_TCP, needed as u32);
    let c = !checksum::fold(pseudo + checksum::sum(seg));
    TcpPacket::new_unchecked(seg).set_checksum(c);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::decode::{decode_frame, Decoded};
    use crate::wire::{ChecksumStatus, SeqNumber, TcpFlags, TcpOption};

    fn syn() -> TcpRepr {
        TcpRepr::new(
            40000,
            80,
            SeqNumber(1000),
            SeqNumber(0),
            TcpFlags(TcpFlags::SYN),
            64240,
            vec![
                TcpOption::Mss(1460),
                TcpOption::SackPermitted,
                TcpOption::Timestamps { tsval: 5, tsecr: 0 },
                TcpOption::NoOperation,
                TcpOption::WindowScale(7),
            ],
        )
    }

    #[test]
    fn ethernet_ipv4_frame_decodes_with_good_checksum() {
        let mut out = Vec::new();
        let n = build_ethernet_frame(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            &syn(),
            b"hello",
            &mut out,
        )
        .unwrap();
        assert_eq!(n, out.len());
        assert_eq!(n, 14 + 20 + 40 + 5);
        let Decoded::Tcp(t) = decode_frame(1, &out, n as u32).unwrap() else {
            panic!("not TCP")
        };
        assert_eq!(t.info.checksum_status, ChecksumStatus::Good);
        assert_eq!(t.info.src_port, 40000);
        assert_eq!(t.info.payload_len, 5);
        assert_eq!(t.info.options.mss, Some(1460));
        assert_eq!(t.info.options.wscale, Some(7));
        assert_eq!(t.info.options.timestamps, Some((5, 0)));
        assert_eq!(t.payload, b"hello");
        assert!(Ipv4Check(&out[14..34]).ok());
    }

    struct Ipv4Check<'a>(&'a [u8]);
    impl Ipv4Check<'_> {
        fn ok(&self) -> bool {
            crate::wire::ipv4::Ipv4Packet::new_checked(self.0)
                .unwrap()
                .verify_checksum()
        }
    }

    #[test]
    fn ipv6_raw_packet_decodes_with_good_checksum() {
        let mut out = vec![0xaa]; // appended after existing bytes
        let n = build_ip_packet(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
            &syn(),
            &[7; 1001],
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), 1 + n);
        let Decoded::Tcp(t) = decode_frame(101, &out[1..], n as u32).unwrap() else {
            panic!("not TCP")
        };
        assert_eq!(t.info.checksum_status, ChecksumStatus::Good);
        assert_eq!(t.info.payload_len, 1001);
        // Flip one payload bit: bad.
        out[n] ^= 0x10;
        let Decoded::Tcp(t) = decode_frame(101, &out[1..], n as u32).unwrap() else {
            panic!("not TCP")
        };
        assert_eq!(t.info.checksum_status, ChecksumStatus::Bad);
    }

    #[test]
    fn mixed_families_are_rejected_and_out_is_untouched() {
        let mut out = vec![1, 2, 3];
        let e = build_ethernet_frame(
            "10.0.0.1".parse().unwrap(),
            "::1".parse().unwrap(),
            &syn(),
            b"",
            &mut out,
        );
        assert_eq!(e, Err(EmitError::AddressFamilyMismatch));
        assert_eq!(out, vec![1, 2, 3]);
    }
}
