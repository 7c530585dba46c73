//! `tcpsim decode --hex`: each TCP packet's bytes, then its IP and TCP
//! header fields one per line with the bytes they occupy and their value
//! read in network byte order (big-endian), for people learning what a
//! header looks like on the wire.

use super::decode_text::put_flag_names;
use super::fields::{put_u64, FieldCtx};
use crate::pcap::Record;
use crate::wire::decode::{IpVersion, TcpFrame};
use std::io::Write;

fn hex_dump(out: &mut Vec<u8>, data: &[u8]) {
    for (row, chunk) in data.chunks(16).enumerate() {
        let _ = write!(out, "  {:04x}  ", row * 16);
        for k in 0..16 {
            match chunk.get(k) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.extend_from_slice(b"   "),
            }
            if k == 7 {
                out.push(b' ');
            }
        }
        out.push(b' ');
        for b in chunk {
            out.push(if b.is_ascii_graphic() || *b == b' ' {
                *b
            } else {
                b'.'
            });
        }
        out.push(b'\n');
    }
}

/// Big-endian value of `data[at..at + len]` (len <= 8), `None` past the capture.
fn be(data: &[u8], at: usize, len: usize) -> Option<u64> {
    let s = data.get(at..at.checked_add(len)?)?;
    Some(s.iter().fold(0u64, |v, b| (v << 8) | *b as u64))
}

/// One marked field: "  34..36  source port        a2 88        = 41608".
fn field(out: &mut Vec<u8>, data: &[u8], at: usize, len: usize, name: &str, note: &str) {
    let end = at + len;
    let _ = write!(out, "  {at:>4}..{end:<4} {name:<22} ");
    let mut hex = String::new();
    for k in at..end {
        match data.get(k) {
            Some(b) => hex.push_str(&format!("{b:02x} ")),
            None => hex.push_str("-- "),
        }
    }
    let _ = write!(out, "{hex:<13}");
    match be(data, at, len) {
        Some(v) => {
            let _ = write!(out, "= {v}");
        }
        None => out.extend_from_slice(b"(not captured)"),
    }
    if !note.is_empty() {
        let _ = write!(out, "  {note}");
    }
    out.push(b'\n');
}

fn ipv4(out: &mut Vec<u8>, d: &[u8], b: usize) {
    let _ = writeln!(out, " IPv4 header at byte {b} (RFC 791 §3.1):");
    let vihl = be(d, b, 1).unwrap_or(0);
    field(
        out,
        d,
        b,
        1,
        "version | IHL",
        &format!("version {}, header {} bytes", vihl >> 4, (vihl & 15) * 4),
    );
    field(out, d, b + 1, 1, "DSCP | ECN", "");
    field(out, d, b + 2, 2, "total length", "bytes");
    field(out, d, b + 4, 2, "identification", "");
    let ff = be(d, b + 6, 2).unwrap_or(0);
    let note = format!(
        "DF {}, MF {}, fragment offset {} bytes",
        (ff >> 14) & 1,
        (ff >> 13) & 1,
        (ff & 0x1fff) * 8
    );
    field(out, d, b + 6, 2, "flags | fragment off.", &note);
    field(out, d, b + 8, 1, "time to live", "");
    field(out, d, b + 9, 1, "protocol", "6 = TCP");
    field(out, d, b + 10, 2, "header checksum", "");
    field(out, d, b + 12, 4, "source address", &addr4(d, b + 12));
    field(out, d, b + 16, 4, "destination address", &addr4(d, b + 16));
}

fn addr4(d: &[u8], at: usize) -> String {
    match d.get(at..at + 4) {
        Some(a) => format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
        None => String::new(),
    }
}

fn ipv6(out: &mut Vec<u8>, d: &[u8], b: usize, c: &FieldCtx<'_>) {
    let _ = writeln!(out, " IPv6 header at byte {b} (RFC 8200 §3):");
    field(out, d, b, 4, "version | class | flow", "");
    field(out, d, b + 4, 2, "payload length", "bytes");
    field(out, d, b + 6, 1, "next header", "");
    field(out, d, b + 7, 1, "hop limit", "");
    let _ = writeln!(
        out,
        "  {:>4}..{:<4} {:<22} {}",
        b + 8,
        b + 24,
        "source address",
        c.info.src
    );
    let _ = writeln!(
        out,
        "  {:>4}..{:<4} {:<22} {}",
        b + 24,
        b + 40,
        "destination address",
        c.info.dst
    );
}

fn tcp(out: &mut Vec<u8>, d: &[u8], t: usize, c: &FieldCtx<'_>) {
    let i = c.info;
    let _ = writeln!(
        out,
        " TCP header at byte {t} (RFC 9293 §3.1), {} bytes:",
        i.header_len
    );
    field(out, d, t, 2, "source port", "");
    field(out, d, t + 2, 2, "destination port", "");
    field(out, d, t + 4, 4, "sequence number", "");
    field(out, d, t + 8, 4, "acknowledgment number", "");
    let mut flags = Vec::new();
    put_flag_names(&mut flags, i.flags, b", ");
    let note = format!(
        "data offset {} words = {} bytes; flags [{}]",
        i.header_len / 4,
        i.header_len,
        String::from_utf8_lossy(&flags)
    );
    field(out, d, t + 12, 2, "offset | flags", &note);
    field(out, d, t + 14, 2, "window", "");
    field(
        out,
        d,
        t + 16,
        2,
        "checksum",
        &format!("{:?}", i.checksum_status).to_lowercase(),
    );
    field(out, d, t + 18, 2, "urgent pointer", "");
    // Options (RFC 9293 §3.2): kind, length, value.
    let end = t + i.header_len as usize;
    let mut at = t + 20;
    while at < end && at < d.len() {
        let kind = d[at];
        let (len, name) = match kind {
            0 => (1, "option EOL"),
            1 => (1, "option NOP"),
            _ => {
                let len = d.get(at + 1).copied().unwrap_or(0) as usize;
                let name = match kind {
                    2 => "option MSS",
                    3 => "option window scale",
                    4 => "option SACK permitted",
                    5 => "option SACK",
                    8 => "option timestamps",
                    30 => "option MPTCP",
                    34 => "option fast open",
                    _ => "option (other kind)",
                };
                (len, name)
            }
        };
        if len < 1 || at + len > end {
            let _ = writeln!(
                out,
                "  {at:>4}..{end:<4} malformed option kind {kind}, length {len}"
            );
            break;
        }
        match (kind, len) {
            (2, 4) | (3, 3) => {
                field(out, d, at, 2, name, "kind, length");
                field(out, d, at + 2, len - 2, "  value", "");
            }
            (8, 10) => {
                field(out, d, at, 2, name, "kind, length");
                field(out, d, at + 2, 4, "  TSval", "");
                field(out, d, at + 6, 4, "  TSecr", "");
            }
            (5, _) if len >= 2 => {
                field(out, d, at, 2, name, "kind, length");
                let mut e = at + 2;
                while e + 8 <= at + len {
                    field(out, d, e, 4, "  left edge", "");
                    field(out, d, e + 4, 4, "  right edge", "");
                    e += 8;
                }
            }
            _ => field(
                out,
                d,
                at,
                len.min(8),
                name,
                if len > 8 { "(first 8 bytes)" } else { "" },
            ),
        }
        at += len;
        if kind == 0 {
            break;
        }
    }
    let _ = writeln!(
        out,
        " payload: {} bytes at byte {} ({} captured)",
        i.payload_len,
        end,
        d.len().saturating_sub(end).min(i.payload_len as usize)
    );
}

/// Appends one packet's dump.
pub fn packet(out: &mut Vec<u8>, c: &FieldCtx<'_>, rec: &Record<'_>, frame: &TcpFrame<'_>) {
    let i = c.info;
    out.extend_from_slice(b"frame ");
    put_u64(out, i.number);
    let _ = writeln!(
        out,
        ": {} bytes on the wire, {} captured, link type {}, {} > {}",
        i.frame_len, i.cap_len, rec.linktype, i.src_port, i.dst_port
    );
    hex_dump(out, rec.data);
    if frame.ip_offset > 0 {
        let _ = writeln!(out, " link header: bytes 0..{}", frame.ip_offset);
    }
    match frame.ip_version {
        IpVersion::V4 => ipv4(out, rec.data, frame.ip_offset),
        IpVersion::V6 => ipv6(out, rec.data, frame.ip_offset, c),
    }
    tcp(out, rec.data, frame.tcp_offset, c);
    out.push(b'\n');
}
