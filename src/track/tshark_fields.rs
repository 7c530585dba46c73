//! The stream-level tcp.* fields as `tshark -T fields` prints them, from a
//! packet and its analysis. Used by `tcpsim decode -T fields` and by the
//! agreement tests against tshark's reference output.
//!
//! For tshark's two-pass output (`tshark -2`, which the reference uses),
//! pass analyses finalized with [`PacketAnalysis::finalize`] (see
//! [`crate::timeline::analyze_all`]).

use super::analysis::PacketAnalysis;
use crate::timeline::AnalysisFlag;
use crate::wire::TcpPacketInfo;
use std::fmt::Write;

/// The field names this module knows, in tshark's spelling.
pub const FIELDS: &[&str] = &[
    "tcp.stream",
    "tcp.seq",
    "tcp.ack",
    "tcp.nxtseq",
    "tcp.window_size",
    "tcp.window_size_scalefactor",
    "tcp.time_relative",
    "tcp.completeness",
    "tcp.options.sack_le",
    "tcp.options.sack_re",
    "tcp.analysis.bytes_in_flight",
    "tcp.analysis.push_bytes_sent",
    "tcp.analysis.acks_frame",
    "tcp.analysis.ack_rtt",
    "tcp.analysis.initial_rtt",
    "tcp.analysis.rto",
    "tcp.analysis.rto_frame",
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission",
    "tcp.analysis.out_of_order",
    "tcp.analysis.lost_segment",
    "tcp.analysis.ack_lost_segment",
    "tcp.analysis.duplicate_ack",
    "tcp.analysis.duplicate_ack_num",
    "tcp.analysis.duplicate_ack_frame",
    "tcp.analysis.zero_window",
    "tcp.analysis.zero_window_probe",
    "tcp.analysis.zero_window_probe_ack",
    "tcp.analysis.window_full",
    "tcp.analysis.window_update",
    "tcp.analysis.keep_alive",
    "tcp.analysis.keep_alive_ack",
    "tcp.analysis.reused_ports",
    "_ws.expert.message",
];

fn secs(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let a = ns.unsigned_abs();
    format!("{sign}{}.{:09}", a / 1_000_000_000, a % 1_000_000_000)
}

/// The value of one field as tshark prints it (multiple occurrences joined
/// with `aggregator`), `None` when tshark shows nothing, or when the name is
/// not one of [`FIELDS`].
/// `_ws.expert.message` holds the TCP layer's items only
/// ([`super::expert::tcp_expert_messages`]).
pub fn tcp_field(
    name: &str,
    p: &TcpPacketInfo,
    a: &PacketAnalysis,
    aggregator: &str,
) -> Option<String> {
    let flag = |f: AnalysisFlag| {
        if a.tshark_shows(f) {
            Some("1".to_string())
        } else {
            None
        }
    };
    Some(match name {
        "tcp.stream" => a.stream.to_string(),
        "tcp.seq" => a.seq.to_string(),
        "tcp.ack" => a.ack.to_string(),
        "tcp.nxtseq" => {
            if a.short_segment {
                return None;
            }
            a.nxtseq.to_string()
        }
        "tcp.window_size" => a.window.to_string(),
        "tcp.window_size_scalefactor" => a.scale?.tshark_factor().to_string(),
        "tcp.time_relative" => secs(a.time_relative_ns),
        "tcp.completeness" => a.completeness.to_string(),
        "tcp.options.sack_le" | "tcp.options.sack_re" => {
            let n = (p.options.sack_count as usize).min(a.sack.len());
            if n == 0 {
                return None;
            }
            let mut s = String::new();
            for (i, (l, r)) in a.sack[..n].iter().enumerate() {
                if i > 0 {
                    s.push_str(aggregator);
                }
                let v = if name.ends_with("_le") { l } else { r };
                let _ = write!(s, "{v}");
            }
            s
        }
        "_ws.expert.message" => {
            let m = super::expert::tcp_expert_messages(p, a);
            if m.is_empty() {
                return None;
            }
            m.join(aggregator)
        }
        f if f.starts_with("tcp.analysis.") && !a.tshark_prints_analysis() => return None,
        "tcp.analysis.bytes_in_flight" => a.bytes_in_flight?.to_string(),
        "tcp.analysis.push_bytes_sent" => a.push_bytes_sent?.to_string(),
        "tcp.analysis.acks_frame" => a.acks_frame?.to_string(),
        "tcp.analysis.ack_rtt" => {
            a.acks_frame?;
            secs(a.ack_rtt_ns?)
        }
        "tcp.analysis.rto" => secs(a.rto_ns?),
        "tcp.analysis.rto_frame" => a.rto_frame?.to_string(),
        "tcp.analysis.initial_rtt" => {
            if !a.has_analysis {
                return None;
            }
            secs(a.initial_rtt_ns?)
        }
        "tcp.analysis.duplicate_ack" => {
            // tshark shows both the flag item and the expert item.
            flag(AnalysisFlag::DuplicateAck)?;
            format!("1{aggregator}1")
        }
        "tcp.analysis.duplicate_ack_num" => {
            if a.dup_ack_num == 0 {
                return None;
            }
            a.dup_ack_num.to_string()
        }
        "tcp.analysis.duplicate_ack_frame" => {
            if a.dup_ack_num == 0 {
                return None;
            }
            a.dup_ack_frame.to_string()
        }
        other => {
            let f = other.strip_prefix("tcp.analysis.")?;
            let f = AnalysisFlag::ALL.into_iter().find(|x| x.name() == f)?;
            return flag(f);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_printed_with_nine_decimals() {
        assert_eq!(secs(0), "0.000000000");
        assert_eq!(secs(1_500_000_001), "1.500000001");
        assert_eq!(secs(-5), "-0.000000005");
    }

    #[test]
    fn every_listed_field_is_known() {
        // A SYN+ACK-like analysis with everything set.
        let p = TcpPacketInfo {
            number: 1,
            time_ns: 0,
            frame_len: 60,
            cap_len: 60,
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            src_port: 1,
            dst_port: 2,
            seq: crate::wire::SeqNumber(5),
            ack: crate::wire::SeqNumber(6),
            flags: crate::wire::TcpFlags(0x10),
            window: 10,
            header_len: 20,
            payload_len: 0,
            checksum: 0,
            checksum_status: crate::wire::ChecksumStatus::Good,
            urgent: 0,
            options: Default::default(),
        };
        let mut an = crate::track::Analyzer::new(Default::default());
        let a = an.push(&p);
        for f in FIELDS {
            // Must not be rejected as unknown: unknown names give None for
            // every packet, known ones at least for some; stream always.
            let _ = tcp_field(f, &p, &a, ",");
        }
        assert_eq!(tcp_field("tcp.stream", &p, &a, ",").as_deref(), Some("0"));
        assert_eq!(tcp_field("tcp.seq", &p, &a, ",").as_deref(), Some("1"));
        assert_eq!(
            tcp_field("tcp.window_size_scalefactor", &p, &a, ",").as_deref(),
            Some("-1")
        );
        assert_eq!(tcp_field("tcp.bogus", &p, &a, ","), None);
    }
}
