//! The one entry point every packet source uses: link -> IP -> TCP, without
//! allocation, into a [`TcpPacketInfo`] plus the offsets of each header.
//!
//! ```
//! use tcpsim::wire::decode::{decode_frame, Decoded};
//! # let frame: &[u8] = &[];
//! match decode_frame(1, frame, frame.len() as u32) {
//!     Ok(Decoded::Tcp(tcp)) => println!("{} -> {}", tcp.info.src_port, tcp.info.dst_port),
//!     Ok(Decoded::NotTcp(why)) => println!("skipped: {why:?}"),
//!     Err(e) => println!("malformed: {e}"),
//! }
//! ```

use super::checksum::{self, Verdict};
use super::error::DecodeError;
use super::info::{ChecksumStatus, TcpPacketInfo};
use super::ipv4::Ipv4Packet;
use super::ipv6::Ipv6Packet;
use super::link::{self, LinkLayer, Network};
use super::tcp::TcpPacket;
use std::net::IpAddr;

/// Mask of the link-type field's low bits: the pcap header keeps FCS length
/// and flags in the upper bits (tcpdump.org LINKTYPE_* "LT_LINKTYPE").
pub const LINKTYPE_MASK: u32 = 0x03ff_ffff;

/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;

/// IP version of a decoded packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum IpVersion {
    V4,
    V6,
}

/// An IP fragment (RFC 791 §2.3, RFC 8200 §4.5): what a reassembler needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpFragment<'a> {
    pub version: IpVersion,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The protocol of the datagram (TCP = 6).
    pub protocol: u8,
    /// IPv4 identification (16 bits) or IPv6 fragment identification.
    pub ident: u32,
    /// Offset of this fragment's data in the datagram, in bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
    /// Offset of the fragment's data in the frame.
    pub data_offset: usize,
    /// Fragment data length as the IP header states it.
    pub stated_len: u32,
    /// The captured part of the fragment's data.
    pub data: &'a [u8],
}

/// Why a frame was skipped (not TCP), so callers can count the categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotTcp<'a> {
    /// The link layer leads to something other than IP (ARP, LCP, an
    /// unknown link type, ...).
    Network(Network),
    /// IP carrying another protocol (UDP, ICMP, ESP, no-next-header, ...).
    Protocol { version: IpVersion, protocol: u8 },
    /// A fragment that does not start with a whole TCP header: a non-first
    /// fragment, or a first fragment of another protocol or too short.
    Fragment(IpFragment<'a>),
    /// IP says TCP, but the TCP header is shorter than 20 bytes (IP length
    /// or capture ends first) or its data offset is below 5. tshark still
    /// lists such a frame as TCP with whatever fields fit.
    MalformedTcp(MalformedTcp<'a>),
}

/// A TCP header too short or too broken to decode (see [`NotTcp::MalformedTcp`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MalformedTcp<'a> {
    pub version: IpVersion,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ip_offset: usize,
    pub tcp_offset: usize,
    /// The TCP bytes present (captured, and within the length IP states).
    pub bytes: &'a [u8],
    /// What is wrong, with the offset in the frame.
    pub error: DecodeError,
}

impl MalformedTcp<'_> {
    /// Source port, if its two bytes are present.
    pub fn src_port(&self) -> Option<u16> {
        self.bytes
            .get(0..2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    /// Destination port, if its two bytes are present.
    pub fn dst_port(&self) -> Option<u16> {
        self.bytes
            .get(2..4)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

impl NotTcp<'_> {
    /// A short, stable category name for counting skipped packets.
    pub fn category(&self) -> &'static str {
        match self {
            NotTcp::Network(Network::UnknownLinkType(_)) => "unknown-link-type",
            NotTcp::Network(_) => "not-ip",
            NotTcp::Protocol { .. } => "not-tcp",
            NotTcp::Fragment(_) => "ip-fragment",
            NotTcp::MalformedTcp(_) => "malformed-tcp",
        }
    }
}

/// A decoded TCP frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFrame<'a> {
    /// The analyzer's view. `number` and `time_ns` are left 0 for the caller
    /// to set; `frame_len` is `orig_len` and `cap_len` the captured length.
    pub info: TcpPacketInfo,
    /// What the link layer held (VLAN tags, PPPoE, MPLS).
    pub link: LinkLayer,
    pub ip_version: IpVersion,
    /// Offset of the IP header in the frame.
    pub ip_offset: usize,
    /// Offset of the TCP header in the frame.
    pub tcp_offset: usize,
    /// TCP segment length (header + payload) as IP states it, bounded by the
    /// frame's wire length and by a link-layer length (PPPoE).
    pub segment_len: u32,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The captured payload bytes, bounded by the length IP states (link
    /// padding dropped). Shorter than `info.payload_len` when the capture
    /// was cut short.
    pub payload: &'a [u8],
    /// Set when the TCP header came from the first fragment of a datagram;
    /// `info.payload_len` then counts this fragment only and the checksum is
    /// unverified.
    pub fragment: Option<IpFragment<'a>>,
}

impl TcpFrame<'_> {
    /// tshark's `tcp.len`: payload length, or `None` when the header claims
    /// more bytes than the segment has ("short segment").
    pub fn tcp_len(&self) -> Option<u32> {
        let hl = u32::from(self.info.header_len);
        (hl <= self.segment_len).then(|| self.segment_len - hl)
    }
}

/// What [`decode_frame`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Decoded<'a> {
    Tcp(TcpFrame<'a>),
    NotTcp(NotTcp<'a>),
}

/// Decodes one captured frame down to TCP.
///
/// - `linktype`: the LINKTYPE_* of the frame's interface (upper FCS/flag bits
///   are masked off with [`LINKTYPE_MASK`]);
/// - `data`: the captured bytes (may be cut short by snaplen);
/// - `orig_len`: the frame's length on the wire.
///
/// Headers that do not fit in `data` are errors naming layer and offset;
/// TCP options and payload cut by the capture are decoded as far as they go.
/// `info.payload_len` is the length the IP header states (tshark's
/// `tcp.len`), even when the capture holds less.
pub fn decode_frame(linktype: u32, data: &[u8], orig_len: u32) -> Result<Decoded<'_>, DecodeError> {
    let link = link::network_layer(linktype & LINKTYPE_MASK, data)?;
    let rest = &data[link.offset.min(data.len())..];
    match link.network {
        Network::Ipv4 => decode_ipv4(data, link, rest, orig_len),
        Network::Ipv6 => decode_ipv6(data, link, rest, orig_len),
        other => Ok(Decoded::NotTcp(NotTcp::Network(other))),
    }
}

/// Length the wire frame leaves for the IP datagram, used when IP states a
/// zero length (TSO/GSO captures, IPv6 jumbograms without the option).
/// A link-layer length (PPPoE) bounds it too.
fn wire_room(orig_len: u32, link: &LinkLayer, captured: usize) -> u32 {
    let mut end = (orig_len as usize).max(captured);
    if let Some(e) = link.end {
        end = end.min(e);
    }
    end.saturating_sub(link.offset).min(u32::MAX as usize) as u32
}

#[inline]
fn decode_ipv4<'a>(
    frame: &'a [u8],
    link: LinkLayer,
    ip: &'a [u8],
    orig_len: u32,
) -> Result<Decoded<'a>, DecodeError> {
    let ip_offset = link.offset;
    let p = Ipv4Packet::new_checked(ip).map_err(|e| e.shifted(ip_offset))?;
    let hl = p.header_len();
    let room = wire_room(orig_len, &link, frame.len());
    // RFC 791: Total Length counts header and data. Zero means a capture
    // taken before segmentation offload filled it in; take the frame length.
    let total = match u32::from(p.total_len()) {
        0 => room,
        t => t.min(room.max(hl as u32)),
    };
    let stated = total.saturating_sub(hl as u32);
    let src = IpAddr::V4(p.src_addr());
    let dst = IpAddr::V4(p.dst_addr());
    let l4_offset = ip_offset + hl;
    let captured_end = (ip_offset + total as usize).clamp(l4_offset, frame.len().max(l4_offset));
    let l4 = &frame[l4_offset.min(frame.len())..captured_end.min(frame.len())];
    let fragment = if p.is_fragment() {
        Some(IpFragment {
            version: IpVersion::V4,
            src,
            dst,
            protocol: p.protocol(),
            ident: u32::from(p.ident()),
            offset: p.frag_offset(),
            more: p.more_frags(),
            data_offset: l4_offset,
            stated_len: stated,
            data: l4,
        })
    } else {
        None
    };
    let t = Transport {
        frame,
        link,
        version: IpVersion::V4,
        ip_offset,
        ttl: p.ttl(),
        src,
        dst,
        protocol: p.protocol(),
        l4_offset,
        l4,
        stated,
        fragment,
        orig_len,
    };
    t.decode()
}

#[inline]
fn decode_ipv6<'a>(
    frame: &'a [u8],
    link: LinkLayer,
    ip: &'a [u8],
    orig_len: u32,
) -> Result<Decoded<'a>, DecodeError> {
    let ip_offset = link.offset;
    let p = Ipv6Packet::new_checked(ip).map_err(|e| e.shifted(ip_offset))?;
    let upper = p.upper_layer().map_err(|e| e.shifted(ip_offset))?;
    let room = wire_room(orig_len, &link, frame.len());
    // RFC 8200 §3: Payload Length counts extension headers too.
    let total = match u32::from(p.payload_len()) {
        0 => room,
        n => (n + 40).min(room.max(40)),
    };
    let stated = total.saturating_sub(upper.offset as u32);
    let src = IpAddr::V6(p.src_addr());
    let dst = IpAddr::V6(p.dst_addr());
    let l4_offset = ip_offset + upper.offset;
    let end = (ip_offset + total as usize).clamp(l4_offset, frame.len().max(l4_offset));
    let l4 = &frame[l4_offset.min(frame.len())..end.min(frame.len())];
    let fragment = upper.fragment.map(|f| IpFragment {
        version: IpVersion::V6,
        src,
        dst,
        protocol: upper.protocol,
        ident: f.ident,
        offset: f.offset,
        more: f.more,
        data_offset: l4_offset,
        stated_len: stated,
        data: l4,
    });
    let t = Transport {
        frame,
        link,
        version: IpVersion::V6,
        ip_offset,
        ttl: p.hop_limit(),
        src,
        dst,
        protocol: upper.protocol,
        l4_offset,
        l4,
        stated,
        fragment,
        orig_len,
    };
    t.decode()
}

/// Decodes an upper-layer segment that is not inside a frame (a reassembled
/// datagram): `segment` is all of it, as IP stated it. Header offsets in the
/// result are relative to `segment` (`ip_offset` and `tcp_offset` are 0);
/// `frame_len`/`cap_len` go into the packet info as given.
pub fn decode_segment(
    version: IpVersion,
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    segment: &[u8],
    frame_len: u32,
    cap_len: u32,
) -> Result<Decoded<'_>, DecodeError> {
    let network = match version {
        IpVersion::V4 => Network::Ipv4,
        IpVersion::V6 => Network::Ipv6,
    };
    let t = Transport {
        frame: segment,
        link: LinkLayer {
            network,
            offset: 0,
            vlan_tags: 0,
            vlan_id: None,
            pppoe: false,
            mpls_labels: 0,
            end: None,
        },
        version,
        ip_offset: 0,
        ttl: 0,
        src,
        dst,
        protocol,
        l4_offset: 0,
        l4: segment,
        stated: segment.len().min(u32::MAX as usize) as u32,
        fragment: None,
        orig_len: frame_len,
    };
    let mut d = t.decode()?;
    if let Decoded::Tcp(f) = &mut d {
        f.info.cap_len = cap_len;
    }
    Ok(d)
}

/// The IP layer's findings, handed to the TCP step.
struct Transport<'a> {
    frame: &'a [u8],
    link: LinkLayer,
    version: IpVersion,
    ip_offset: usize,
    ttl: u8,
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    l4_offset: usize,
    /// Captured upper-layer bytes, bounded by the stated length.
    l4: &'a [u8],
    /// Upper-layer length as IP states it.
    stated: u32,
    fragment: Option<IpFragment<'a>>,
    orig_len: u32,
}

impl<'a> Transport<'a> {
    #[inline]
    fn decode(self) -> Result<Decoded<'a>, DecodeError> {
        if let Some(f) = self.fragment {
            if f.offset != 0 || f.protocol != IPPROTO_TCP || self.l4.len() < 20 {
                return Ok(Decoded::NotTcp(NotTcp::Fragment(f)));
            }
        }
        if self.protocol != IPPROTO_TCP {
            return Ok(Decoded::NotTcp(NotTcp::Protocol {
                version: self.version,
                protocol: self.protocol,
            }));
        }
        let tcp = match TcpPacket::new_checked(self.l4) {
            Ok(t) => t,
            Err(e) => {
                return Ok(Decoded::NotTcp(NotTcp::MalformedTcp(MalformedTcp {
                    version: self.version,
                    src: self.src,
                    dst: self.dst,
                    ip_offset: self.ip_offset,
                    tcp_offset: self.l4_offset,
                    bytes: self.l4,
                    error: e.shifted(self.l4_offset),
                })))
            }
        };
        let hl = u32::from(tcp.header_len());
        let payload_len = self.stated.saturating_sub(hl);
        // Verifiable when every byte IP states was captured (even if the TCP
        // header claims more than that: the sum then covers what is there).
        let whole = self.l4.len() as u64 == u64::from(self.stated);
        let checksum_status = if self.fragment.is_some() || !whole {
            ChecksumStatus::Unverified
        } else {
            // RFC 9293 §3.1: the pseudo-header's TCP length is header + data.
            let pseudo = checksum::pseudo_header(self.src, self.dst, IPPROTO_TCP, self.stated);
            match checksum::verify(pseudo, self.l4, tcp.checksum()) {
                Verdict::Good => ChecksumStatus::Good,
                Verdict::Bad => ChecksumStatus::Bad,
                Verdict::Partial => ChecksumStatus::Partial,
            }
        };
        let info = TcpPacketInfo {
            number: 0,
            time_ns: 0,
            frame_len: self.orig_len,
            cap_len: self.frame.len().min(u32::MAX as usize) as u32,
            src: self.src,
            dst: self.dst,
            src_port: tcp.src_port(),
            dst_port: tcp.dst_port(),
            seq: tcp.seq_number(),
            ack: tcp.ack_number(),
            flags: tcp.flags(),
            window: tcp.window_len(),
            header_len: tcp.header_len(),
            payload_len,
            checksum: tcp.checksum(),
            checksum_status,
            urgent: tcp.urgent_at(),
            options: tcp.options_summary(),
        };
        Ok(Decoded::Tcp(TcpFrame {
            info,
            link: self.link,
            ip_version: self.version,
            ip_offset: self.ip_offset,
            tcp_offset: self.l4_offset,
            segment_len: self.stated,
            ttl: self.ttl,
            payload: tcp.payload_ref(),
            fragment: self.fragment,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::emit::{build_ethernet_frame, build_ip_packet};
    use crate::wire::{SeqNumber, TcpFlags, TcpOption, TcpRepr};

    fn repr() -> TcpRepr {
        TcpRepr::new(
            1234,
            80,
            SeqNumber(7),
            SeqNumber(9),
            TcpFlags(TcpFlags::ACK | TcpFlags::PSH),
            512,
            vec![
                TcpOption::NoOperation,
                TcpOption::NoOperation,
                TcpOption::Timestamps { tsval: 1, tsecr: 2 },
            ],
        )
    }

    /// An IP packet (no link header) carrying [`repr`] and `payload`.
    fn ip_packet(src: &str, dst: &str, payload: &[u8]) -> Vec<u8> {
        let mut ip = Vec::new();
        build_ip_packet(
            src.parse().unwrap(),
            dst.parse().unwrap(),
            &repr(),
            payload,
            &mut ip,
        )
        .unwrap();
        ip
    }

    fn v4_frame(payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        build_ethernet_frame(
            "10.1.1.1".parse().unwrap(),
            "10.2.2.2".parse().unwrap(),
            &repr(),
            payload,
            &mut f,
        )
        .unwrap();
        f
    }

    fn tcp(d: Result<Decoded<'_>, DecodeError>) -> TcpFrame<'_> {
        match d {
            Ok(Decoded::Tcp(t)) => t,
            other => panic!("expected TCP, got {other:?}"),
        }
    }

    #[test]
    fn offsets_and_fields() {
        let f = v4_frame(b"abcdef");
        let t = tcp(decode_frame(1, &f, f.len() as u32));
        assert_eq!((t.ip_offset, t.tcp_offset), (14, 34));
        assert_eq!(t.info.header_len, 32);
        assert_eq!(t.info.payload_len, 6);
        assert_eq!(t.info.frame_len as usize, f.len());
        assert_eq!(t.info.cap_len as usize, f.len());
        assert_eq!(t.info.seq, SeqNumber(7));
        assert_eq!(t.info.ack, SeqNumber(9));
        assert_eq!(t.info.window, 512);
        assert_eq!(t.ttl, 64);
        assert_eq!(t.payload, b"abcdef");
        assert_eq!(t.info.checksum_status, ChecksumStatus::Good);
        assert_eq!(t.ip_version, IpVersion::V4);
        assert_eq!(t.fragment, None);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut f = v4_frame(b"");
        f.extend_from_slice(&[0; 6]);
        let t = tcp(decode_frame(1, &f, f.len() as u32));
        assert_eq!(t.info.payload_len, 0);
        assert!(t.payload.is_empty());
        assert_eq!(t.info.checksum_status, ChecksumStatus::Good);
    }

    #[test]
    fn snaplen_cut_keeps_stated_length_and_is_unverified() {
        let f = v4_frame(&[0x55; 100]);
        let full = f.len() as u32;
        // Every cut from the end of the TCP fixed header to the full frame.
        for n in 54..f.len() {
            let t = tcp(decode_frame(1, &f[..n], full));
            assert_eq!(t.info.payload_len, 100, "cut {n}");
            assert_eq!(t.info.cap_len as usize, n);
            assert_eq!(
                t.info.checksum_status,
                ChecksumStatus::Unverified,
                "cut {n}"
            );
            assert_eq!(t.payload.len(), n.saturating_sub(66));
        }
    }

    #[test]
    fn every_truncation_names_the_layer() {
        use crate::wire::Layer;
        let f = v4_frame(b"xy");
        for n in 0..34 {
            let e = decode_frame(1, &f[..n], f.len() as u32).unwrap_err();
            let (layer, offset, required) = match n {
                0..=13 => (Layer::Link, 0, 14),
                _ => (Layer::Ipv4, 14, 20),
            };
            assert_eq!(
                e,
                DecodeError::Truncated {
                    layer,
                    offset,
                    required,
                    available: n - offset
                },
                "cut at {n}"
            );
        }
        // A TCP header cut short is reported as malformed TCP, with the ports
        // when they were captured.
        for n in 34..54 {
            match decode_frame(1, &f[..n], f.len() as u32) {
                Ok(Decoded::NotTcp(NotTcp::MalformedTcp(m))) => {
                    assert_eq!(
                        m.error,
                        DecodeError::Truncated {
                            layer: Layer::Tcp,
                            offset: 34,
                            required: 20,
                            available: n - 34
                        }
                    );
                    assert_eq!(m.src_port(), (n >= 36).then_some(1234));
                    assert_eq!(m.dst_port(), (n >= 38).then_some(80));
                    assert_eq!(m.tcp_offset, 34);
                }
                other => panic!("cut at {n}: {other:?}"),
            }
        }
    }

    #[test]
    fn ip_length_shorter_than_tcp_header() {
        // IP says 20 bytes of TCP, the header says 32: a short segment. The
        // sum covers the 20 bytes (tshark reports it bad), tcp.len is absent.
        let mut f = v4_frame(b"");
        f[16..18].copy_from_slice(&40u16.to_be_bytes());
        let t = tcp(decode_frame(1, &f, f.len() as u32));
        assert_eq!(t.segment_len, 20);
        assert_eq!(t.tcp_len(), None);
        assert_eq!(t.info.checksum_status, ChecksumStatus::Bad);
        assert_eq!(t.info.options.timestamps, None);
        // IP says 15 bytes: not even the fixed header.
        f[16..18].copy_from_slice(&35u16.to_be_bytes());
        let d = decode_frame(1, &f, f.len() as u32).unwrap();
        assert!(matches!(d, Decoded::NotTcp(NotTcp::MalformedTcp(m)) if m.bytes.len() == 15));
    }

    #[test]
    fn pppoe_length_bounds_the_ip_datagram() {
        let ip = ip_packet("10.0.0.1", "10.0.0.2", b"123456");
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0x64, 0x11, 0x00, 0x00, 0x01]);
        // PPPoE length: PPP protocol (2) + IP minus the 6 payload bytes.
        f.extend_from_slice(&((ip.len() - 6 + 2) as u16).to_be_bytes());
        f.extend_from_slice(&[0x00, 0x21]);
        f.extend_from_slice(&ip);
        let t = tcp(decode_frame(1, &f, f.len() as u32));
        assert_eq!(t.tcp_len(), Some(0));
        assert_eq!(t.info.payload_len, 0);
        assert_eq!(t.info.checksum_status, ChecksumStatus::Bad);
        assert!(t.link.pppoe);
    }

    #[test]
    fn partial_checksum_is_recognised() {
        let src: IpAddr = "127.0.0.1".parse().unwrap();
        let mut f = Vec::new();
        build_ip_packet(src, src, &repr(), b"data", &mut f).unwrap();
        let seg_len = (f.len() - 20) as u32;
        let p = checksum::fold(checksum::pseudo_header(src, src, 6, seg_len));
        f[36..38].copy_from_slice(&p.to_be_bytes());
        let t = tcp(decode_frame(228, &f, f.len() as u32));
        assert_eq!(t.info.checksum_status, ChecksumStatus::Partial);
        assert_eq!(t.info.checksum_status.tshark_value(), 0);
        f[37] ^= 1;
        let t = tcp(decode_frame(228, &f, f.len() as u32));
        assert_eq!(t.info.checksum_status, ChecksumStatus::Bad);
    }

    #[test]
    fn not_tcp_categories() {
        let mut f = v4_frame(b"");
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(
            decode_frame(1, &f, 60).unwrap(),
            Decoded::NotTcp(NotTcp::Network(Network::Ethertype(0x0806)))
        );
        let mut f = v4_frame(b"");
        f[14 + 9] = 17;
        let d = decode_frame(1, &f, 60).unwrap();
        assert_eq!(
            d,
            Decoded::NotTcp(NotTcp::Protocol {
                version: IpVersion::V4,
                protocol: 17
            })
        );
        let Decoded::NotTcp(n) = d else {
            unreachable!()
        };
        assert_eq!(n.category(), "not-tcp");
        assert_eq!(
            decode_frame(99999, &f, 60).unwrap(),
            Decoded::NotTcp(NotTcp::Network(Network::UnknownLinkType(99999)))
        );
    }

    #[test]
    fn fcs_bits_of_the_linktype_are_ignored() {
        let f = v4_frame(b"");
        tcp(decode_frame(0x3000_0001, &f, f.len() as u32));
    }

    #[test]
    fn ipv4_fragments() {
        let mut f = v4_frame(&[1; 40]);
        // First fragment: MF set, offset 0. TCP header decoded, unverified.
        f[14 + 6] = 0x20;
        let t = tcp(decode_frame(1, &f, f.len() as u32));
        assert_eq!(t.info.checksum_status, ChecksumStatus::Unverified);
        let fr = t.fragment.unwrap();
        assert_eq!((fr.offset, fr.more, fr.protocol), (0, true, 6));
        // Later fragment: not decoded as TCP.
        f[14 + 6] = 0x00;
        f[14 + 7] = 0x05;
        match decode_frame(1, &f, f.len() as u32).unwrap() {
            Decoded::NotTcp(NotTcp::Fragment(fr)) => {
                assert_eq!((fr.offset, fr.more), (40, false));
                assert_eq!(fr.data_offset, 34);
                assert_eq!(fr.data.len(), 72);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ipv6_over_vlan_and_sll() {
        let ip = ip_packet("fe80::1", "fe80::2", b"q");
        let mut vlan = vec![0u8; 12];
        vlan.extend_from_slice(&[0x81, 0x00, 0x00, 0x07, 0x86, 0xdd]);
        vlan.extend_from_slice(&ip);
        let t = tcp(decode_frame(1, &vlan, vlan.len() as u32));
        assert_eq!(
            (t.ip_offset, t.tcp_offset, t.link.vlan_id),
            (18, 58, Some(7))
        );
        assert_eq!(t.info.checksum_status, ChecksumStatus::Good);
        assert_eq!(t.ip_version, IpVersion::V6);
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x86, 0xdd];
        sll.extend_from_slice(&ip);
        let t = tcp(decode_frame(113, &sll, sll.len() as u32));
        assert_eq!(t.tcp_offset, 56);
        let mut null = vec![30, 0, 0, 0];
        null.extend_from_slice(&ip);
        let t = tcp(decode_frame(0, &null, null.len() as u32));
        assert_eq!(t.info.payload_len, 1);
        assert_eq!(t.info.checksum_status, ChecksumStatus::Good);
    }

    #[test]
    fn ipv4_options_move_the_tcp_header() {
        let f = v4_frame(b"opt");
        // Insert a 4-byte option word (NOP NOP NOP EOL) and fix lengths and checksum.
        let mut g = f[..34].to_vec();
        g.extend_from_slice(&[1, 1, 1, 0]);
        g.extend_from_slice(&f[34..]);
        g[14] = 0x46;
        let total = u16::from_be_bytes([g[16], g[17]]) + 4;
        g[16..18].copy_from_slice(&total.to_be_bytes());
        g[24..26].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&g[14..38]);
        g[24..26].copy_from_slice(&c.to_be_bytes());
        let t = tcp(decode_frame(1, &g, g.len() as u32));
        assert_eq!((t.ip_offset, t.tcp_offset), (14, 38));
        assert_eq!(t.info.payload_len, 3);
        assert_eq!(t.info.checksum_status, ChecksumStatus::Good);
        assert!(crate::wire::ipv4::Ipv4Packet::new_checked(&g[14..])
            .unwrap()
            .verify_checksum());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_stays_inside_the_frame(
            lt in proptest::sample::select(vec![0u32, 1, 9, 12, 14, 50, 101, 108, 113, 228, 229, 276, 7]),
            bytes in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..200),
            extra in 0u32..3000,
        ) {
            let orig = bytes.len() as u32 + extra;
            match decode_frame(lt, &bytes, orig) {
                Ok(Decoded::Tcp(t)) => {
                    proptest::prop_assert!(t.tcp_offset + 20 <= bytes.len());
                    proptest::prop_assert!(t.payload.len() as u64 <= u64::from(t.info.payload_len));
                    proptest::prop_assert!(t.info.header_len >= 20);
                }
                Ok(Decoded::NotTcp(NotTcp::MalformedTcp(m))) => {
                    proptest::prop_assert!(m.tcp_offset + m.bytes.len() <= bytes.len());
                }
                Ok(_) => {}
                Err(e) => proptest::prop_assert!(e.offset() <= bytes.len()),
            }
        }

        #[test]
        fn valid_frames_with_random_options_and_payload_decode_exactly(
            opts in proptest::collection::vec(0u8..40, 0..=9),
            payload in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..300),
            v6 in proptest::arbitrary::any::<bool>(),
        ) {
            // Random NOP/MSS/wscale mixes that fit in 40 bytes.
            let mut options = Vec::new();
            let mut len = 0;
            for o in opts {
                let opt = match o % 3 {
                    0 => TcpOption::NoOperation,
                    1 => TcpOption::Mss(u16::from(o) * 100),
                    _ => TcpOption::WindowScale(o % 15),
                };
                if len + opt.wire_len() <= 40 {
                    len += opt.wire_len();
                    options.push(opt);
                }
            }
            let r = TcpRepr::new(5, 6, SeqNumber(7), SeqNumber(8), TcpFlags(TcpFlags::ACK), 9, options);
            let (s, d): (IpAddr, IpAddr) = if v6 {
                ("2001:db8::5".parse().unwrap(), "2001:db8::6".parse().unwrap())
            } else {
                ("10.0.0.5".parse().unwrap(), "10.0.0.6".parse().unwrap())
            };
            let mut f = Vec::new();
            build_ethernet_frame(s, d, &r, &payload, &mut f).unwrap();
            let t = tcp(decode_frame(1, &f, f.len() as u32));
            proptest::prop_assert_eq!(t.info.checksum_status, ChecksumStatus::Good);
            proptest::prop_assert_eq!(t.payload, &payload[..]);
            proptest::prop_assert_eq!(t.info.payload_len as usize, payload.len());
            proptest::prop_assert_eq!(t.info.header_len, r.header_len);
            proptest::prop_assert_eq!(t.info.options.error, None);
        }
    }

    #[test]
    fn zero_ip_total_length_uses_frame_length() {
        let mut f = v4_frame(&[3; 10]);
        f[16..18].copy_from_slice(&[0, 0]);
        let t = tcp(decode_frame(1, &f, f.len() as u32));
        assert_eq!(t.info.payload_len, 10);
    }
}
