//! The TCP layer's expert messages as tshark 4.0 prints them in
//! `_ws.expert.message`, from a packet and its analysis, in tshark's order:
//! header (short segment, ACK field), control bits (SYN, RST, FIN and who
//! closes), options (D-SACK, window scale, missing MSS), then the
//! sequence analysis (Wireshark packet-tcp.c, `dissect_tcp` and
//! `tcp_print_sequence_number_analysis`).
//!
//! Not produced (and left out of the agreement, see
//! docs/analysis-agreement.md): "Bad checksum [should be 0x....]" (the
//! analyzer does not carry the computed checksum; `tcp.checksum.status` is
//! compared instead), option-list malformations ("N NOP in a row", "option
//! length should be N", "... goes past end of options"), TCP Fast Open
//! notes, and other dissectors' items.

use super::analysis::PacketAnalysis;
use crate::timeline::AnalysisFlag;
use crate::wire::TcpPacketInfo;

const SHORT_SEGMENT: &str = "Short segment. Segment/fragment does not contain a full TCP header (might be NMAP or someone else deliberately sending unusual packets)";
const ACK_NONZERO: &str =
    "The acknowledgment number field is nonzero while the ACK flag is not set";
const SYN_PREFIX: &str = "Connection establish request (SYN): server port ";
const SYNACK_PREFIX: &str = "Connection establish acknowledge (SYN+ACK): server port ";
const FIN: &str = "Connection finish (FIN)";
const FIN_ACTIVE: &str = "This frame initiates the connection closing";
const FIN_PASSIVE: &str = "This frame undergoes the connection closing";
const RST: &str = "Connection reset (RST)";
const URGENT_NONZERO: &str = "The urgent pointer field is nonzero while the URG flag is not set";
const DSACK: &str = "D-SACK Sequence";
const WSCALE_TOO_BIG: &str = "Window scale shift exceeds 14";
const MSS_ABSENT: &str = "The SYN packet does not contain a MSS option";
const DUP_ACK_PREFIX: &str = "Duplicate ACK (#";

/// The analysis items, in the order tshark prints them.
const ANALYSIS: &[(AnalysisFlag, &[&str])] = &[
    (
        AnalysisFlag::ReusedPorts,
        &["A new tcp session is started with the same ports as an earlier session in this trace"],
    ),
    (
        AnalysisFlag::Retransmission,
        &["This frame is a (suspected) retransmission"],
    ),
    (
        AnalysisFlag::FastRetransmission,
        &[
            "This frame is a (suspected) fast retransmission",
            "This frame is a (suspected) retransmission",
        ],
    ),
    (
        AnalysisFlag::SpuriousRetransmission,
        &[
            "This frame is a (suspected) spurious retransmission",
            "This frame is a (suspected) retransmission",
        ],
    ),
    (
        AnalysisFlag::OutOfOrder,
        &["This frame is a (suspected) out-of-order segment"],
    ),
    (
        AnalysisFlag::LostSegment,
        &["Previous segment(s) not captured (common at capture start)"],
    ),
    (
        AnalysisFlag::AckLostSegment,
        &["ACKed segment that wasn't captured (common at capture start)"],
    ),
    (AnalysisFlag::WindowUpdate, &["TCP window update"]),
    (
        AnalysisFlag::WindowFull,
        &["TCP window specified by the receiver is now completely full"],
    ),
    (AnalysisFlag::KeepAlive, &["TCP keep-alive segment"]),
    (
        AnalysisFlag::KeepAliveAck,
        &["ACK to a TCP keep-alive segment"],
    ),
    // Duplicate ACK comes here, with its count.
    (AnalysisFlag::ZeroWindowProbe, &["TCP Zero Window Probe"]),
    (AnalysisFlag::ZeroWindow, &["TCP Zero Window segment"]),
    (
        AnalysisFlag::ZeroWindowProbeAck,
        &["ACK to a TCP Zero Window Probe"],
    ),
];

/// The TCP layer's expert messages for one packet, in tshark's order.
pub fn tcp_expert_messages(p: &TcpPacketInfo, a: &PacketAnalysis) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &str| out.push(s.to_string());
    let fl = p.flags;
    if a.short_segment {
        push(SHORT_SEGMENT);
    }
    if !fl.ack() && p.ack.0 != 0 {
        push(ACK_NONZERO);
    }
    if fl.syn() {
        if fl.ack() {
            push(&format!("{SYNACK_PREFIX}{}", p.src_port));
        } else {
            push(&format!("{SYN_PREFIX}{}", p.dst_port));
        }
    }
    // tshark 4.0 adds the RST item before the FIN items (a frame with both,
    // nDPI's fuzz-2006-09-29-28586.pcap frame 65, shows that order).
    if fl.rst() {
        push(RST);
    }
    if fl.fin() {
        push(FIN);
        push(if a.fin_active {
            FIN_ACTIVE
        } else {
            FIN_PASSIVE
        });
    }
    if !fl.urg() && p.urgent != 0 {
        push(URGENT_NONZERO);
    }
    // Options, as far as tshark's dissection of them gets.
    if a.short_segment {
        return out;
    }
    if a.dsack {
        push(DSACK);
    }
    if p.options.wscale.is_some_and(|s| s > 14) {
        push(WSCALE_TOO_BIG);
    }
    if a.options_malformed {
        return out;
    }
    if fl.syn() && p.header_len > 20 && p.options.mss.is_none() {
        push(MSS_ABSENT);
    }
    if !a.tshark_prints_analysis() {
        return out;
    }
    for (flag, msgs) in ANALYSIS {
        if *flag == AnalysisFlag::ZeroWindowProbe && a.dup_ack_num > 0 {
            push(&format!("{DUP_ACK_PREFIX}{})", a.dup_ack_num));
        }
        if a.flags.contains(*flag) {
            for m in *msgs {
                push(m);
            }
        }
    }
    out
}

/// The items whose text never varies.
const FIXED_ITEMS: [&str; 10] = [
    SHORT_SEGMENT,
    ACK_NONZERO,
    FIN,
    FIN_ACTIVE,
    FIN_PASSIVE,
    RST,
    URGENT_NONZERO,
    DSACK,
    WSCALE_TOO_BIG,
    MSS_ABSENT,
];

/// Whether a tshark expert message is one of the TCP layer's items that
/// tcpsim produces (and so takes part in the agreement).
pub fn is_compared_tcp_expert(msg: &str) -> bool {
    let numbered = |prefix: &str, suffix: &str| {
        msg.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(suffix))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    FIXED_ITEMS.contains(&msg)
        || ANALYSIS.iter().any(|(_, m)| m.contains(&msg))
        || numbered(SYN_PREFIX, "")
        || numbered(SYNACK_PREFIX, "")
        || numbered(DUP_ACK_PREFIX, ")")
}

/// Every kind of item [`tcp_expert_messages`] produces, as
/// [`expert_kind`] names it.
pub fn compared_kinds() -> Vec<String> {
    let mut v: Vec<String> = FIXED_ITEMS
        .iter()
        .map(|m| expert_kind(m))
        .chain(
            ANALYSIS
                .iter()
                .flat_map(|(_, m)| m.iter().map(|m| expert_kind(m))),
        )
        .chain([
            format!("{SYN_PREFIX}N"),
            format!("{SYNACK_PREFIX}N"),
            format!("{DUP_ACK_PREFIX}N)"),
        ])
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A message with its numbers replaced by `N`: the kind of item.
pub fn expert_kind(msg: &str) -> String {
    let mut s = String::with_capacity(msg.len());
    let mut in_num = false;
    for c in msg.chars() {
        if c.is_ascii_digit() {
            if !in_num {
                s.push('N');
            }
            in_num = true;
        } else {
            s.push(c);
            in_num = false;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compared_set_holds_tcp_items_only() {
        assert!(is_compared_tcp_expert(
            "Connection establish request (SYN): server port 80"
        ));
        assert!(is_compared_tcp_expert("Duplicate ACK (#12)"));
        assert!(is_compared_tcp_expert(
            "This frame is a (suspected) retransmission"
        ));
        assert!(is_compared_tcp_expert("D-SACK Sequence"));
        assert!(!is_compared_tcp_expert("Duplicate ACK (#)"));
        assert!(!is_compared_tcp_expert(
            "Illegal characters found in header name"
        ));
        assert!(!is_compared_tcp_expert("Bad checksum [should be 0x1234]"));
        assert!(!is_compared_tcp_expert("HTTP/1.1 200 OK\\r\\n"));
    }

    #[test]
    fn every_produced_kind_is_compared() {
        let kinds = compared_kinds();
        assert_eq!(kinds.len(), 27);
        for k in &kinds {
            let example = k
                .replace("port N", "port 80")
                .replace("(#N)", "(#3)")
                .replace("exceeds N", "exceeds 14");
            assert!(is_compared_tcp_expert(&example), "{k}");
            assert_eq!(&expert_kind(&example), k);
        }
    }

    #[test]
    fn kinds_hide_numbers() {
        assert_eq!(expert_kind("Duplicate ACK (#12)"), "Duplicate ACK (#N)");
        assert_eq!(
            expert_kind("Connection establish request (SYN): server port 8080"),
            "Connection establish request (SYN): server port N"
        );
    }

    #[test]
    fn messages_follow_tshark_order() {
        use crate::track::{Analyzer, AnalyzerOptions};
        use crate::wire::TcpFlags;
        let mk = |n: u64, from_client: bool, flags: u16, seq: u32, ack: u32| {
            crate::track::analyzer::tests::pkt(n, n as i64, from_client, 40000, flags, seq, ack, 0)
        };
        const S: u16 = TcpFlags::SYN;
        const A: u16 = TcpFlags::ACK;
        const F: u16 = TcpFlags::FIN;
        let mut an = Analyzer::new(AnalyzerOptions::default());
        let mut msgs = |p: TcpPacketInfo| tcp_expert_messages(&p, &an.push(&p));
        assert_eq!(
            msgs(mk(1, true, S, 100, 7)),
            [
                ACK_NONZERO,
                "Connection establish request (SYN): server port 80"
            ]
        );
        assert_eq!(
            msgs(mk(2, false, S | A, 500, 101)),
            ["Connection establish acknowledge (SYN+ACK): server port 80"]
        );
        assert!(msgs(mk(3, true, A, 101, 501)).is_empty());
        assert_eq!(msgs(mk(4, true, F | A, 101, 501)), [FIN, FIN_ACTIVE]);
        assert_eq!(msgs(mk(5, false, F | A, 501, 102)), [FIN, FIN_PASSIVE]);
        // The initiator's FIN again: still the initiator's, and a
        // retransmission.
        assert_eq!(
            msgs(mk(6, true, F | A, 101, 502)),
            [
                FIN,
                FIN_ACTIVE,
                "This frame is a (suspected) retransmission"
            ]
        );
    }
}
