//! Where the TCP ports and payload sit in a captured loopback frame.
//!
//! The capture thread needs the ports to keep only the scenario's frames, and
//! the end-to-end check needs the payload bytes. Both come from the project's
//! own decoder (`wire::decode::decode_frame`): captured bytes are untrusted,
//! and a frame that is not Ethernet/IP/TCP gives `None`, never a panic.

use super::capture::CapturedFrame;
use crate::pcap::linktype;
use crate::wire::decode::{decode_frame, Decoded, TcpFrame};
use crate::wire::TcpPacketInfo;

/// Decode an Ethernet frame of the loopback capture down to TCP.
pub fn locate_tcp(frame: &[u8]) -> Option<TcpFrame<'_>> {
    let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    match decode_frame(linktype::ETHERNET, frame, len) {
        Ok(Decoded::Tcp(t)) if t.fragment.is_none() => Some(t),
        _ => None,
    }
}

/// The analyzer's input for each captured frame, numbered from 1 in capture
/// order (the frame numbers of the written pcap: every kept frame is TCP).
pub fn packet_infos(frames: &[CapturedFrame]) -> Vec<TcpPacketInfo> {
    frames
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let mut info = locate_tcp(&f.data)?.info;
            info.number = i as u64 + 1;
            info.time_ns = f.time_ns;
            Some(info)
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    const ETHERTYPE_IPV4: u16 = 0x0800;
    const ETHERTYPE_IPV6: u16 = 0x86DD;
    const IPPROTO_TCP: u8 = 6;

    /// A loopback Ethernet + IPv4 + TCP frame (checksums left zero).
    pub(crate) fn ipv4_frame(
        src_port: u16,
        dst_port: u16,
        seq: u32,
        flags: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        ipv4_frame_ack(src_port, dst_port, seq, 0, flags, payload)
    }

    /// As `ipv4_frame`, with an acknowledgment number.
    pub(crate) fn ipv4_frame_ack(
        src_port: u16,
        dst_port: u16,
        seq: u32,
        ack: u32,
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
        f.extend_from_slice(&ack.to_be_bytes());
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
            (
                t.info.src_port,
                t.info.dst_port,
                t.info.seq.0,
                t.info.flags.0
            ),
            (40000, 20001, 7, 0x018)
        );
        assert_eq!(t.payload, b"hello");
        assert_eq!(t.info.src, IpAddr::V4(Ipv4Addr::LOCALHOST));
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
            (
                t.info.src_port,
                t.info.dst_port,
                t.info.seq.0,
                t.info.flags.0
            ),
            (40000, 20001, 9, 0x011)
        );
        assert_eq!(t.payload, b"abc");
        assert_eq!(t.info.dst, IpAddr::V6(Ipv6Addr::LOCALHOST));
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
