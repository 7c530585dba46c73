//! Compares the segments tcpsim's endpoint sent during a replay with the
//! ones the real peer sent: flags, seq, ack and length exactly, the window
//! within a stated tolerance. Segments are aligned in order with a short
//! look-ahead, so that one extra or missing acknowledgement does not shift
//! every later comparison. Each difference is explained by a named rule where
//! Linux legitimately behaves otherwise.

use super::conversation::{Conversation, Role, Segment};

/// How far ahead to look for the segment that matches a recorded one.
pub const LOOKAHEAD: usize = 8;

/// The window tolerance: a window matches when
/// `|ours - recorded| <= fraction * recorded + 2^wscale` bytes.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct WindowTolerance {
    pub fraction: f64,
}

impl Default for WindowTolerance {
    fn default() -> WindowTolerance {
        WindowTolerance { fraction: 0.25 }
    }
}

impl WindowTolerance {
    pub fn accepts(&self, ours: u32, recorded: u32, wscale: u8) -> bool {
        let slack = self.fraction * f64::from(recorded) + f64::from(1u32 << wscale.min(14));
        (f64::from(ours) - f64::from(recorded)).abs() <= slack
    }
}

/// Bases that make numbers in messages relative: the sender's ISN for
/// seq, the receiver's for ack (tshark's relative sequence numbers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Bases {
    pub seq: u32,
    pub ack: u32,
}

/// What role a recorded segment plays in the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// SYN, SYN-ACK, or the ACK completing the handshake.
    Handshake,
    /// Carries payload.
    Data,
    /// Pure ACK acknowledging new payload of the peer.
    DataAck,
    /// Pure ACK that only opens the window.
    WindowUpdate,
    /// FIN, the ACK of a FIN, or RST.
    Close,
    /// Anything else (duplicate ACKs, probes, keep-alives).
    Other,
}

impl SegmentKind {
    pub fn name(self) -> &'static str {
        match self {
            SegmentKind::Handshake => "handshake",
            SegmentKind::Data => "data",
            SegmentKind::DataAck => "data ack",
            SegmentKind::WindowUpdate => "window update",
            SegmentKind::Close => "close",
            SegmentKind::Other => "other",
        }
    }
}

/// A segment as compared: what was sent, when, and the window in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SentSegment {
    pub time_ns: i64,
    pub flags: u16,
    pub seq: u32,
    pub ack: u32,
    pub len: u32,
    pub window_raw: u16,
    pub window: u32,
}

impl SentSegment {
    pub fn from_recorded(conv: &Conversation, s: &Segment) -> SentSegment {
        SentSegment {
            time_ns: s.time_ns,
            flags: s.flags.0,
            seq: s.seq.0,
            ack: s.ack.0,
            len: s.len,
            window_raw: s.window,
            window: conv.window_bytes(s),
        }
    }
    fn key(&self) -> (u16, u32, u32, u32) {
        (self.flags & CONTROL_COMPARED, self.seq, self.ack, self.len)
    }
    fn pure_ack(&self) -> bool {
        self.len == 0 && self.flags & (FIN | SYN | RST) == 0
    }
}

const FIN: u16 = 0x001;
const SYN: u16 = 0x002;
const RST: u16 = 0x004;
const PSH: u16 = 0x008;
const ACK: u16 = 0x010;
/// Control bits compared exactly. PSH is left out: it marks where a write
/// ended, which Linux decides per `sendmsg` (see rule `psh-per-write`).
const CONTROL_COMPARED: u16 = 0xfff & !PSH;

/// A rule that explains a legitimate difference from Linux.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Linux acknowledged several segments at once, or at another moment.
    DelayedAckTiming,
    /// Linux grew (or shrank) its receive window by autotuning.
    WindowAutotuning,
    /// Linux sized segments differently (GSO super-segments, half the peer's window).
    SegmentSizing,
    /// PSH marks the end of a write.
    PshPerWrite,
    /// A window update went out when the application read, at another moment.
    WindowUpdateTiming,
}

impl Rule {
    pub fn explain(self) -> &'static str {
        match self {
            Rule::DelayedAckTiming => "delayed-ACK timing: Linux acknowledges in quick-ack mode at the start and coalesces ACKs for segments that arrive in one receive batch; RFC 1122 §4.2.3.2 allows either",
            Rule::WindowAutotuning => "window autotuning: Linux sizes its receive window from rcv_ssthresh and grows it as data arrives (tcp_rcv_space_adjust); tcpsim's buffer is fixed",
            Rule::SegmentSizing => "segment sizing: Linux on loopback sends GSO super-segments bounded by half the peer's largest window (tcp_bound_to_half_wnd)",
            Rule::PshPerWrite => "PSH marks the last segment of each write (sendmsg) on Linux",
            Rule::WindowUpdateTiming => "window-update timing: a window update follows the application's read, whose moment is inferred",
        }
    }
}

/// The verdict on one recorded segment, or on one extra segment of ours.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Flags, seq, ack and length equal; window within tolerance.
    Match {
        recorded: SentSegment,
        ours: SentSegment,
        kind: SegmentKind,
    },
    /// Paired with one of ours but some fields differ.
    Differ {
        recorded: SentSegment,
        ours: SentSegment,
        kind: SegmentKind,
        fields: Vec<String>,
        rule: Option<Rule>,
    },
    /// The endpoint sent nothing that corresponds to this recorded segment.
    Missing {
        recorded: SentSegment,
        kind: SegmentKind,
        rule: Option<Rule>,
    },
    /// The endpoint sent a segment the real peer did not.
    Extra {
        ours: SentSegment,
        rule: Option<Rule>,
    },
}

impl Outcome {
    pub fn kind(&self) -> Option<SegmentKind> {
        match self {
            Outcome::Match { kind, .. }
            | Outcome::Differ { kind, .. }
            | Outcome::Missing { kind, .. } => Some(*kind),
            Outcome::Extra { .. } => None,
        }
    }
    pub fn is_match(&self) -> bool {
        matches!(self, Outcome::Match { .. })
    }
    /// Flags, seq, ack and length equal (the window may differ).
    pub fn is_exact(&self) -> bool {
        match self {
            Outcome::Match { .. } => true,
            Outcome::Differ { fields, .. } => fields.iter().all(|f| f.starts_with("window ")),
            _ => false,
        }
    }
}

/// Classifies every segment `role` sent in the recorded connection.
pub fn classify(conv: &Conversation, role: Role) -> Vec<SegmentKind> {
    let peer = role.peer();
    let mut peer_fin_seq: Option<u32> = None;
    let mut peer_high: Option<u32> = None; // highest peer data end seen so far (raw)
    let mut acked_data: Option<u32> = None;
    let mut handshake_done = false;
    let mut last_window: Option<u16> = None;
    let mut out = Vec::new();
    for s in &conv.segments {
        if s.from == peer {
            if s.len > 0 {
                let end = s
                    .seq
                    .0
                    .wrapping_add(s.len)
                    .wrapping_add(u32::from(s.flags.syn()));
                if peer_high.is_none_or(|h| (end.wrapping_sub(h) as i32) > 0) {
                    peer_high = Some(end);
                }
            }
            if s.flags.fin() {
                peer_fin_seq = Some(s.seq.0.wrapping_add(s.len));
            }
            continue;
        }
        let kind = if s.flags.syn() {
            SegmentKind::Handshake
        } else if s.flags.fin() || s.flags.rst() {
            SegmentKind::Close
        } else if s.len > 0 {
            SegmentKind::Data
        } else if !handshake_done
            && s.flags.ack()
            && role == Role::Client
            && conv.syn_of(Role::Client).is_some()
        {
            SegmentKind::Handshake
        } else if peer_fin_seq.is_some_and(|f| s.ack.0 == f.wrapping_add(1)) {
            SegmentKind::Close
        } else if peer_high
            .is_some_and(|_| acked_data.is_none_or(|a| (s.ack.0.wrapping_sub(a) as i32) > 0))
            && peer_high.is_some_and(|h| (s.ack.0.wrapping_sub(h) as i32) <= 0)
            && s.ack.0 != conv.isn_of(peer).map(|i| i.0.wrapping_add(1)).unwrap_or(0)
        {
            SegmentKind::DataAck
        } else if last_window.is_some_and(|w| s.window > w) {
            SegmentKind::WindowUpdate
        } else {
            SegmentKind::Other
        };
        if s.flags.ack() && !s.flags.syn() {
            handshake_done = true;
            acked_data = Some(s.ack.0);
        }
        if !s.flags.syn() {
            last_window = Some(s.window);
        }
        out.push(kind);
    }
    out
}

/// Aligns recorded segments (with their kinds) against ours and judges each.
pub fn compare(
    recorded: &[SentSegment],
    kinds: &[SegmentKind],
    ours: &[SentSegment],
    wscale: u8,
    tol: WindowTolerance,
    bases: Bases,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut p = 0usize;
    // Once data segments were cut differently, later data sequence numbers
    // differ as a consequence.
    let mut sizing_diverged = false;
    for (i, r) in recorded.iter().enumerate() {
        let kind = kinds.get(i).copied().unwrap_or(SegmentKind::Other);
        let mut window_end = (p + LOOKAHEAD).min(ours.len());
        if r.pure_ack() && !(p..window_end).any(|j| ours[j].key() == r.key()) {
            // Our ACKs of less than this one: Linux acknowledged those bytes together.
            while p < ours.len()
                && ours[p].pure_ack()
                && ours[p].seq == r.seq
                && (r.ack.wrapping_sub(ours[p].ack) as i32) > 0
            {
                out.push(Outcome::Extra {
                    ours: ours[p],
                    rule: Some(Rule::DelayedAckTiming),
                });
                p += 1;
            }
            window_end = (p + LOOKAHEAD).min(ours.len());
        }
        let exact = (p..window_end).find(|&j| ours[j].key() == r.key());
        if let Some(j) = exact {
            for extra in &ours[p..j] {
                out.push(Outcome::Extra {
                    ours: *extra,
                    rule: extra_rule(extra, recorded, i),
                });
            }
            let o = ours[j];
            if tol.accepts(
                o.window,
                r.window,
                if r.flags & SYN != 0 { 0 } else { wscale },
            ) {
                out.push(Outcome::Match {
                    recorded: *r,
                    ours: o,
                    kind,
                });
            } else {
                out.push(Outcome::Differ {
                    recorded: *r,
                    ours: o,
                    kind,
                    fields: vec![format!(
                        "window {} vs {} (recorded vs ours, bytes)",
                        r.window, o.window
                    )],
                    rule: Some(Rule::WindowAutotuning),
                });
            }
            p = j + 1;
            continue;
        }
        // No exact match: pair with a segment of the same kind of control bits,
        // if the next one looks like the same segment; otherwise it is missing.
        let pair = (p..window_end).find(|&j| same_shape(&ours[j], r));
        match pair {
            // A recorded pure ACK pairs only with our pure ACK of the same
            // acknowledgement; otherwise ours is not its counterpart.
            Some(j) if (j == p || !r.pure_ack()) && (!r.pure_ack() || ours[j].ack == r.ack) => {
                for extra in &ours[p..j] {
                    out.push(Outcome::Extra {
                        ours: *extra,
                        rule: extra_rule(extra, recorded, i),
                    });
                }
                let o = ours[j];
                let fields = field_differences(r, &o, wscale, tol, bases);
                let mut rule = differ_rule(r, &o);
                if rule.is_none() && sizing_diverged && r.len > 0 {
                    rule = Some(Rule::SegmentSizing);
                }
                if rule == Some(Rule::SegmentSizing) {
                    sizing_diverged = true;
                }
                out.push(Outcome::Differ {
                    recorded: *r,
                    ours: o,
                    kind,
                    fields,
                    rule,
                });
                p = j + 1;
            }
            _ => {
                let mut rule = missing_rule(r, kind, ours.get(p..).unwrap_or(&[]));
                if rule.is_none() && sizing_diverged {
                    rule = Some(Rule::SegmentSizing);
                }
                out.push(Outcome::Missing {
                    recorded: *r,
                    kind,
                    rule,
                });
            }
        }
    }
    for extra in &ours[p.min(ours.len())..] {
        out.push(Outcome::Extra {
            ours: *extra,
            rule: extra_rule(extra, recorded, recorded.len()),
        });
    }
    out
}

fn same_shape(o: &SentSegment, r: &SentSegment) -> bool {
    let ctl = |f: u16| f & (SYN | FIN | RST | ACK);
    ctl(o.flags) == ctl(r.flags) && (o.len > 0) == (r.len > 0)
}

fn field_differences(
    r: &SentSegment,
    o: &SentSegment,
    wscale: u8,
    tol: WindowTolerance,
    b: Bases,
) -> Vec<String> {
    let mut f = Vec::new();
    if r.flags & CONTROL_COMPARED != o.flags & CONTROL_COMPARED {
        f.push(format!(
            "flags {} vs {}",
            flag_names(r.flags),
            flag_names(o.flags)
        ));
    }
    if r.seq != o.seq {
        f.push(format!(
            "seq {} vs {}",
            r.seq.wrapping_sub(b.seq),
            o.seq.wrapping_sub(b.seq)
        ));
    }
    if r.ack != o.ack {
        f.push(format!(
            "ack {} vs {}",
            r.ack.wrapping_sub(b.ack),
            o.ack.wrapping_sub(b.ack)
        ));
    }
    if r.len != o.len {
        f.push(format!("len {} vs {}", r.len, o.len));
    }
    if !tol.accepts(
        o.window,
        r.window,
        if r.flags & SYN != 0 { 0 } else { wscale },
    ) {
        f.push(format!("window {} vs {}", r.window, o.window));
    }
    f
}

fn differ_rule(r: &SentSegment, o: &SentSegment) -> Option<Rule> {
    if r.len != o.len && r.len > 0 && o.len > 0 {
        Some(Rule::SegmentSizing)
    } else if r.pure_ack() && o.pure_ack() && r.ack != o.ack {
        Some(Rule::DelayedAckTiming)
    } else if r.seq == o.seq && r.ack == o.ack && r.len == o.len {
        Some(Rule::WindowAutotuning)
    } else {
        None
    }
}

/// An extra pure ACK of ours whose acknowledgement a later recorded segment
/// covers is delayed-ACK timing.
fn extra_rule(o: &SentSegment, recorded: &[SentSegment], from: usize) -> Option<Rule> {
    if o.pure_ack() {
        let covered = recorded[from.min(recorded.len())..]
            .iter()
            .any(|r| r.flags & ACK != 0 && (r.ack.wrapping_sub(o.ack) as i32) >= 0);
        if covered {
            return Some(Rule::DelayedAckTiming);
        }
        return Some(Rule::WindowUpdateTiming);
    }
    if o.len > 0 {
        return Some(Rule::SegmentSizing);
    }
    None
}

fn missing_rule(r: &SentSegment, kind: SegmentKind, rest: &[SentSegment]) -> Option<Rule> {
    match kind {
        SegmentKind::WindowUpdate => Some(Rule::WindowUpdateTiming),
        _ if r.pure_ack() => {
            // Ours acknowledged the same bytes later (or together with more).
            let later = rest
                .iter()
                .any(|o| o.flags & ACK != 0 && (o.ack.wrapping_sub(r.ack) as i32) >= 0);
            later.then_some(Rule::DelayedAckTiming)
        }
        SegmentKind::Data => Some(Rule::SegmentSizing),
        _ => None,
    }
}

/// "SYN,ACK" style names of control bits.
pub fn flag_names(f: u16) -> String {
    let names = [
        (FIN, "FIN"),
        (SYN, "SYN"),
        (RST, "RST"),
        (PSH, "PSH"),
        (ACK, "ACK"),
        (0x020, "URG"),
        (0x040, "ECE"),
        (0x080, "CWR"),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::conversation::split_conversations;
    use crate::replay::conversation::tests::echo_packets;

    fn seg(t: i64, flags: u16, seq: u32, ack: u32, len: u32, window: u32) -> SentSegment {
        SentSegment {
            time_ns: t,
            flags,
            seq,
            ack,
            len,
            window_raw: 0,
            window,
        }
    }

    #[test]
    fn classifies_echo_server_segments() {
        let conv = &split_conversations(&echo_packets())[0];
        let kinds = classify(conv, Role::Server);
        // SYN-ACK, ACK of data, echo data, FIN.
        assert_eq!(
            kinds,
            vec![
                SegmentKind::Handshake,
                SegmentKind::DataAck,
                SegmentKind::Data,
                SegmentKind::Close
            ]
        );
        let kinds = classify(conv, Role::Client);
        assert_eq!(
            kinds,
            vec![
                SegmentKind::Handshake,
                SegmentKind::Handshake,
                SegmentKind::Data,
                SegmentKind::DataAck,
                SegmentKind::Close,
                SegmentKind::Close
            ]
        );
    }

    #[test]
    fn exact_and_tolerated_window_match() {
        let r = [seg(0, ACK, 1, 6, 0, 65536)];
        let o = [seg(5, ACK, 1, 6, 0, 65000)];
        let out = compare(
            &r,
            &[SegmentKind::DataAck],
            &o,
            7,
            WindowTolerance::default(),
            Bases::default(),
        );
        assert!(out[0].is_match(), "{out:?}");
        let o = [seg(5, ACK, 1, 6, 0, 1000)];
        let out = compare(
            &r,
            &[SegmentKind::DataAck],
            &o,
            7,
            WindowTolerance::default(),
            Bases::default(),
        );
        match &out[0] {
            Outcome::Differ { fields, rule, .. } => {
                assert!(fields[0].starts_with("window 65536 vs 1000"), "{fields:?}");
                assert_eq!(*rule, Some(Rule::WindowAutotuning));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn extra_ack_is_delayed_ack_timing_and_does_not_shift_alignment() {
        // Linux acked 100 and 300 at once; ours acked 100, 200, 300.
        let r = [
            seg(0, ACK, 1, 100, 0, 1000),
            seg(2, ACK, 1, 300, 0, 1000),
            seg(3, ACK | FIN, 1, 300, 0, 1000),
        ];
        let o = [
            seg(0, ACK, 1, 100, 0, 1000),
            seg(1, ACK, 1, 200, 0, 1000),
            seg(2, ACK, 1, 300, 0, 1000),
            seg(3, ACK | FIN, 1, 300, 0, 1000),
        ];
        let kinds = [
            SegmentKind::DataAck,
            SegmentKind::DataAck,
            SegmentKind::Close,
        ];
        let out = compare(
            &r,
            &kinds,
            &o,
            0,
            WindowTolerance::default(),
            Bases::default(),
        );
        assert_eq!(out.len(), 4);
        assert!(out[0].is_match());
        assert_eq!(
            out[1],
            Outcome::Extra {
                ours: o[1],
                rule: Some(Rule::DelayedAckTiming)
            }
        );
        assert!(out[2].is_match() && out[3].is_match(), "{out:?}");
    }

    #[test]
    fn differing_fields_are_named() {
        let r = [seg(0, ACK | PSH, 1, 6, 100, 1000)];
        let o = [seg(0, ACK, 1, 6, 60, 1000)];
        let out = compare(
            &r,
            &[SegmentKind::Data],
            &o,
            0,
            WindowTolerance::default(),
            Bases::default(),
        );
        match &out[0] {
            Outcome::Differ { fields, rule, .. } => {
                assert_eq!(fields, &vec!["len 100 vs 60".to_string()]);
                assert_eq!(*rule, Some(Rule::SegmentSizing));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_segment_when_nothing_corresponds() {
        let r = [seg(0, ACK | FIN, 1, 6, 0, 1000)];
        let out = compare(
            &r,
            &[SegmentKind::Close],
            &[],
            0,
            WindowTolerance::default(),
            Bases::default(),
        );
        assert!(
            matches!(out[0], Outcome::Missing { rule: None, .. }),
            "{out:?}"
        );
    }
}
