//! tshark's field interface (`-T fields -e NAME`): the table of field names
//! tcpsim knows, each with a formatter that writes the value exactly as
//! tshark 4.0 prints it (`0x0002` for tcp.flags, `··········S·` for
//! tcp.flags.str, nanosecond epoch times, `|` between repeated values).
//!
//! A formatter receives a [`FieldCtx`]: the packet's [`TcpPacketInfo`], its
//! timestamp as the file states it and, for stream-level fields
//! (tcp.stream, relative sequence numbers, tcp.analysis.*), the analyzer's
//! per-packet output. Formatters write into a byte buffer without
//! allocating.

use crate::pcap::Timestamp;
use crate::track::PacketAnalysis;
use crate::wire::{TcpFlags, TcpPacketInfo};
use std::io::Write;
use std::net::IpAddr;

/// Everything a field formatter may read about one packet.
#[derive(Clone, Copy, Debug)]
pub struct FieldCtx<'a> {
    pub info: &'a TcpPacketInfo,
    /// The capture timestamp as read (tshark prints out-of-range fractions as they are).
    pub timestamp: Timestamp,
    /// tshark's tcp.len: `None` when the TCP header claims more bytes than
    /// the segment IP states ("short segment"), as tshark then shows none.
    pub tcp_len: Option<u32>,
    /// False for a TCP header too short to decode: only frame and IP fields
    /// and the ports that fit are shown (as tshark does).
    pub header: bool,
    /// Which ports are present when `header` is false (source, destination).
    pub ports: (bool, bool),
    /// The connection analyzer's view of this packet, when stream-level
    /// fields are asked for.
    pub analysis: Option<&'a PacketAnalysis>,
}

impl<'a> FieldCtx<'a> {
    /// A fully decoded packet without analysis.
    pub fn new(info: &'a TcpPacketInfo, timestamp: Timestamp) -> Self {
        FieldCtx {
            info,
            timestamp,
            tcp_len: Some(info.payload_len),
            header: true,
            ports: (true, true),
            analysis: None,
        }
    }
}

/// Which of a field's repeated values to print (tshark `-E occurrence=f|l|a`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occurrence {
    First,
    Last,
    All,
}

/// How repeated values are printed.
#[derive(Clone, Copy, Debug)]
pub struct FieldFormat {
    pub occurrence: Occurrence,
    /// Between repeated values (tshark `-E aggregator=`), default ','.
    pub aggregator: u8,
}

impl Default for FieldFormat {
    fn default() -> Self {
        FieldFormat {
            occurrence: Occurrence::All,
            aggregator: b',',
        }
    }
}

/// Writes one field's value (nothing when the field is absent).
pub type FieldWriter = fn(&FieldCtx<'_>, &FieldFormat, &mut Vec<u8>);

/// Where a field's value comes from.
#[derive(Clone, Copy)]
pub enum FieldSource {
    /// The frame, IP addresses and ports: shown for every TCP frame.
    Frame(FieldWriter),
    /// The TCP header: empty when the header could not be decoded.
    Header(FieldWriter),
    /// The connection analyzer ([`crate::track`]): stream index, relative
    /// numbers, tcp.analysis.*. `fallback` is used when no analysis is
    /// available (raw SACK edges).
    Stream { fallback: Option<FieldWriter> },
}

/// One entry of the field table.
#[derive(Clone, Copy)]
pub struct FieldDef {
    /// tshark's field name.
    pub name: &'static str,
    pub source: FieldSource,
}

impl FieldDef {
    /// Whether printing this field needs the connection analyzer.
    pub fn needs_analysis(&self) -> bool {
        matches!(self.source, FieldSource::Stream { .. })
    }

    /// Appends this field's value for one packet (nothing when absent).
    pub fn write(&self, c: &FieldCtx<'_>, f: &FieldFormat, out: &mut Vec<u8>) {
        match self.source {
            FieldSource::Frame(w) => w(c, f, out),
            FieldSource::Header(w) => {
                if c.header {
                    w(c, f, out)
                }
            }
            FieldSource::Stream { fallback } => {
                if !c.header {
                    return;
                }
                match c.analysis {
                    Some(a) => stream_field(self.name, c.info, a, f, out),
                    None => {
                        if let Some(w) = fallback {
                            w(c, f, out)
                        }
                    }
                }
            }
        }
    }
}

/// Writes an unsigned integer in decimal without allocating: itoa writes
/// the digits into a stack buffer two at a time, one copy appends them (no
/// zero-fill of the output, no digit-counting pass).
#[inline]
pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

/// Appends a short byte string with an inline copy (no call to memcpy,
/// which dominates when the pieces are a few bytes long).
#[inline]
pub fn put(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len());
    for &b in s {
        out.push(b);
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `0x%04x`, as tshark prints 16-bit hex fields.
#[inline]
pub fn put_hex16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&[
        b'0',
        b'x',
        HEX[(v >> 12) as usize & 15],
        HEX[(v >> 8) as usize & 15],
        HEX[(v >> 4) as usize & 15],
        HEX[v as usize & 15],
    ]);
}

/// Dotted-quad IPv4 or RFC 5952 IPv6 text.
pub fn put_ip(out: &mut Vec<u8>, ip: &IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            for (i, b) in o.iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                put_u64(out, *b as u64);
            }
        }
        IpAddr::V6(a) => {
            let _ = write!(out, "{a}");
        }
    }
}

/// tshark's frame.time_epoch: seconds, a dot and the nanosecond fraction
/// padded to 9 digits; a minus sign when either part is negative and both
/// printed as magnitudes (so a damaged fraction shows as read).
pub fn put_epoch(out: &mut Vec<u8>, ts: Timestamp) {
    if ts.secs < 0 || ts.nsecs < 0 {
        out.push(b'-');
    }
    put_u64(out, ts.secs.unsigned_abs());
    out.push(b'.');
    let frac = (ts.nsecs as i64).unsigned_abs();
    let mut b = itoa::Buffer::new();
    let digits = b.format(frac).as_bytes();
    for _ in digits.len()..9 {
        out.push(b'0');
    }
    out.extend_from_slice(digits);
}

/// tshark 4.0's tcp.flags.str: "RRRACEUAPRSF" from bit 11 down to bit 0,
/// '·' (U+00B7) for a clear bit.
pub fn put_flags_str(out: &mut Vec<u8>, flags: TcpFlags) {
    const LETTERS: &[u8; 12] = b"RRRACEUAPRSF";
    for (i, l) in LETTERS.iter().enumerate() {
        if flags.0 & (0x800 >> i) != 0 {
            out.push(*l);
        } else {
            out.extend_from_slice("·".as_bytes());
        }
    }
}

fn put_multi(out: &mut Vec<u8>, fmt: &FieldFormat, values: impl ExactSizeIterator<Item = u64>) {
    let n = values.len();
    for (i, v) in values.enumerate() {
        let keep = match fmt.occurrence {
            Occurrence::All => true,
            Occurrence::First => i == 0,
            Occurrence::Last => i + 1 == n,
        };
        if !keep {
            continue;
        }
        if fmt.occurrence == Occurrence::All && i > 0 {
            out.push(fmt.aggregator);
        }
        put_u64(out, v);
    }
}

macro_rules! field {
    ($kind:ident, $name:literal, |$c:ident, $f:ident, $o:ident| $body:expr) => {
        FieldDef {
            name: $name,
            source: FieldSource::$kind({
                #[allow(unused_variables)]
                fn w($c: &FieldCtx<'_>, $f: &FieldFormat, $o: &mut Vec<u8>) {
                    $body
                }
                w
            }),
        }
    };
}

fn writer_of(d: &FieldDef) -> FieldWriter {
    match d.source {
        FieldSource::Frame(w) | FieldSource::Header(w) => w,
        FieldSource::Stream { fallback } => fallback.unwrap_or(|_, _, _| {}),
    }
}

/// Fields read from the packet itself.
pub static HEADER_FIELDS: &[FieldDef] = &[
    field!(Frame, "frame.number", |c, f, o| put_u64(o, c.info.number)),
    field!(Frame, "frame.time_epoch", |c, f, o| put_epoch(
        o,
        c.timestamp
    )),
    field!(Frame, "frame.len", |c, f, o| put_u64(
        o,
        c.info.frame_len as u64
    )),
    field!(Frame, "frame.cap_len", |c, f, o| put_u64(
        o,
        c.info.cap_len as u64
    )),
    field!(Frame, "ip.src", |c, f, o| if c.info.src.is_ipv4() {
        put_ip(o, &c.info.src)
    }),
    field!(Frame, "ip.dst", |c, f, o| if c.info.dst.is_ipv4() {
        put_ip(o, &c.info.dst)
    }),
    field!(Frame, "ipv6.src", |c, f, o| if c.info.src.is_ipv6() {
        put_ip(o, &c.info.src)
    }),
    field!(Frame, "ipv6.dst", |c, f, o| if c.info.dst.is_ipv6() {
        put_ip(o, &c.info.dst)
    }),
    field!(Frame, "tcp.srcport", |c, f, o| if c.ports.0 {
        put_u64(o, c.info.src_port as u64)
    }),
    field!(Frame, "tcp.dstport", |c, f, o| if c.ports.1 {
        put_u64(o, c.info.dst_port as u64)
    }),
    field!(Header, "tcp.flags", |c, f, o| put_hex16(
        o,
        c.info.flags.0 & 0x0fff
    )),
    field!(Header, "tcp.flags.str", |c, f, o| put_flags_str(
        o,
        c.info.flags
    )),
    field!(Header, "tcp.hdr_len", |c, f, o| put_u64(
        o,
        c.info.header_len as u64
    )),
    field!(Header, "tcp.len", |c, f, o| if let Some(l) = c.tcp_len {
        put_u64(o, l as u64)
    }),
    field!(Header, "tcp.seq_raw", |c, f, o| put_u64(
        o,
        c.info.seq.0 as u64
    )),
    field!(Header, "tcp.ack_raw", |c, f, o| put_u64(
        o,
        c.info.ack.0 as u64
    )),
    field!(Header, "tcp.window_size_value", |c, f, o| put_u64(
        o,
        c.info.window as u64
    )),
    field!(
        Header,
        "tcp.options.mss_val",
        |c, f, o| if let Some(m) = c.info.options.mss {
            put_u64(o, m as u64)
        }
    ),
    field!(
        Header,
        "tcp.options.wscale.shift",
        |c, f, o| if let Some(s) = c.info.options.wscale {
            put_u64(o, s as u64)
        }
    ),
    // tshark 4.0 prints the option's bytes (kind 4, length 2).
    field!(
        Header,
        "tcp.options.sack_perm",
        |c, f, o| if c.info.options.sack_perm {
            o.extend_from_slice(b"0402")
        }
    ),
    field!(Header, "tcp.options.sack_le", |c, f, o| {
        let s = &c.info.options;
        let n = (s.sack_count as usize).min(s.sack.len());
        put_multi(o, f, s.sack[..n].iter().map(|b| b.0 .0 as u64))
    }),
    field!(Header, "tcp.options.sack_re", |c, f, o| {
        let s = &c.info.options;
        let n = (s.sack_count as usize).min(s.sack.len());
        put_multi(o, f, s.sack[..n].iter().map(|b| b.1 .0 as u64))
    }),
    field!(
        Header,
        "tcp.options.timestamp.tsval",
        |c, f, o| if let Some((v, _)) = c.info.options.timestamps {
            put_u64(o, v as u64)
        }
    ),
    field!(
        Header,
        "tcp.options.timestamp.tsecr",
        |c, f, o| if let Some((_, e)) = c.info.options.timestamps {
            put_u64(o, e as u64)
        }
    ),
    field!(Header, "tcp.checksum", |c, f, o| put_hex16(
        o,
        c.info.checksum
    )),
    // Wireshark's PROTO_CHECKSUM_E_*: 0 bad, 1 good, 2 unverified.
    field!(Header, "tcp.checksum.status", |c, f, o| o
        .push(b'0' + c.info.checksum_status.tshark_value())),
    field!(Header, "tcp.urgent_pointer", |c, f, o| put_u64(
        o,
        c.info.urgent as u64
    )),
];

/// Looks a field up by tshark name.
pub fn lookup(name: &str) -> Option<FieldDef> {
    if let Some(d) = HEADER_FIELDS.iter().find(|d| d.name == name) {
        // tshark shows SACK edges relative to the peer's initial sequence
        // number: they need the analyzer, the raw edges are the fallback.
        if name == "tcp.options.sack_le" || name == "tcp.options.sack_re" {
            return Some(FieldDef {
                name: d.name,
                source: FieldSource::Stream {
                    fallback: Some(writer_of(d)),
                },
            });
        }
        return Some(*d);
    }
    // Stream-level fields: tcp.stream, relative numbers, scaled window,
    // tcp.analysis.*, tcp.completeness (crate::track::tshark_fields).
    crate::track::tshark_fields::FIELDS
        .iter()
        .find(|n| **n == name)
        .map(|n| FieldDef {
            name: n,
            source: FieldSource::Stream { fallback: None },
        })
}

/// Every field name tcpsim knows.
pub fn all_names() -> impl Iterator<Item = &'static str> {
    HEADER_FIELDS.iter().map(|d| d.name).chain(
        crate::track::tshark_fields::FIELDS
            .iter()
            .copied()
            .filter(|n| !HEADER_FIELDS.iter().any(|d| d.name == *n)),
    )
}

/// A stream-level field from the analyzer's output.
fn stream_field(
    name: &str,
    _p: &TcpPacketInfo,
    a: &PacketAnalysis,
    f: &FieldFormat,
    out: &mut Vec<u8>,
) {
    let n = (a.sack_count as usize).min(a.sack.len());
    match name {
        // RFC 2018 §3 edges, relative to the ISN of the side whose data they cover.
        "tcp.options.sack_le" => put_multi(out, f, a.sack[..n].iter().map(|e| e.0 as u64)),
        "tcp.options.sack_re" => put_multi(out, f, a.sack[..n].iter().map(|e| e.1 as u64)),
        // tshark shows the flag item and the expert item: two values.
        "tcp.analysis.duplicate_ack" => {
            if a.tshark_shows(crate::timeline::AnalysisFlag::DuplicateAck) {
                put_multi(out, f, [1u64, 1].into_iter())
            }
        }
        // The TCP layer's expert items only (crate::track::expert).
        "_ws.expert.message" => {
            let m = crate::track::expert::tcp_expert_messages(_p, a);
            let n = m.len();
            for (i, v) in m.iter().enumerate() {
                let keep = match f.occurrence {
                    Occurrence::All => true,
                    Occurrence::First => i == 0,
                    Occurrence::Last => i + 1 == n,
                };
                if !keep {
                    continue;
                }
                if f.occurrence == Occurrence::All && i > 0 {
                    out.push(f.aggregator);
                }
                out.extend_from_slice(v.as_bytes());
            }
        }
        _ => {
            if let Some(v) = crate::track::tshark_fields::tcp_field(name, _p, a, ",") {
                out.extend_from_slice(v.as_bytes());
            }
        }
    }
}

/// Resolves a list of field names; the error lists every unknown name the
/// way tshark reports them ("Some fields aren't valid").
pub fn resolve(names: &[String]) -> Result<Vec<FieldDef>, String> {
    let mut bad = Vec::new();
    let mut defs = Vec::with_capacity(names.len());
    for n in names {
        match lookup(n) {
            Some(d) => defs.push(d),
            None => bad.push(n.as_str()),
        }
    }
    if bad.is_empty() {
        Ok(defs)
    } else {
        Err(format!("Some fields aren't valid: {}", bad.join(" ")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn put_u64_prints_every_magnitude() {
        let mut vals = vec![0u64, 1, 9, 10, 99, 100, u64::MAX, u64::MAX - 1];
        for p in 1..20 {
            let t = 10u64.pow(p);
            vals.extend([t - 1, t, t + 1]);
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            vals.push(x >> (x % 64));
        }
        let mut out = b"prefix".to_vec();
        let mut want = b"prefix".to_vec();
        for v in vals {
            super::put_u64(&mut out, v);
            want.extend_from_slice(v.to_string().as_bytes());
            out.push(b',');
            want.push(b',');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(want).unwrap()
        );
    }

    use super::*;
    use crate::wire::{ChecksumStatus, SeqNumber, TcpOptionsSummary};
    use std::net::Ipv4Addr;

    fn info() -> TcpPacketInfo {
        let mut options = TcpOptionsSummary {
            mss: Some(1460),
            sack_perm: true,
            ..Default::default()
        };
        options.sack[0] = (SeqNumber(10), SeqNumber(20));
        options.sack[1] = (SeqNumber(30), SeqNumber(40));
        options.sack_count = 2;
        TcpPacketInfo {
            number: 7,
            time_ns: 0,
            frame_len: 66,
            cap_len: 60,
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: "2001:db8::1".parse().unwrap(),
            src_port: 80,
            dst_port: 443,
            seq: SeqNumber(4_000_000_000),
            ack: SeqNumber(1),
            flags: TcpFlags(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::AE | 0x800),
            window: 65535,
            header_len: 32,
            payload_len: 0,
            checksum: 0xab,
            checksum_status: ChecksumStatus::Unverified,
            urgent: 0,
            options,
        }
    }

    fn show(name: &str, ts: Timestamp, fmt: FieldFormat) -> String {
        let i = info();
        let mut o = Vec::new();
        lookup(name)
            .unwrap()
            .write(&FieldCtx::new(&i, ts), &fmt, &mut o);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn formats_like_tshark() {
        let ts = Timestamp {
            secs: 1_262_893_114,
            nsecs: 341_715_000,
        };
        let f = FieldFormat {
            occurrence: Occurrence::All,
            aggregator: b'|',
        };
        assert_eq!(show("frame.time_epoch", ts, f), "1262893114.341715000");
        assert_eq!(show("tcp.flags", ts, f), "0x0912");
        assert_eq!(show("tcp.flags.str", ts, f), "R··A···A··S·");
        assert_eq!(show("tcp.checksum", ts, f), "0x00ab");
        assert_eq!(show("tcp.checksum.status", ts, f), "2");
        assert_eq!(show("ip.src", ts, f), "10.0.0.1");
        assert_eq!(show("ip.dst", ts, f), "");
        assert_eq!(show("ipv6.dst", ts, f), "2001:db8::1");
        assert_eq!(show("tcp.seq_raw", ts, f), "4000000000");
        assert_eq!(show("tcp.options.sack_le", ts, f), "10|30");
        assert_eq!(show("tcp.options.sack_perm", ts, f), "0402");
        assert_eq!(show("tcp.options.wscale.shift", ts, f), "");
        let first = FieldFormat {
            occurrence: Occurrence::First,
            aggregator: b'|',
        };
        assert_eq!(show("tcp.options.sack_re", ts, first), "20");
        let last = FieldFormat {
            occurrence: Occurrence::Last,
            aggregator: b'|',
        };
        assert_eq!(show("tcp.options.sack_re", ts, last), "40");
    }

    #[test]
    fn damaged_fractions_print_as_tshark_does() {
        let f = FieldFormat::default();
        let t = |secs, nsecs| show("frame.time_epoch", Timestamp { secs, nsecs }, f);
        assert_eq!(t(1_418_145_370, 1_000_000_000), "1418145370.1000000000");
        assert_eq!(t(1_418_145_370, i32::MIN), "-1418145370.2147483648");
        assert_eq!(t(5, 7), "5.000000007");
    }

    #[test]
    fn unknown_fields_are_reported_together() {
        let names = vec!["tcp.srcport".to_string(), "tcp.bogus".into(), "x.y".into()];
        assert_eq!(
            resolve(&names).err().unwrap(),
            "Some fields aren't valid: tcp.bogus x.y"
        );
    }
}

#[cfg(test)]
mod number_tests {
    use super::put_u64;

    #[test]
    fn decimal_digits_match_std() {
        let mut v: u64 = 1;
        let mut samples = vec![0, 9, 10, 99, 100, 101, 999, 1000, u64::MAX, u32::MAX as u64];
        while v < u64::MAX / 7 {
            samples.push(v);
            samples.push(v - 1);
            v = v * 7 + 3;
        }
        for s in samples {
            let mut o = b"x".to_vec();
            put_u64(&mut o, s);
            assert_eq!(String::from_utf8(o).unwrap(), format!("x{s}"));
        }
    }
}
