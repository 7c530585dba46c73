//! The JSON form of one decoded packet (`--json`, `--jsonl`).

use super::fields::FieldCtx;
use crate::wire::{ChecksumStatus, SeqNumber};
use serde::Serialize;
use std::net::IpAddr;

#[derive(Serialize)]
struct Options<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    mss: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wscale: Option<u8>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    sack_perm: bool,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    sack: &'a [(SeqNumber, SeqNumber)],
    #[serde(skip_serializing_if = "Option::is_none")]
    tsval: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tsecr: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tfo_cookie_len: Option<u8>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    mptcp: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The analyzer's numbers for the packet, when it ran.
#[derive(Serialize)]
struct Stream {
    stream: u32,
    /// Sequence and acknowledgment numbers relative to each side's ISN.
    rel_seq: u32,
    rel_ack: u32,
    nxtseq: u32,
    /// The window in bytes after scaling.
    window_bytes: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    analysis: Vec<&'static str>,
}

#[derive(Serialize)]
struct Packet<'a> {
    number: u64,
    time_ns: i64,
    frame_len: u32,
    cap_len: u32,
    src: IpAddr,
    src_port: u16,
    dst: IpAddr,
    dst_port: u16,
    flags: &'a str,
    seq: u32,
    ack: u32,
    window: u16,
    header_len: u8,
    len: u32,
    checksum: u16,
    checksum_status: ChecksumStatus,
    urgent: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u8>,
    options: Options<'a>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    stream: Option<Stream>,
}

/// Appends one packet as a JSON object (no trailing newline).
pub fn packet(out: &mut Vec<u8>, c: &FieldCtx<'_>, ttl: Option<u8>) {
    let i = c.info;
    let o = &i.options;
    let n = (o.sack_count as usize).min(o.sack.len());
    let mut flags = Vec::with_capacity(24);
    super::decode_text::put_flag_names(&mut flags, i.flags, b",");
    let p = Packet {
        number: i.number,
        time_ns: i.time_ns,
        frame_len: i.frame_len,
        cap_len: i.cap_len,
        src: i.src,
        src_port: i.src_port,
        dst: i.dst,
        dst_port: i.dst_port,
        flags: std::str::from_utf8(&flags).unwrap_or(""),
        seq: i.seq.0,
        ack: i.ack.0,
        window: i.window,
        header_len: i.header_len,
        len: i.payload_len,
        checksum: i.checksum,
        checksum_status: i.checksum_status,
        urgent: i.urgent,
        ttl,
        options: Options {
            mss: o.mss,
            wscale: o.wscale,
            sack_perm: o.sack_perm,
            sack: &o.sack[..n],
            tsval: o.timestamps.map(|t| t.0),
            tsecr: o.timestamps.map(|t| t.1),
            tfo_cookie_len: o.tfo_cookie_len,
            mptcp: o.mptcp,
            error: o
                .error
                .map(|e| format!("{:?} at byte {} (kind {})", e.problem, e.offset, e.kind)),
        },
        stream: c.analysis.map(|a| Stream {
            stream: a.stream,
            rel_seq: a.seq,
            rel_ack: a.ack,
            nxtseq: a.nxtseq,
            window_bytes: a.window,
            analysis: a.flags.iter().map(|f| f.name()).collect(),
        }),
    };
    let _ = serde_json::to_writer(&mut *out, &p);
}
