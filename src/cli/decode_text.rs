//! The one-line-per-packet text of `tcpsim decode`, for people:
//!
//! ```text
//!     1   0.000000 #0 127.0.0.1:41608 > 127.0.0.1:40123 [SYN] seq 0 win 65495 len 0 <mss 65495,sack_perm,ts 3265362596/0,wscale 10>
//!     5   0.000109 #0 127.0.0.1:40123 > 127.0.0.1:41608 [ACK] seq 1 ack 36 win 65536 len 0 <ts 2624063006/3265362596>
//! ```
//!
//! Frame number, seconds since the first packet, `#` stream index, relative
//! sequence and acknowledgment numbers and the scaled window (when the
//! analyzer runs), payload length, options, then the analysis flags:
//!
//! ```text
//!    25   0.811734 #0 17.173.66.179:443 > 192.168.0.54:49506 [ACK] seq 5221 ack 2084 win 1046000 len 0 <sack 2692-3326> [duplicate_ack]
//! ```

use super::fields::{put_ip, put_u64, FieldCtx};
use crate::wire::{ChecksumStatus, TcpFlags};
use std::net::IpAddr;

/// Flag names, SYN first, separated by `sep` ("SYN, ACK"), then "RES" if
/// a reserved bit is set.
pub fn put_flag_names(out: &mut Vec<u8>, flags: TcpFlags, sep: &[u8]) {
    let reserved = (flags.0 & TcpFlags::RESERVED != 0).then_some("RES");
    for (i, name) in flags.names(true).chain(reserved).enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(name.as_bytes());
    }
}

fn put_endpoint(out: &mut Vec<u8>, ip: &IpAddr, port: u16) {
    if ip.is_ipv6() {
        out.push(b'[');
        put_ip(out, ip);
        out.push(b']');
    } else {
        put_ip(out, ip);
    }
    out.push(b':');
    put_u64(out, port as u64);
}

fn put_padded(out: &mut Vec<u8>, v: u64, width: usize) {
    let mut b = itoa::Buffer::new();
    let s = b.format(v);
    for _ in s.len()..width {
        out.push(b' ');
    }
    out.extend_from_slice(s.as_bytes());
}

/// Seconds since `first_ns` with microsecond precision ("  0.000123").
fn put_relative(out: &mut Vec<u8>, ns: i64, first_ns: i64) {
    let d = ns.saturating_sub(first_ns);
    if d < 0 {
        out.push(b'-');
    }
    let us = d.unsigned_abs() / 1000;
    put_padded(out, us / 1_000_000, 3);
    out.push(b'.');
    let frac = us % 1_000_000;
    let mut b = itoa::Buffer::new();
    let s = b.format(frac);
    for _ in s.len()..6 {
        out.push(b'0');
    }
    out.extend_from_slice(s.as_bytes());
}

/// Appends one packet's line.
pub fn line(out: &mut Vec<u8>, c: &FieldCtx<'_>, first_ns: i64) {
    let i = c.info;
    put_padded(out, i.number, 5);
    out.push(b' ');
    put_relative(out, i.time_ns, first_ns);
    if let Some(a) = c.analysis {
        out.extend_from_slice(b" #");
        put_u64(out, a.stream as u64);
    }
    out.push(b' ');
    put_endpoint(out, &i.src, i.src_port);
    out.extend_from_slice(b" > ");
    put_endpoint(out, &i.dst, i.dst_port);
    out.extend_from_slice(b" [");
    put_flag_names(out, i.flags, b", ");
    // Relative numbers when the analyzer ran (each side's ISN is 0).
    let (seq, ack, win) = match c.analysis {
        Some(a) => (a.seq, a.ack, a.window),
        None => (i.seq.0, i.ack.0, i.window as u32),
    };
    out.extend_from_slice(b"] seq ");
    put_u64(out, seq as u64);
    if i.flags.ack() {
        out.extend_from_slice(b" ack ");
        put_u64(out, ack as u64);
    }
    out.extend_from_slice(b" win ");
    put_u64(out, win as u64);
    out.extend_from_slice(b" len ");
    put_u64(out, i.payload_len as u64);
    if i.flags.urg() {
        out.extend_from_slice(b" urg ");
        put_u64(out, i.urgent as u64);
    }
    if i.checksum_status == ChecksumStatus::Bad {
        out.extend_from_slice(b" bad-checksum");
    }
    put_options(out, c);
    out.push(b'\n');
}

fn put_options(out: &mut Vec<u8>, c: &FieldCtx<'_>) {
    let o = &c.info.options;
    let mut first = true;
    let mut sep = |out: &mut Vec<u8>| {
        out.extend_from_slice(if first { b" <" } else { b"," });
        first = false;
    };
    if let Some(m) = o.mss {
        sep(out);
        out.extend_from_slice(b"mss ");
        put_u64(out, m as u64);
    }
    if o.sack_perm {
        sep(out);
        out.extend_from_slice(b"sack_perm");
    }
    if let Some((v, e)) = o.timestamps {
        sep(out);
        out.extend_from_slice(b"ts ");
        put_u64(out, v as u64);
        out.push(b'/');
        put_u64(out, e as u64);
    }
    if let Some(w) = o.wscale {
        sep(out);
        out.extend_from_slice(b"wscale ");
        put_u64(out, w as u64);
    }
    // SACK edges relative to the peer's ISN when the analyzer ran.
    let n = (o.sack_count as usize).min(o.sack.len());
    if n > 0 {
        sep(out);
        out.extend_from_slice(b"sack");
        for k in 0..n {
            let (l, r) = match c.analysis {
                Some(a) if k < a.sack_count as usize => a.sack[k],
                _ => (o.sack[k].0 .0, o.sack[k].1 .0),
            };
            out.push(b' ');
            put_u64(out, l as u64);
            out.push(b'-');
            put_u64(out, r as u64);
        }
    }
    if let Some(len) = o.tfo_cookie_len {
        sep(out);
        out.extend_from_slice(b"tfo ");
        put_u64(out, len as u64);
    }
    if o.mptcp {
        sep(out);
        out.extend_from_slice(b"mptcp");
    }
    if let Some(e) = o.error {
        sep(out);
        out.extend_from_slice(b"bad option at ");
        put_u64(out, e.offset as u64);
    }
    if !first {
        out.push(b'>');
    }
    // tshark-style analysis flags: "[retransmission]".
    if let Some(a) = c.analysis {
        for f in a.flags.iter() {
            out.extend_from_slice(b" [");
            out.extend_from_slice(f.name().as_bytes());
            out.push(b']');
        }
    }
}
