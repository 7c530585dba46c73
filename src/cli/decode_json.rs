//! The JSON form of one decoded packet (`--json`, `--jsonl`), written by
//! hand for speed: keys are fixed, values are numbers, addresses and flag
//! names that need no escaping (the one free-text value goes through
//! serde_json).
//!
//! ```json
//! {"number":4,"time_ns":1795703705210716000,"frame_len":101,"cap_len":101,
//!  "src":"127.0.0.1","src_port":41608,"dst":"127.0.0.1","dst_port":40123,
//!  "flags":"PSH,ACK","seq":819176354,"ack":993446825,"window":64,
//!  "header_len":32,"len":35,"checksum":65077,"checksum_status":"partial",
//!  "urgent":0,"ttl":64,"options":{"tsval":3265362596,"tsecr":2624063006},
//!  "stream":0,"rel_seq":1,"rel_ack":1,"nxtseq":36,"window_bytes":65536}
//! ```

use super::fields::{put_ip, put_u64, FieldCtx};
use crate::wire::ChecksumStatus;

/// `,"name":` as one static piece (one copy per key).
macro_rules! key {
    ($out:expr, $k:literal) => {
        $out.extend_from_slice(concat!(",\"", $k, "\":").as_bytes())
    };
}

macro_rules! num {
    ($out:expr, $k:literal, $v:expr) => {{
        key!($out, $k);
        put_u64($out, $v);
    }};
}

/// Appends one packet as a JSON object (no trailing newline).
pub fn packet(out: &mut Vec<u8>, c: &FieldCtx<'_>, ttl: Option<u8>) {
    let i = c.info;
    let o = &i.options;
    out.extend_from_slice(b"{\"number\":");
    put_u64(out, i.number);
    key!(out, "time_ns");
    if i.time_ns < 0 {
        out.push(b'-');
    }
    put_u64(out, i.time_ns.unsigned_abs());
    num!(out, "frame_len", i.frame_len as u64);
    num!(out, "cap_len", i.cap_len as u64);
    key!(out, "src");
    out.push(b'"');
    put_ip(out, &i.src);
    out.push(b'"');
    num!(out, "src_port", i.src_port as u64);
    key!(out, "dst");
    out.push(b'"');
    put_ip(out, &i.dst);
    out.push(b'"');
    num!(out, "dst_port", i.dst_port as u64);
    key!(out, "flags");
    out.push(b'"');
    super::decode_text::put_flag_names(out, i.flags, b",");
    out.push(b'"');
    num!(out, "seq", i.seq.0 as u64);
    num!(out, "ack", i.ack.0 as u64);
    num!(out, "window", i.window as u64);
    num!(out, "header_len", i.header_len as u64);
    num!(out, "len", i.payload_len as u64);
    num!(out, "checksum", i.checksum as u64);
    key!(out, "checksum_status");
    out.extend_from_slice(match i.checksum_status {
        ChecksumStatus::Good => b"\"good\"",
        ChecksumStatus::Bad => b"\"bad\"",
        ChecksumStatus::Unverified => b"\"unverified\"",
        ChecksumStatus::Partial => b"\"partial\"",
    });
    num!(out, "urgent", i.urgent as u64);
    if let Some(t) = ttl {
        num!(out, "ttl", t as u64);
    }
    key!(out, "options");
    out.push(b'{');
    let start = out.len();
    if let Some(m) = o.mss {
        num!(out, "mss", m as u64);
    }
    if let Some(w) = o.wscale {
        num!(out, "wscale", w as u64);
    }
    if o.sack_perm {
        key!(out, "sack_perm");
        out.extend_from_slice(b"true");
    }
    let n = (o.sack_count as usize).min(o.sack.len());
    if n > 0 {
        key!(out, "sack");
        out.push(b'[');
        for (k, (l, r)) in o.sack[..n].iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            out.push(b'[');
            put_u64(out, l.0 as u64);
            out.push(b',');
            put_u64(out, r.0 as u64);
            out.push(b']');
        }
        out.push(b']');
    }
    if let Some((v, e)) = o.timestamps {
        num!(out, "tsval", v as u64);
        num!(out, "tsecr", e as u64);
    }
    if let Some(l) = o.tfo_cookie_len {
        num!(out, "tfo_cookie_len", l as u64);
    }
    if o.mptcp {
        key!(out, "mptcp");
        out.extend_from_slice(b"true");
    }
    if let Some(e) = o.error {
        key!(out, "error");
        let text = format!("{:?} at byte {} (kind {})", e.problem, e.offset, e.kind);
        let _ = serde_json::to_writer(&mut *out, &text);
    }
    // Drop the comma before the first option.
    if out.len() > start {
        out.remove(start);
    }
    out.push(b'}');
    if let Some(a) = c.analysis {
        num!(out, "stream", a.stream as u64);
        num!(out, "rel_seq", a.seq as u64);
        num!(out, "rel_ack", a.ack as u64);
        num!(out, "nxtseq", a.nxtseq as u64);
        num!(out, "window_bytes", a.window as u64);
        if !a.flags.is_empty() {
            key!(out, "analysis");
            out.push(b'[');
            for (k, f) in a.flags.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                out.extend_from_slice(f.name().as_bytes());
                out.push(b'"');
            }
            out.push(b']');
        }
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap::Timestamp;
    use crate::wire::{SeqNumber, TcpFlags, TcpOptionsSummary, TcpPacketInfo};

    #[test]
    fn packets_are_valid_json_with_the_documented_keys() {
        let mut options = TcpOptionsSummary {
            mss: Some(1460),
            sack_perm: true,
            ..Default::default()
        };
        options.sack[0] = (SeqNumber(1), SeqNumber(2));
        options.sack_count = 1;
        let info = TcpPacketInfo {
            number: 3,
            time_ns: -5,
            frame_len: 60,
            cap_len: 60,
            src: "2001:db8::1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            src_port: 1,
            dst_port: 2,
            seq: SeqNumber(7),
            ack: SeqNumber(8),
            flags: TcpFlags(TcpFlags::SYN | TcpFlags::ACK),
            window: 9,
            header_len: 28,
            payload_len: 0,
            checksum: 10,
            checksum_status: ChecksumStatus::Good,
            urgent: 0,
            options,
        };
        let mut out = Vec::new();
        packet(
            &mut out,
            &FieldCtx::new(&info, Timestamp::default()),
            Some(64),
        );
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(v["time_ns"], -5);
        assert_eq!(v["src"], "2001:db8::1");
        assert_eq!(v["flags"], "SYN,ACK");
        assert_eq!(v["options"]["mss"], 1460);
        assert_eq!(v["options"]["sack"][0][1], 2);
        assert_eq!(v["ttl"], 64);
        let mut out = Vec::new();
        info_without_options(&info, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        assert!(v["options"].as_object().unwrap().is_empty());
    }

    fn info_without_options(info: &TcpPacketInfo, out: &mut Vec<u8>) {
        let mut i = *info;
        i.options = TcpOptionsSummary::default();
        packet(out, &FieldCtx::new(&i, Timestamp::default()), None);
    }
}
