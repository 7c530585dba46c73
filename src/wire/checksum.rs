//! The Internet checksum (RFC 1071) and the TCP pseudo-headers of IPv4
//! (RFC 9293 §3.1) and IPv6 (RFC 8200 §8.1).
//!
//! The sum is accumulated 32 bits at a time into eight `u64` lanes over
//! 32-byte blocks (the loop vectorises). RFC 1071 §2 (B) and (C): the one's
//! complement sum is independent of byte order and word size, as long as
//! the final value is folded back into 16 bits ("deferred carries").

use std::net::{Ipv4Addr, Ipv6Addr};

/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;

/// One's complement sum of `data`, read as big-endian 16-bit words; an odd
/// trailing byte is padded with a zero byte (RFC 1071 §4.1). The result is
/// folded to 16 bits (so it is at most 0xffff) and may be added to other
/// sums before the final [`fold`]. Sums of separate slices may be added as
/// long as every slice but the last has an even length.
///
/// RFC 1071 §2 (B): the sum is independent of byte order, so the bytes are
/// summed as little-endian 32-bit words (plain loads on x86) into 64-bit
/// lanes without carries, and the folded result is byte-swapped once.
pub fn sum(data: &[u8]) -> u64 {
    let mut blocks = data.chunks_exact(32);
    let mut total: u64 = 0;
    if data.len() >= 32 {
        let mut acc = [0u64; 8];
        for b in &mut blocks {
            // Each lane gets one 32-bit word per 32-byte block: no overflow
            // before 2^32 blocks.
            for (i, a) in acc.iter_mut().enumerate() {
                *a += u64::from(u32::from_le_bytes([
                    b[4 * i],
                    b[4 * i + 1],
                    b[4 * i + 2],
                    b[4 * i + 3],
                ]));
            }
        }
        total = acc.iter().map(|&a| fold_wide(a)).sum();
    }
    // The rest (a bare TCP header is all rest) 32 bits at a time, then 16.
    let mut quads = blocks.remainder().chunks_exact(4);
    for q in &mut quads {
        total += u64::from(u32::from_le_bytes([q[0], q[1], q[2], q[3]]));
    }
    let mut words = quads.remainder().chunks_exact(2);
    for w in &mut words {
        total += u64::from(u16::from_le_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        // Big-endian padding puts the lone byte high; in little-endian
        // order that is the low byte.
        total += u64::from(*last);
    }
    u64::from(fold(total).swap_bytes())
}

/// Folds a lane (a sum of 32-bit words) to 32 bits without losing carries.
fn fold_wide(a: u64) -> u64 {
    (a & 0xffff_ffff) + (a >> 32)
}

/// Folds a sum to 16 bits with end-around carry (RFC 1071 §4.1).
pub fn fold(mut s: u64) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// The checksum of `data`: the complement of its folded sum.
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(data))
}

/// Unfolded sum of the IPv4 pseudo-header: source, destination, zero,
/// protocol, TCP length (RFC 9293 §3.1).
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, tcp_len: u32) -> u64 {
    let s = src.octets();
    let d = dst.octets();
    u64::from(u32::from_be_bytes(s))
        + u64::from(u32::from_be_bytes(d))
        + u64::from(proto)
        + u64::from(tcp_len)
}

/// Unfolded sum of the IPv6 pseudo-header: source, destination, upper-layer
/// packet length (32 bits), three zero bytes, next header (RFC 8200 §8.1).
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, proto: u8, upper_len: u32) -> u64 {
    sum(&src.octets()) + sum(&dst.octets()) + u64::from(upper_len) + u64::from(proto)
}

/// Unfolded pseudo-header sum for either IP version. Mixed versions cannot
/// occur in one packet; they return the sum of the IPv6 form of both.
pub fn pseudo_header(src: std::net::IpAddr, dst: std::net::IpAddr, proto: u8, len: u32) -> u64 {
    use std::net::IpAddr::V4;
    match (src, dst) {
        (V4(s), V4(d)) => pseudo_header_v4(s, d, proto, len),
        (s, d) => pseudo_header_v6(to_v6(s), to_v6(d), proto, len),
    }
}

fn to_v6(a: std::net::IpAddr) -> Ipv6Addr {
    match a {
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        std::net::IpAddr::V6(v6) => v6,
    }
}

/// How a TCP checksum compares with the segment it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The sum over pseudo-header and segment is all ones.
    Good,
    /// The field holds exactly the folded pseudo-header sum: a transmit
    /// checksum offload left the field half done (Linux `CHECKSUM_PARTIAL`,
    /// captured on `lo` or before the NIC filled it in).
    Partial,
    Bad,
}

/// Verifies a whole TCP segment (header with its checksum field + payload)
/// given the unfolded pseudo-header sum.
///
/// RFC 9293 §3.1: the checksum is the complement of the one's complement sum
/// of pseudo-header, header and data, so the sum of all of them including the
/// checksum field is 0xffff when it is right.
pub fn verify(pseudo: u64, segment: &[u8], field: u16) -> Verdict {
    if fold(pseudo + sum(segment)) == 0xffff {
        return Verdict::Good;
    }
    // Linux stores csum_fold(pseudo-header sum) uncomplemented in the field
    // and lets the device add the segment. Both encodings of zero count.
    let p = fold(pseudo);
    if field == p || (p == 0xffff && field == 0) || (p == 0 && field == 0xffff) {
        Verdict::Partial
    } else {
        Verdict::Bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straightforward 16-bit reference implementation.
    fn naive(data: &[u8]) -> u16 {
        let mut s: u32 = 0;
        for c in data.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], 0])
            };
            s += u32::from(w);
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (folded).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&data)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn known_ipv4_header() {
        // A textbook IPv4 header whose checksum is 0xb861.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&h), 0xb861);
        h[10] = 0xb8;
        h[11] = 0x61;
        assert_eq!(fold(sum(&h)), 0xffff);
    }

    #[test]
    fn matches_naive_on_all_lengths_and_alignments() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7919 % 251) as u8 ^ 0xa5).collect();
        for start in 0..8 {
            for end in start..data.len() {
                assert_eq!(
                    checksum(&data[start..end]),
                    naive(&data[start..end]),
                    "{start}..{end}"
                );
            }
        }
    }

    #[test]
    fn all_ones_data_does_not_overflow() {
        let data = vec![0xffu8; 100_000];
        assert_eq!(checksum(&data), naive(&data));
    }

    #[test]
    fn split_sums_add_up() {
        let data: Vec<u8> = (0..97u8).collect();
        let whole = fold(sum(&data));
        let parts = fold(sum(&data[..40]) + sum(&data[40..]));
        assert_eq!(whole, parts);
    }

    #[test]
    fn pseudo_header_v6_matches_byte_layout() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "fe80::2:3".parse().unwrap();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&src.octets());
        bytes.extend_from_slice(&dst.octets());
        bytes.extend_from_slice(&70000u32.to_be_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 6]);
        assert_eq!(
            fold(pseudo_header_v6(src, dst, 6, 70000)),
            fold(sum(&bytes))
        );
    }

    #[test]
    fn pseudo_header_v4_matches_byte_layout() {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(192, 168, 255, 254);
        let bytes = [10, 0, 0, 1, 192, 168, 255, 254, 0, 6, 0x05, 0xdc];
        assert_eq!(fold(pseudo_header_v4(src, dst, 6, 1500)), fold(sum(&bytes)));
    }

    #[test]
    fn verify_good_bad_partial() {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(10, 0, 0, 2);
        // 20-byte TCP header + 3 bytes payload, checksum field at 16..18.
        let mut seg = vec![
            0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0x00, 0, 0, 0, 0,
            b'a', b'b', b'c',
        ];
        let pseudo = pseudo_header_v4(src, dst, PROTO_TCP, seg.len() as u32);
        let c = !fold(pseudo + sum(&seg));
        seg[16..18].copy_from_slice(&c.to_be_bytes());
        assert_eq!(verify(pseudo, &seg, c), Verdict::Good);
        seg[20] ^= 1;
        assert_eq!(verify(pseudo, &seg, c), Verdict::Bad);
        let p = fold(pseudo);
        seg[16..18].copy_from_slice(&p.to_be_bytes());
        assert_eq!(verify(pseudo, &seg, p), Verdict::Partial);
    }
}
