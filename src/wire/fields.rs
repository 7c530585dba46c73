//! A frame's header fields with their byte ranges, names (tshark's where it
//! has one) and values, for hex views that mark each field. Not the hot
//! path: it allocates. Fields that share bytes (IPv4 version and header
//! length, TCP data offset and flags) get overlapping ranges.

use super::decode::LINKTYPE_MASK;
use super::error::Layer;
use super::ipv4::Ipv4Packet;
use super::ipv6::{next_header, Ipv6Packet};
use super::link::{ethertype, linktype, network_layer, Network};
use super::tcp::{kind, TcpPacket};
use core::ops::Range;

/// One header field: where it is in the frame and what it says.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FieldSpan {
    pub layer: Layer,
    /// tshark's field name where there is one (`tcp.srcport`), else a name
    /// in the same style.
    pub name: &'static str,
    /// Byte range in the frame.
    pub range: Range<usize>,
    /// The value as read in network byte order, formatted for people.
    pub value_text: String,
}

struct Map<'a> {
    data: &'a [u8],
    out: Vec<FieldSpan>,
}

impl Map<'_> {
    /// Adds a field if its bytes were captured; returns whether they were.
    fn add(&mut self, layer: Layer, name: &'static str, r: Range<usize>, value: String) -> bool {
        if r.end > self.data.len() || r.start > r.end {
            return false;
        }
        self.out.push(FieldSpan {
            layer,
            name,
            range: r,
            value_text: value,
        });
        true
    }
    fn u8(&self, i: usize) -> u8 {
        self.data[i]
    }
    fn u16(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.data[i], self.data[i + 1]])
    }
    fn u32(&self, i: usize) -> u32 {
        let d = self.data;
        u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]])
    }
    fn has(&self, end: usize) -> bool {
        end <= self.data.len()
    }
}

fn mac(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Lists the header fields of a frame, layer by layer, as far as they were
/// captured and make sense. Never panics; stops at the first layer that does
/// not decode.
pub fn field_map(linktype: u32, data: &[u8]) -> Vec<FieldSpan> {
    let mut m = Map {
        data,
        out: Vec::new(),
    };
    let lt = linktype & LINKTYPE_MASK;
    let Ok(link) = network_layer(lt, data) else {
        link_fields(&mut m, lt, data.len());
        return m.out;
    };
    link_fields(&mut m, lt, link.offset);
    let ip = link.offset;
    let (proto, l4, l4_end) = match link.network {
        Network::Ipv4 => match ipv4_fields(&mut m, ip) {
            Some(x) => x,
            None => return m.out,
        },
        Network::Ipv6 => match ipv6_fields(&mut m, ip) {
            Some(x) => x,
            None => return m.out,
        },
        _ => return m.out,
    };
    if proto == 6 {
        tcp_fields(&mut m, l4, l4_end.min(data.len()));
    }
    m.out
}

/// Link-layer fields up to `end` (the network header's offset).
fn link_fields(m: &mut Map<'_>, lt: u32, end: usize) {
    let l = Layer::Link;
    let mut etype_at = None;
    match lt {
        linktype::ETHERNET if m.has(14) => {
            m.add(l, "eth.dst", 0..6, mac(&m.data[0..6]));
            m.add(l, "eth.src", 6..12, mac(&m.data[6..12]));
            etype_at = Some(12);
        }
        linktype::LINUX_SLL if m.has(16) => {
            m.add(l, "sll.pkttype", 0..2, m.u16(0).to_string());
            m.add(l, "sll.hatype", 2..4, m.u16(2).to_string());
            m.add(l, "sll.halen", 4..6, m.u16(4).to_string());
            let n = usize::from(m.u16(4)).min(8);
            m.add(l, "sll.src", 6..14, mac(&m.data[6..6 + n]));
            etype_at = Some(14);
        }
        linktype::LINUX_SLL2 if m.has(20) => {
            m.add(l, "sll.etype", 0..2, format!("0x{:04x}", m.u16(0)));
            m.add(l, "sll.reserved", 2..4, m.u16(2).to_string());
            m.add(l, "sll.ifindex", 4..8, m.u32(4).to_string());
            m.add(l, "sll.hatype", 8..10, m.u16(8).to_string());
            m.add(l, "sll.pkttype", 10..11, m.u8(10).to_string());
            m.add(l, "sll.halen", 11..12, m.u8(11).to_string());
            let n = usize::from(m.u8(11)).min(8);
            m.add(l, "sll.src", 12..20, mac(&m.data[12..12 + n]));
            vlan_fields(m, 20, m.u16(0), end);
        }
        linktype::C_HDLC if m.has(4) => {
            m.add(l, "chdlc.address", 0..1, format!("0x{:02x}", m.u8(0)));
            m.add(l, "chdlc.control", 1..2, format!("0x{:02x}", m.u8(1)));
            etype_at = Some(2);
        }
        linktype::PPP_ETHER => vlan_fields(m, 0, ethertype::PPPOE_SESSION, end),
        linktype::NULL | linktype::LOOP if m.has(4) => {
            m.add(l, "null.family", 0..4, hex(&m.data[0..4]));
        }
        linktype::PPP | linktype::PPP_HDLC => {
            if m.has(2) && m.data[0] == 0xff && m.data[1] == 0x03 {
                m.add(l, "ppp.address", 0..1, "0xff".into());
                m.add(l, "ppp.control", 1..2, "0x03".into());
            }
            if end >= 1 {
                let start = if end >= 3 && m.data[0] == 0xff { 2 } else { 0 };
                m.add(
                    l,
                    "ppp.protocol",
                    start..end,
                    hex(&m.data[start..end.min(m.data.len())]),
                );
            }
        }
        _ => {}
    }
    if let Some(at) = etype_at {
        let t = m.u16(at);
        m.add(l, "eth.type", at..at + 2, format!("0x{t:04x}"));
        vlan_fields(m, at + 2, t, end);
    }
}

/// VLAN tags and PPPoE between an EtherType at `off - 2` and the network header.
fn vlan_fields(m: &mut Map<'_>, mut off: usize, mut t: u16, end: usize) {
    while off < end && m.has(off + 4) {
        match t {
            ethertype::VLAN
            | ethertype::QINQ
            | ethertype::QINQ_OLD_9100
            | ethertype::QINQ_OLD_9200 => {
                let tci = m.u16(off);
                m.add(
                    Layer::Vlan,
                    "vlan.priority",
                    off..off + 1,
                    (tci >> 13).to_string(),
                );
                m.add(
                    Layer::Vlan,
                    "vlan.id",
                    off..off + 2,
                    (tci & 0x0fff).to_string(),
                );
                t = m.u16(off + 2);
                m.add(
                    Layer::Vlan,
                    "vlan.etype",
                    off + 2..off + 4,
                    format!("0x{t:04x}"),
                );
                off += 4;
            }
            ethertype::PPPOE_SESSION if m.has(off + 8) => {
                let p = Layer::Pppoe;
                m.add(
                    p,
                    "pppoe.version_type",
                    off..off + 1,
                    format!("0x{:02x}", m.u8(off)),
                );
                m.add(
                    p,
                    "pppoe.code",
                    off + 1..off + 2,
                    format!("0x{:02x}", m.u8(off + 1)),
                );
                m.add(
                    p,
                    "pppoes.session_id",
                    off + 2..off + 4,
                    format!("0x{:04x}", m.u16(off + 2)),
                );
                m.add(
                    p,
                    "pppoe.payload_length",
                    off + 4..off + 6,
                    m.u16(off + 4).to_string(),
                );
                m.add(
                    p,
                    "ppp.protocol",
                    off + 6..off + 8,
                    format!("0x{:04x}", m.u16(off + 6)),
                );
                return;
            }
            ethertype::MPLS | ethertype::MPLS_MULTICAST => {
                while off + 4 <= end && m.has(off + 4) {
                    let e = m.u32(off);
                    m.add(
                        Layer::Mpls,
                        "mpls.label",
                        off..off + 3,
                        (e >> 12).to_string(),
                    );
                    m.add(
                        Layer::Mpls,
                        "mpls.bottom",
                        off + 2..off + 3,
                        ((e >> 8) & 1).to_string(),
                    );
                    m.add(
                        Layer::Mpls,
                        "mpls.ttl",
                        off + 3..off + 4,
                        (e & 0xff).to_string(),
                    );
                    off += 4;
                }
                return;
            }
            _ => return,
        }
    }
}

/// IPv4 fields; returns (protocol, upper-layer offset, upper-layer end).
fn ipv4_fields(m: &mut Map<'_>, o: usize) -> Option<(u8, usize, usize)> {
    let p = Ipv4Packet::new_checked(&m.data[o.min(m.data.len())..]).ok()?;
    let l = Layer::Ipv4;
    let hl = p.header_len();
    m.add(l, "ip.version", o..o + 1, "4".into());
    m.add(l, "ip.hdr_len", o..o + 1, hl.to_string());
    m.add(
        l,
        "ip.dsfield",
        o + 1..o + 2,
        format!("0x{:02x}", p.dscp_ecn()),
    );
    m.add(l, "ip.len", o + 2..o + 4, p.total_len().to_string());
    m.add(l, "ip.id", o + 4..o + 6, format!("0x{:04x}", p.ident()));
    let flags = m.u8(o + 6) >> 5;
    m.add(l, "ip.flags", o + 6..o + 7, format!("0x{flags:x}"));
    m.add(
        l,
        "ip.frag_offset",
        o + 6..o + 8,
        p.frag_offset().to_string(),
    );
    m.add(l, "ip.ttl", o + 8..o + 9, p.ttl().to_string());
    m.add(l, "ip.proto", o + 9..o + 10, p.protocol().to_string());
    m.add(
        l,
        "ip.checksum",
        o + 10..o + 12,
        format!("0x{:04x}", p.checksum()),
    );
    m.add(l, "ip.src", o + 12..o + 16, p.src_addr().to_string());
    m.add(l, "ip.dst", o + 16..o + 20, p.dst_addr().to_string());
    if hl > 20 {
        m.add(l, "ip.options", o + 20..o + hl, hex(p.options()));
    }
    let end = o + usize::from(p.total_len()).max(hl);
    // Only a first fragment starts with the TCP header.
    let proto = if p.frag_offset() == 0 {
        p.protocol()
    } else {
        0
    };
    Some((proto, o + hl, end))
}

/// IPv6 fields and extension headers; returns (protocol, offset, end).
fn ipv6_fields(m: &mut Map<'_>, o: usize) -> Option<(u8, usize, usize)> {
    let p = Ipv6Packet::new_checked(&m.data[o.min(m.data.len())..]).ok()?;
    let l = Layer::Ipv6;
    m.add(l, "ipv6.version", o..o + 1, "6".into());
    m.add(
        l,
        "ipv6.tclass",
        o..o + 2,
        format!("0x{:02x}", p.traffic_class()),
    );
    m.add(
        l,
        "ipv6.flow",
        o + 1..o + 4,
        format!("0x{:05x}", p.flow_label()),
    );
    m.add(l, "ipv6.plen", o + 4..o + 6, p.payload_len().to_string());
    m.add(l, "ipv6.nxt", o + 6..o + 7, p.next_header().to_string());
    m.add(l, "ipv6.hlim", o + 7..o + 8, p.hop_limit().to_string());
    m.add(l, "ipv6.src", o + 8..o + 24, p.src_addr().to_string());
    m.add(l, "ipv6.dst", o + 24..o + 40, p.dst_addr().to_string());
    let up = p.upper_layer().ok()?;
    // Each extension header between the fixed header and the upper layer.
    let mut off = 40;
    let mut nh = p.next_header();
    while off < up.offset {
        let a = o + off;
        let (name, len) = match nh {
            next_header::FRAGMENT => ("ipv6.fragment", 8),
            next_header::AH => ("ipv6.ah", (usize::from(m.u8(a + 1)) + 2) * 4),
            next_header::HOP_BY_HOP => ("ipv6.hopopts", (usize::from(m.u8(a + 1)) + 1) * 8),
            next_header::ROUTING => ("ipv6.routing", (usize::from(m.u8(a + 1)) + 1) * 8),
            next_header::DEST_OPTS => ("ipv6.dstopts", (usize::from(m.u8(a + 1)) + 1) * 8),
            _ => ("ipv6.ext", (usize::from(m.u8(a + 1)) + 1) * 8),
        };
        let next = m.u8(a);
        m.add(
            Layer::Ipv6Extension,
            name,
            a..a + len,
            format!("next header {next}"),
        );
        nh = next;
        off += len;
    }
    let end = o + 40 + usize::from(p.payload_len());
    let first = up.fragment.is_none_or(|f| f.offset == 0);
    let proto = if first { up.protocol } else { 0 };
    Some((proto, o + up.offset, end))
}

fn flag_names(f: u16) -> String {
    const NAMES: [(u16, &str); 10] = [
        (0xe00, "Reserved"),
        (0x100, "AE"),
        (0x080, "CWR"),
        (0x040, "ECE"),
        (0x020, "URG"),
        (0x010, "ACK"),
        (0x008, "PSH"),
        (0x004, "RST"),
        (0x002, "SYN"),
        (0x001, "FIN"),
    ];
    let set: Vec<&str> = NAMES
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| *n)
        .collect();
    format!("0x{f:03x} ({})", set.join(", "))
}

/// TCP fields, options one by one, then the payload span.
fn tcp_fields(m: &mut Map<'_>, o: usize, end: usize) {
    let l = Layer::Tcp;
    let seg = &m.data[o.min(m.data.len())..end.max(o).min(m.data.len())];
    let Ok(t) = TcpPacket::new_checked(seg) else {
        if seg.len() >= 2 {
            m.add(l, "tcp.srcport", o..o + 2, m.u16(o).to_string());
        }
        if seg.len() >= 4 {
            m.add(l, "tcp.dstport", o + 2..o + 4, m.u16(o + 2).to_string());
        }
        return;
    };
    m.add(l, "tcp.srcport", o..o + 2, t.src_port().to_string());
    m.add(l, "tcp.dstport", o + 2..o + 4, t.dst_port().to_string());
    m.add(l, "tcp.seq_raw", o + 4..o + 8, t.seq_number().0.to_string());
    m.add(
        l,
        "tcp.ack_raw",
        o + 8..o + 12,
        t.ack_number().0.to_string(),
    );
    m.add(l, "tcp.hdr_len", o + 12..o + 13, t.header_len().to_string());
    m.add(l, "tcp.flags", o + 12..o + 14, flag_names(t.flags().0));
    m.add(
        l,
        "tcp.window_size_value",
        o + 14..o + 16,
        t.window_len().to_string(),
    );
    m.add(
        l,
        "tcp.checksum",
        o + 16..o + 18,
        format!("0x{:04x}", t.checksum()),
    );
    m.add(
        l,
        "tcp.urgent_pointer",
        o + 18..o + 20,
        t.urgent_at().to_string(),
    );
    let opts = t.options();
    let base = o + 20;
    let mut i = 0;
    while i < opts.len() {
        let k = opts[i];
        let a = base + i;
        if k == kind::EOL {
            m.add(
                l,
                "tcp.option_kind.eol",
                a..base + opts.len(),
                "end of option list".into(),
            );
            break;
        }
        if k == kind::NOP {
            m.add(l, "tcp.options.nop", a..a + 1, "no-operation".into());
            i += 1;
            continue;
        }
        let Some(&len) = opts.get(i + 1) else {
            m.add(l, "tcp.option_kind", a..a + 1, format!("{k} (no length)"));
            break;
        };
        let len = usize::from(len);
        if len < 2 || i + len > opts.len() {
            let n = opts.len() - i;
            m.add(
                l,
                "tcp.option_kind",
                a..a + n,
                format!("{k} (bad length {len})"),
            );
            break;
        }
        let d = &opts[i + 2..i + len];
        let r = a..a + len;
        let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        match (k, d.len()) {
            (kind::MSS, 2) => m.add(
                l,
                "tcp.options.mss_val",
                r,
                u16::from_be_bytes([d[0], d[1]]).to_string(),
            ),
            (kind::WSCALE, 1) => m.add(l, "tcp.options.wscale.shift", r, d[0].to_string()),
            (kind::SACK_PERM, 0) => m.add(l, "tcp.options.sack_perm", r, "permitted".into()),
            (kind::SACK, n) if n % 8 == 0 && n > 0 => {
                let blocks: Vec<String> = d
                    .chunks_exact(8)
                    .map(|c| format!("{}-{}", be32(&c[0..4]), be32(&c[4..8])))
                    .collect();
                m.add(l, "tcp.options.sack", r, blocks.join(" "))
            }
            (kind::TIMESTAMPS, 8) => m.add(
                l,
                "tcp.options.timestamp",
                r,
                format!("TSval {} TSecr {}", be32(&d[0..4]), be32(&d[4..8])),
            ),
            (kind::FAST_OPEN, _) => m.add(l, "tcp.options.tfo", r, format!("cookie {}", hex(d))),
            (kind::MPTCP, _) => m.add(l, "tcp.options.mptcp", r, hex(d)),
            _ => m.add(l, "tcp.option_kind", r, format!("{k} data {}", hex(d))),
        };
        i += len;
    }
    let hl = usize::from(t.header_len());
    if seg.len() > hl {
        m.add(
            l,
            "tcp.payload",
            o + hl..o + seg.len(),
            format!("{} bytes", seg.len() - hl),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::emit::build_ethernet_frame;
    use crate::wire::{SeqNumber, TcpFlags, TcpOption, TcpRepr};

    fn frame() -> Vec<u8> {
        let r = TcpRepr::new(
            40000,
            443,
            SeqNumber(1),
            SeqNumber(2),
            TcpFlags(TcpFlags::SYN | TcpFlags::ACK),
            1000,
            vec![
                TcpOption::Mss(1460),
                TcpOption::NoOperation,
                TcpOption::WindowScale(7),
            ],
        );
        let mut f = Vec::new();
        build_ethernet_frame(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            &r,
            b"hi",
            &mut f,
        )
        .unwrap();
        f
    }

    fn find<'a>(v: &'a [FieldSpan], name: &str) -> &'a FieldSpan {
        v.iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no {name} in {v:#?}"))
    }

    #[test]
    fn ethernet_ipv4_tcp_fields() {
        let f = frame();
        let v = field_map(1, &f);
        assert_eq!(find(&v, "eth.type").value_text, "0x0800");
        assert_eq!(find(&v, "ip.src").range, 26..30);
        assert_eq!(find(&v, "ip.src").value_text, "10.0.0.1");
        assert_eq!(find(&v, "tcp.srcport").range, 34..36);
        assert_eq!(find(&v, "tcp.srcport").value_text, "40000");
        assert_eq!(find(&v, "tcp.flags").value_text, "0x012 (ACK, SYN)");
        assert_eq!(find(&v, "tcp.options.mss_val").range, 54..58);
        assert_eq!(find(&v, "tcp.options.mss_val").value_text, "1460");
        assert_eq!(find(&v, "tcp.options.wscale.shift").value_text, "7");
        assert_eq!(find(&v, "tcp.options.nop").range, 58..59);
        assert_eq!(find(&v, "tcp.payload").range, 62..64);
        assert_eq!(f.len(), 64);
        // Every span lies inside the frame and names its layer.
        for s in &v {
            assert!(s.range.end <= f.len(), "{s:?}");
        }
    }

    #[test]
    fn never_panics_on_any_prefix_or_garbage() {
        let f = frame();
        for n in 0..f.len() {
            for lt in [0, 1, 9, 51, 101, 104, 113, 228, 229, 276] {
                for s in field_map(lt, &f[..n]) {
                    assert!(s.range.end <= n);
                }
            }
        }
        let junk: Vec<u8> = (0..200u32).map(|i| (i * 37 % 256) as u8).collect();
        for lt in [0, 1, 9, 12, 50, 51, 101, 104, 108, 113, 228, 229, 276] {
            let _ = field_map(lt, &junk);
        }
    }
}
