//! `tcpsim decode --hex`: each TCP packet's bytes, then every header field
//! (link, VLAN, IP, TCP and each TCP option) on its own line with the byte
//! range it occupies, its bytes, and its value read in network byte order,
//! for people learning what a header looks like on the wire. The field list
//! comes from [`crate::wire::fields::field_map`].
//!
//! ```text
//! frame 1: 74 bytes on the wire, 74 captured, link type 1
//!   0000  00 00 00 00 00 00 00 00  00 00 00 00 08 00 45 00  ..............E.
//!   ...
//!     34..36   tcp   tcp.srcport                    a2 88                     41608
//!     38..42   tcp   tcp.seq_raw                    30 d3 a3 a1               819176353
//! ```

use super::fields::FieldCtx;
use crate::pcap::Record;
use crate::wire::fields::field_map;
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

/// Appends one packet's dump: header line, bytes, then one line per field.
pub fn packet(out: &mut Vec<u8>, c: &FieldCtx<'_>, rec: &Record<'_>) {
    let i = c.info;
    let _ = writeln!(
        out,
        "frame {}: {} bytes on the wire, {} captured, link type {}",
        i.number, i.frame_len, i.cap_len, rec.linktype
    );
    hex_dump(out, rec.data);
    for f in field_map(rec.linktype, rec.data) {
        let bytes = &rec.data[f.range.start.min(rec.data.len())..f.range.end.min(rec.data.len())];
        let mut hex = String::with_capacity(26);
        for b in bytes.iter().take(8) {
            hex.push_str(&format!("{b:02x} "));
        }
        if bytes.len() > 8 {
            hex.push_str("..");
        }
        let _ = writeln!(
            out,
            "  {:>4}..{:<4} {:<5} {:<30} {:<26} {}",
            f.range.start,
            f.range.end,
            f.layer.name(),
            f.name,
            hex,
            f.value_text
        );
    }
    if i.payload_len > 0 {
        let _ = writeln!(out, "  payload: {} bytes", i.payload_len);
    }
    out.push(b'\n');
}
