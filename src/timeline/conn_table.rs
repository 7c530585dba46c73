//! The connection table: one row per connection, the columns of
//! `tshark -q -z conv,tcp` (frames and bytes each way, relative start,
//! duration) plus Zeek's conn_state and history and both endpoints' final
//! states. `tcpsim conns` prints it as text; the HTML report shows the same
//! cells, so the two agree by construction.
//!
//! Cells are written into a byte buffer with integer arithmetic only
//! (itoa, fixed-point seconds): `tcpsim conns` prints one row per
//! connection of captures holding millions of them.

use super::schema::{Endpoint, Verdict};
use std::io::Write;
use std::net::IpAddr;

/// Column titles, and how the text table aligns each column (width;
/// negative: left-aligned).
pub const COLUMNS: [(&str, i16); 15] = [
    ("stream", 6),
    ("client", -45),
    ("server", -45),
    ("c>s pk", 7),
    ("c>s bytes", 10),
    ("s>c pk", 7),
    ("s>c bytes", 10),
    ("pkts", 7),
    ("bytes", 10),
    ("rel start", 12),
    ("duration", 10),
    ("state", -6),
    ("history", -14),
    ("client state", -12),
    ("server state", 0),
];

/// What one row shows.
pub struct ConnRow<'a> {
    pub stream: u32,
    pub client: &'a Endpoint,
    pub server: &'a Endpoint,
    pub verdict: &'a Verdict,
}

impl ConnRow<'_> {
    /// Calls `cell(column, text)` for each of the [`COLUMNS`] in order.
    /// `first_ns` is the time of the capture's first packet; `scratch` is
    /// reused between cells (and rows).
    pub fn cells(&self, first_ns: i64, scratch: &mut Vec<u8>, mut cell: impl FnMut(usize, &[u8])) {
        let v = self.verdict;
        let mut int = itoa::Buffer::new();
        let mut num = |col: usize, n: u64, cell: &mut dyn FnMut(usize, &[u8])| {
            cell(col, int.format(n).as_bytes())
        };
        num(0, self.stream as u64, &mut cell);
        scratch.clear();
        write_endpoint(scratch, self.client);
        cell(1, scratch);
        scratch.clear();
        write_endpoint(scratch, self.server);
        cell(2, scratch);
        num(3, v.client.packets, &mut cell);
        num(4, v.client.bytes, &mut cell);
        num(5, v.server.packets, &mut cell);
        num(6, v.server.bytes, &mut cell);
        num(7, v.client.packets + v.server.packets, &mut cell);
        num(8, v.client.bytes + v.server.bytes, &mut cell);
        scratch.clear();
        write_seconds(scratch, v.start_ns.saturating_sub(first_ns), 6);
        cell(9, scratch);
        scratch.clear();
        write_seconds(scratch, (v.duration * 1e9).round() as i64, 4);
        cell(10, scratch);
        cell(11, v.conn_state.name().as_bytes());
        cell(12, v.history.as_bytes());
        cell(13, v.client_state.name().as_bytes());
        cell(14, v.server_state.name().as_bytes());
    }

    /// The row as text, the cells padded to [`COLUMNS`]' widths.
    pub fn write_text(&self, out: &mut Vec<u8>, first_ns: i64, scratch: &mut Vec<u8>) {
        self.cells(first_ns, scratch, |col, text| {
            let width = COLUMNS[col].1;
            let pad = (width.unsigned_abs() as usize).saturating_sub(text.len());
            if width > 0 {
                out.resize(out.len() + pad, b' ');
            }
            out.extend_from_slice(text);
            if width < 0 && col + 1 < COLUMNS.len() {
                out.resize(out.len() + pad, b' ');
            }
            if col + 1 < COLUMNS.len() {
                // Two spaces after the stream number and before the state,
                // as the header shows.
                out.extend_from_slice(if col == 0 || col == 10 { b"  " } else { b" " });
            }
        });
    }
}

/// The header line of the text table (no newline).
pub fn write_header(out: &mut Vec<u8>) {
    for (col, (name, width)) in COLUMNS.iter().enumerate() {
        let name = if col == 13 {
            "client"
        } else if col == 14 {
            "server"
        } else {
            name
        };
        let pad = (width.unsigned_abs() as usize).saturating_sub(name.len());
        if *width > 0 {
            out.resize(out.len() + pad, b' ');
        }
        out.extend_from_slice(name.as_bytes());
        if *width < 0 {
            out.resize(out.len() + pad, b' ');
        }
        if col + 1 < COLUMNS.len() {
            out.extend_from_slice(if col == 0 || col == 10 { b"  " } else { b" " });
        }
    }
}

/// `a.b.c.d:port` or `[v6]:port`, as [`Endpoint`]'s Display.
pub fn write_endpoint(out: &mut Vec<u8>, e: &Endpoint) {
    let mut int = itoa::Buffer::new();
    match e.ip {
        IpAddr::V4(a) => {
            for (i, o) in a.octets().iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(int.format(*o).as_bytes());
            }
        }
        IpAddr::V6(a) => {
            let _ = write!(out, "[{a}]");
        }
    }
    out.push(b':');
    out.extend_from_slice(int.format(e.port).as_bytes());
}

/// Nanoseconds as decimal seconds with `decimals` digits (at most 9),
/// rounded half away from zero.
pub fn write_seconds(out: &mut Vec<u8>, ns: i64, decimals: u32) {
    let decimals = decimals.min(9);
    let unit = 10u64.pow(9 - decimals);
    let mag = ns.unsigned_abs();
    let scaled = mag / unit + u64::from(mag % unit >= unit.div_ceil(2));
    let per_second = 10u64.pow(decimals);
    if ns < 0 && scaled != 0 {
        out.push(b'-');
    }
    let mut int = itoa::Buffer::new();
    out.extend_from_slice(int.format(scaled / per_second).as_bytes());
    if decimals > 0 {
        out.push(b'.');
        let frac = int.format(scaled % per_second).as_bytes();
        out.resize(out.len() + decimals as usize - frac.len(), b'0');
        out.extend_from_slice(frac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(ns: i64, d: u32) -> String {
        let mut v = Vec::new();
        write_seconds(&mut v, ns, d);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn seconds_round_like_float_formatting_away_from_halves() {
        for &ns in &[
            0i64,
            1,
            499,
            500,
            999_999,
            1_000_000_000,
            1_234_567_891,
            59_999_950_000,
        ] {
            for d in [0u32, 4, 6, 9] {
                let f = format!("{:.*}", d as usize, ns as f64 / 1e9);
                // Exact halves may round either way in binary floating point.
                let half = ns % 10i64.pow(9 - d) * 2 == 10i64.pow(9 - d);
                if !half {
                    assert_eq!(secs(ns, d), f, "{ns} ns at {d} decimals");
                }
            }
        }
        assert_eq!(secs(1_500_000, 3), "0.002");
        assert_eq!(secs(-1_500_000, 3), "-0.002");
        assert_eq!(secs(-1, 3), "0.000");
        assert_eq!(secs(i64::MIN, 0), "-9223372037");
    }

    #[test]
    fn endpoints_print_as_display_does() {
        for e in [
            Endpoint {
                ip: "10.0.255.7".parse().unwrap(),
                port: 65535,
            },
            Endpoint {
                ip: "2001:db8::1".parse().unwrap(),
                port: 0,
            },
        ] {
            let mut v = Vec::new();
            write_endpoint(&mut v, &e);
            assert_eq!(String::from_utf8(v).unwrap(), e.to_string());
        }
    }
}
