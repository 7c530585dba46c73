//! Link layers down to the network header: Ethernet II (IEEE 802.3), 802.1Q
//! VLAN tags and QinQ (802.1ad 0x88a8, and the pre-standard 0x9100/0x9200),
//! PPPoE sessions (RFC 2516), MPLS (RFC 3032), Linux cooked capture v1 and
//! v2, BSD NULL/LOOP, PPP (RFC 1661/1662), Cisco HDLC and raw IP.
//! Link type numbers are tcpdump.org's LINKTYPE_* values.

use super::error::{need, DecodeError, Layer};

/// LINKTYPE_* numbers understood by [`network_layer`].
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const PPP: u32 = 9;
    /// DLT_RAW on most BSDs.
    pub const RAW_12: u32 = 12;
    /// DLT_RAW on OpenBSD.
    pub const RAW_14: u32 = 14;
    pub const PPP_HDLC: u32 = 50;
    /// PPPoE session header without Ethernet (RFC 2516).
    pub const PPP_ETHER: u32 = 51;
    pub const RAW: u32 = 101;
    /// Cisco HDLC: address, control, then an EtherType.
    pub const C_HDLC: u32 = 104;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

/// EtherType values.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    pub const QINQ_OLD_9100: u16 = 0x9100;
    pub const QINQ_OLD_9200: u16 = 0x9200;
    pub const PPPOE_SESSION: u16 = 0x8864;
    pub const MPLS: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
}

/// PPP protocol numbers (RFC 1661 §2, IANA PPP DLL protocol numbers).
pub mod ppp_protocol {
    pub const IPV4: u16 = 0x0021;
    pub const IPV6: u16 = 0x0057;
}

/// Most VLAN tags, MPLS labels and PPPoE headers walked in one frame.
pub const MAX_ENCAPSULATIONS: usize = 8;

/// The network-layer protocol a link header leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    Ipv4,
    Ipv6,
    /// Any other EtherType (ARP, LLDP, ...), or an 802.3 length field (<= 1500).
    Ethertype(u16),
    /// A PPP protocol other than IPv4/IPv6 (LCP, IPCP, ...).
    PppProtocol(u16),
    /// A NULL/LOOP address family other than IPv4/IPv6.
    AddressFamily(u32),
    /// Raw IP whose version nibble is neither 4 nor 6.
    IpVersion(u8),
    /// A link type this decoder does not know.
    UnknownLinkType(u32),
}

/// Where the network header starts and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkLayer {
    pub network: Network,
    /// Offset of the network header in the frame.
    pub offset: usize,
    /// Number of 802.1Q/802.1ad tags passed.
    pub vlan_tags: u8,
    /// Outermost VLAN ID (12 bits), if tagged.
    pub vlan_id: Option<u16>,
    /// True if a PPPoE session header was passed.
    pub pppoe: bool,
    /// Number of MPLS labels passed.
    pub mpls_labels: u8,
    /// End of the network-layer data in the frame, when the link layer
    /// states a length (PPPoE's payload length). Bytes after it are not IP.
    pub end: Option<usize>,
}

impl LinkLayer {
    fn at(network: Network, offset: usize) -> LinkLayer {
        LinkLayer {
            network,
            offset,
            vlan_tags: 0,
            vlan_id: None,
            pppoe: false,
            mpls_labels: 0,
            end: None,
        }
    }
}

fn truncated(layer: Layer, offset: usize, required: usize, data: &[u8]) -> DecodeError {
    DecodeError::Truncated {
        layer,
        offset,
        required,
        available: data.len().saturating_sub(offset),
    }
}

fn be16(d: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([d[i], d[i + 1]])
}

/// Finds the network header of a frame of the given link type. `linktype`
/// is the LINKTYPE_* number with any FCS/flag bits already masked off.
pub fn network_layer(linktype: u32, data: &[u8]) -> Result<LinkLayer, DecodeError> {
    match linktype {
        linktype::ETHERNET => {
            need(data, 14, Layer::Link)?;
            after_ethertype(data, 14, be16(data, 12))
        }
        linktype::LINUX_SLL => {
            // packet type, ARPHRD, address length, 8-byte address, protocol
            need(data, 16, Layer::Link)?;
            after_ethertype(data, 16, be16(data, 14))
        }
        linktype::LINUX_SLL2 => {
            // protocol, reserved, ifindex, ARPHRD, packet type, addr len, addr
            need(data, 20, Layer::Link)?;
            after_ethertype(data, 20, be16(data, 0))
        }
        linktype::NULL | linktype::LOOP => {
            need(data, 4, Layer::Link)?;
            let be = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
            let le = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            // NULL is in the writer's byte order; LOOP is big-endian. A family
            // is small, so whichever reading is small is the right one.
            let family = if linktype == linktype::LOOP || be <= 0xffff {
                be
            } else {
                le
            };
            let network = match family {
                2 => Network::Ipv4,
                // AF_INET6: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30.
                10 | 24 | 28 | 30 => Network::Ipv6,
                f => Network::AddressFamily(f),
            };
            Ok(LinkLayer::at(network, 4))
        }
        linktype::PPP | linktype::PPP_HDLC => {
            // RFC 1662 §3.1: optional address 0xff and control 0x03.
            let mut off = 0;
            if data.len() >= 2 && data[0] == 0xff && data[1] == 0x03 {
                off = 2;
            }
            ppp_protocol_field(data, off)
        }
        linktype::C_HDLC => {
            need(data, 4, Layer::Link)?;
            after_ethertype(data, 4, be16(data, 2))
        }
        linktype::PPP_ETHER => after_ethertype(data, 0, ethertype::PPPOE_SESSION),
        linktype::RAW | linktype::RAW_12 | linktype::RAW_14 => {
            need(data, 1, Layer::Link)?;
            let network = match data[0] >> 4 {
                4 => Network::Ipv4,
                6 => Network::Ipv6,
                v => Network::IpVersion(v),
            };
            Ok(LinkLayer::at(network, 0))
        }
        linktype::IPV4 => Ok(LinkLayer::at(Network::Ipv4, 0)),
        linktype::IPV6 => Ok(LinkLayer::at(Network::Ipv6, 0)),
        other => Ok(LinkLayer::at(Network::UnknownLinkType(other), 0)),
    }
}

/// RFC 1661 §2: the protocol field is one byte if its value is odd
/// (protocol-field compression), otherwise two.
fn ppp_protocol_field(data: &[u8], off: usize) -> Result<LinkLayer, DecodeError> {
    if data.len() <= off {
        return Err(truncated(Layer::Link, off, 1, data));
    }
    let (proto, len) = if data[off] & 1 == 1 {
        (u16::from(data[off]), 1)
    } else {
        if data.len() < off + 2 {
            return Err(truncated(Layer::Link, off, 2, data));
        }
        (be16(data, off), 2)
    };
    let network = match proto {
        ppp_protocol::IPV4 => Network::Ipv4,
        ppp_protocol::IPV6 => Network::Ipv6,
        p => Network::PppProtocol(p),
    };
    Ok(LinkLayer::at(network, off + len))
}

/// Follows an EtherType through VLAN tags, PPPoE and MPLS to IP.
fn after_ethertype(data: &[u8], mut off: usize, mut etype: u16) -> Result<LinkLayer, DecodeError> {
    let mut l = LinkLayer::at(Network::Ethertype(etype), off);
    for _ in 0..MAX_ENCAPSULATIONS {
        match etype {
            ethertype::IPV4 => {
                l.network = Network::Ipv4;
                l.offset = off;
                return Ok(l);
            }
            ethertype::IPV6 => {
                l.network = Network::Ipv6;
                l.offset = off;
                return Ok(l);
            }
            ethertype::VLAN
            | ethertype::QINQ
            | ethertype::QINQ_OLD_9100
            | ethertype::QINQ_OLD_9200 => {
                // IEEE 802.1Q: 2 bytes TCI (PCP, DEI, 12-bit VID), 2 bytes type.
                if data.len() < off + 4 {
                    return Err(truncated(Layer::Vlan, off, 4, data));
                }
                if l.vlan_id.is_none() {
                    l.vlan_id = Some(be16(data, off) & 0x0fff);
                }
                l.vlan_tags += 1;
                etype = be16(data, off + 2);
                off += 4;
            }
            ethertype::PPPOE_SESSION => {
                // RFC 2516 §4: ver/type, code, session id, length, then PPP.
                if data.len() < off + 8 {
                    return Err(truncated(Layer::Pppoe, off, 8, data));
                }
                l.pppoe = true;
                // The payload length counts the PPP protocol field too.
                l.end = Some(off + 6 + usize::from(be16(data, off + 4)));
                let proto = be16(data, off + 6);
                l.offset = off + 8;
                l.network = match proto {
                    ppp_protocol::IPV4 => Network::Ipv4,
                    ppp_protocol::IPV6 => Network::Ipv6,
                    p => Network::PppProtocol(p),
                };
                return Ok(l);
            }
            ethertype::MPLS | ethertype::MPLS_MULTICAST => {
                // RFC 3032 §2.1: 20-bit label, TC, S (bottom of stack), TTL.
                loop {
                    if data.len() < off + 4 {
                        return Err(truncated(Layer::Mpls, off, 4, data));
                    }
                    let bottom = data[off + 2] & 1 != 0;
                    off += 4;
                    l.mpls_labels = l.mpls_labels.saturating_add(1);
                    if bottom {
                        break;
                    }
                    if usize::from(l.mpls_labels) >= MAX_ENCAPSULATIONS {
                        return Err(DecodeError::Invalid {
                            layer: Layer::Mpls,
                            offset: off,
                            field: "label stack depth",
                            value: u32::from(l.mpls_labels),
                        });
                    }
                }
                // No type field below MPLS: IP is recognised by its version.
                l.offset = off;
                l.network = match data.get(off).map(|b| b >> 4) {
                    Some(4) => Network::Ipv4,
                    Some(6) => Network::Ipv6,
                    Some(v) => Network::IpVersion(v),
                    None => return Err(truncated(Layer::Ipv4, off, 1, data)),
                };
                return Ok(l);
            }
            other => {
                l.network = Network::Ethertype(other);
                l.offset = off;
                return Ok(l);
            }
        }
    }
    Err(DecodeError::Invalid {
        layer: Layer::Vlan,
        offset: off,
        field: "encapsulation depth over limit, ethertype",
        value: u32::from(etype),
    })
}

/// Writes a 14-byte Ethernet II header.
pub fn emit_ethernet(buf: &mut [u8], dst: [u8; 6], src: [u8; 6], etype: u16) {
    buf[0..6].copy_from_slice(&dst);
    buf[6..12].copy_from_slice(&src);
    buf[12..14].copy_from_slice(&etype.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(etype: u16, rest: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        emit_ethernet(&mut f, [2; 6], [4; 6], etype);
        f.extend_from_slice(rest);
        f
    }

    #[test]
    fn ethernet_ipv4_and_ipv6() {
        let f = eth(0x0800, &[0x45]);
        assert_eq!(
            network_layer(1, &f).unwrap(),
            LinkLayer::at(Network::Ipv4, 14)
        );
        let f = eth(0x86dd, &[0x60]);
        assert_eq!(network_layer(1, &f).unwrap().network, Network::Ipv6);
        let f = eth(0x0806, &[]);
        assert_eq!(
            network_layer(1, &f).unwrap().network,
            Network::Ethertype(0x0806)
        );
        for n in 0..14 {
            assert_eq!(
                network_layer(1, &f[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Link,
                    offset: 0,
                    required: 14,
                    available: n
                }
            );
        }
    }

    #[test]
    fn vlan_and_qinq() {
        let f = eth(0x8100, &[0x20, 0x64, 0x08, 0x00, 0x45]);
        let l = network_layer(1, &f).unwrap();
        assert_eq!(
            (l.network, l.offset, l.vlan_tags, l.vlan_id),
            (Network::Ipv4, 18, 1, Some(100))
        );
        for outer in [0x88a8u16, 0x9100, 0x9200, 0x8100] {
            let f = eth(
                outer,
                &[0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x86, 0xdd, 0x60],
            );
            let l = network_layer(1, &f).unwrap();
            assert_eq!(
                (l.network, l.offset, l.vlan_tags, l.vlan_id),
                (Network::Ipv6, 22, 2, Some(10))
            );
            // every cut inside the tags
            for n in 14..22 {
                let e = network_layer(1, &f[..n]).unwrap_err();
                assert_eq!(e.layer(), Layer::Vlan, "cut at {n}");
                assert!(matches!(e, DecodeError::Truncated { required: 4, .. }));
            }
        }
        // Unbounded stacks stop with an error.
        let mut f = eth(0x8100, &[]);
        for _ in 0..20 {
            f.extend_from_slice(&[0, 1, 0x81, 0x00]);
        }
        assert!(matches!(
            network_layer(1, &f),
            Err(DecodeError::Invalid {
                layer: Layer::Vlan,
                ..
            })
        ));
    }

    #[test]
    fn pppoe_over_qinq() {
        let f = eth(
            0x88a8,
            &[
                0, 1, 0x81, 0x00, 0, 2, 0x88, 0x64, 0x11, 0x00, 0x12, 0x34, 0x05, 0xd4, 0x00, 0x21,
                0x45,
            ],
        );
        let l = network_layer(1, &f).unwrap();
        assert_eq!(
            (l.network, l.offset, l.vlan_tags, l.pppoe),
            (Network::Ipv4, 30, 2, true)
        );
        let f = eth(0x8864, &[0x11, 0, 0, 1, 0, 2, 0xc0, 0x21]);
        assert_eq!(
            network_layer(1, &f).unwrap().network,
            Network::PppProtocol(0xc021)
        );
        for n in 14..22 {
            assert_eq!(network_layer(1, &f[..n]).unwrap_err().layer(), Layer::Pppoe);
        }
    }

    #[test]
    fn mpls() {
        let f = eth(0x8847, &[0, 0, 0x10, 64, 0, 0, 0x11, 64, 0x45]);
        let l = network_layer(1, &f).unwrap();
        assert_eq!((l.network, l.offset, l.mpls_labels), (Network::Ipv4, 22, 2));
        assert_eq!(network_layer(1, &f[..20]).unwrap_err().layer(), Layer::Mpls);
    }

    #[test]
    fn linux_sll_and_sll2() {
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00, 0x45];
        assert_eq!(
            network_layer(113, &sll).unwrap(),
            LinkLayer::at(Network::Ipv4, 16)
        );
        sll[14..16].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(network_layer(113, &sll).unwrap().network, Network::Ipv6);
        for n in 0..16 {
            assert!(matches!(
                network_layer(113, &sll[..n]),
                Err(DecodeError::Truncated { required: 16, .. })
            ));
        }
        let mut sll2 = vec![
            0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x60,
        ];
        assert_eq!(
            network_layer(276, &sll2).unwrap(),
            LinkLayer::at(Network::Ipv6, 20)
        );
        sll2[0..2].copy_from_slice(&[0x81, 0x00]);
        sll2.truncate(20);
        sll2.extend_from_slice(&[0, 5, 0x08, 0x00, 0x45]);
        let l = network_layer(276, &sll2).unwrap();
        assert_eq!(
            (l.network, l.offset, l.vlan_id),
            (Network::Ipv4, 24, Some(5))
        );
        for n in 0..20 {
            assert!(matches!(
                network_layer(276, &sll2[..n]),
                Err(DecodeError::Truncated { required: 20, .. })
            ));
        }
    }

    #[test]
    fn null_and_loop_in_both_byte_orders() {
        let cases: &[(u32, [u8; 4], Network)] = &[
            (0, [2, 0, 0, 0], Network::Ipv4),
            (0, [0, 0, 0, 2], Network::Ipv4),
            (0, [30, 0, 0, 0], Network::Ipv6),
            (0, [0, 0, 0, 24], Network::Ipv6),
            (0, [28, 0, 0, 0], Network::Ipv6),
            (0, [10, 0, 0, 0], Network::Ipv6),
            (0, [7, 0, 0, 0], Network::AddressFamily(7)),
            (108, [0, 0, 0, 2], Network::Ipv4),
            (108, [0, 0, 0, 30], Network::Ipv6),
        ];
        for (lt, hdr, want) in cases {
            assert_eq!(
                network_layer(*lt, hdr).unwrap(),
                LinkLayer::at(*want, 4),
                "{lt} {hdr:?}"
            );
        }
        for n in 0..4 {
            assert!(network_layer(0, &[2, 0, 0, 0][..n]).is_err());
        }
    }

    #[test]
    fn ppp_variants() {
        assert_eq!(
            network_layer(9, &[0xff, 0x03, 0x00, 0x21, 0x45]).unwrap(),
            LinkLayer::at(Network::Ipv4, 4)
        );
        assert_eq!(
            network_layer(9, &[0x00, 0x57, 0x60]).unwrap(),
            LinkLayer::at(Network::Ipv6, 2)
        );
        assert_eq!(
            network_layer(50, &[0xff, 0x03, 0x21, 0x45]).unwrap(),
            LinkLayer::at(Network::Ipv4, 3)
        );
        assert_eq!(
            network_layer(9, &[0xc0, 0x21]).unwrap().network,
            Network::PppProtocol(0xc021)
        );
        assert!(network_layer(9, &[]).is_err());
        assert!(network_layer(9, &[0xff, 0x03, 0x00]).is_err());
    }

    #[test]
    fn cisco_hdlc_and_bare_pppoe() {
        assert_eq!(
            network_layer(104, &[0x0f, 0x00, 0x08, 0x00, 0x45]).unwrap(),
            LinkLayer::at(Network::Ipv4, 4)
        );
        for n in 0..4 {
            assert!(network_layer(104, &[0x0f, 0x00, 0x08, 0x00][..n]).is_err());
        }
        let l = network_layer(51, &[0x11, 0, 0, 1, 0, 42, 0x00, 0x57, 0x60]).unwrap();
        assert_eq!(
            (l.network, l.offset, l.pppoe, l.end),
            (Network::Ipv6, 8, true, Some(48))
        );
        assert_eq!(
            network_layer(51, &[0x11, 0, 0]).unwrap_err().layer(),
            Layer::Pppoe
        );
    }

    #[test]
    fn raw_ip() {
        for lt in [101, 12, 14] {
            assert_eq!(network_layer(lt, &[0x45]).unwrap().network, Network::Ipv4);
            assert_eq!(network_layer(lt, &[0x60]).unwrap().network, Network::Ipv6);
            assert_eq!(
                network_layer(lt, &[0x10]).unwrap().network,
                Network::IpVersion(1)
            );
            assert!(network_layer(lt, &[]).is_err());
        }
        assert_eq!(network_layer(228, &[]).unwrap().network, Network::Ipv4);
        assert_eq!(network_layer(229, &[]).unwrap().network, Network::Ipv6);
        assert_eq!(
            network_layer(147, &[1, 2]).unwrap().network,
            Network::UnknownLinkType(147)
        );
    }
}
