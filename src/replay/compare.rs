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
    /// The recorded side sent bytes again that it had sent before.
    RecordedRetransmission,
}

impl Rule {
    pub fn explain(self) -> &'static str {
        match self {
            Rule::DelayedAckTiming => "delayed-ACK timing: Linux acknowledges in quick-ack mode at the start and coalesces ACKs for segments that arrive in one receive batch; RFC 1122 §4.2.3.2 allows either",
            Rule::WindowAutotuning => "window autotuning: Linux sizes its receive window from rcv_ssthresh and grows it as data arrives (tcp_rcv_space_adjust); tcpsim's buffer is fixed",
            Rule::SegmentSizing => "segment sizing: Linux on loopback sends GSO super-segments (tcp_tso_segs) of pieces bounded by half the peer's largest window (tcp_bound_to_half_wnd), cut where its send-queue buffers end; RFC 9293 §3.8.6.2.1 leaves segmentation to the sender",
            Rule::PshPerWrite => "PSH marks the last segment of each write (sendmsg) on Linux",
            Rule::WindowUpdateTiming => "window-update timing: a window update follows the application's read, whose moment is inferred",
            Rule::RecordedRetransmission => "retransmission by the recorded side: it sent bytes again that it had sent before; tcpsim's endpoint, whose segments the script acknowledged in time, had no cause to (RFC 6298 §5)",
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
    /// The same bytes cut differently: one recorded segment whose sequence
    /// range consecutive segments of ours tile exactly, or one of ours that
    /// covers several recorded ones (same first seq, contiguous, same total
    /// length, same ack, PSH and FIN only on the last piece, windows within
    /// tolerance). Counted as a match under rule `segment-sizing`.
    Coalesced {
        recorded: SentSegment,
        /// The segment(s) of ours covering the same byte range.
        ours: Vec<SentSegment>,
        kind: SegmentKind,
        /// How many recorded segments share that byte range (1 when several
        /// of ours tile this one).
        recorded_pieces: usize,
        rule: Rule,
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
            | Outcome::Coalesced { kind, .. }
            | Outcome::Differ { kind, .. }
            | Outcome::Missing { kind, .. } => Some(*kind),
            Outcome::Extra { .. } => None,
        }
    }
    /// A match, exact or coalesced.
    pub fn is_match(&self) -> bool {
        matches!(self, Outcome::Match { .. } | Outcome::Coalesced { .. })
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
    let resent = recorded_retransmissions(recorded);
    let mut i = 0usize;
    while i < recorded.len() {
        let r = &recorded[i];
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
            i += 1;
            continue;
        }
        // The same bytes cut into other segments (GSO super-segments).
        if let Some((j, m, n)) = find_tiling(recorded, i, ours, p, window_end) {
            for extra in &ours[p..j] {
                out.push(Outcome::Extra {
                    ours: *extra,
                    rule: extra_rule(extra, recorded, i),
                });
            }
            let pieces = &ours[j..j + n];
            for (k, rec) in recorded[i..i + m].iter().enumerate() {
                let kind = kinds.get(i + k).copied().unwrap_or(SegmentKind::Other);
                let windows_ok = pieces
                    .iter()
                    .all(|o| tol.accepts(o.window, rec.window, wscale));
                if windows_ok {
                    out.push(Outcome::Coalesced {
                        recorded: *rec,
                        ours: pieces.to_vec(),
                        kind,
                        recorded_pieces: m,
                        rule: Rule::SegmentSizing,
                    });
                } else {
                    let o = pieces[pieces.len() - 1];
                    out.push(Outcome::Differ {
                        recorded: *rec,
                        ours: o,
                        kind,
                        fields: vec![
                            format!("cut as {m} recorded vs {n} of ours"),
                            format!("window {} vs {}", rec.window, o.window),
                        ],
                        rule: Some(Rule::SegmentSizing),
                    });
                }
            }
            p = j + n;
            i += m;
            continue;
        }
        // Once segments were cut differently, data pairs by where it starts:
        // data of ours starting before this recorded segment (and matching
        // none) is extra, and a recorded segment starting inside data ours
        // sent in other segments is missing, so both sides come back into
        // step at the next common boundary.
        if sizing_diverged && is_data(r) && !(p..window_end).any(|j| ours[j].seq == r.seq) {
            while p < ours.len() && is_data(&ours[p]) && seq_lt(ours[p].seq, r.seq) {
                out.push(Outcome::Extra {
                    ours: ours[p],
                    rule: Some(Rule::SegmentSizing),
                });
                p += 1;
            }
            if ours
                .get(p)
                .is_some_and(|o| is_data(o) && seq_lt(r.seq, o.seq))
            {
                let rule = if resent.get(i).copied().unwrap_or(false) {
                    Rule::RecordedRetransmission
                } else {
                    Rule::SegmentSizing
                };
                out.push(Outcome::Missing {
                    recorded: *r,
                    kind,
                    rule: Some(rule),
                });
                i += 1;
                continue;
            }
            window_end = (p + LOOKAHEAD).min(ours.len());
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
                if resent.get(i).copied().unwrap_or(false) {
                    rule = Some(Rule::RecordedRetransmission);
                }
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
        i += 1;
    }
    for extra in &ours[p.min(ours.len())..] {
        out.push(Outcome::Extra {
            ours: *extra,
            rule: extra_rule(extra, recorded, recorded.len()),
        });
    }
    out
}

/// For each recorded segment: it carries data that lies wholly below the
/// end of what the recorded side had sent before it (a retransmission).
fn recorded_retransmissions(recorded: &[SentSegment]) -> Vec<bool> {
    let mut high: Option<u32> = None;
    recorded
        .iter()
        .map(|r| {
            let end = r.seq.wrapping_add(r.len);
            let resent = r.len > 0 && high.is_some_and(|h| (h.wrapping_sub(end) as i32) >= 0);
            if r.len > 0 && high.is_none_or(|h| (end.wrapping_sub(h) as i32) > 0) {
                high = Some(end);
            }
            resent
        })
        .collect()
}

/// Looks, among ours from `p` to `window_end`, for a segment that starts
/// where recorded segment `i` starts, with the same ack, and either is
/// shorter (then consecutive segments of ours must tile the recorded one) or
/// longer (then consecutive recorded segments must tile it). Returns the
/// index of our first segment, the number of recorded segments and the
/// number of ours in the tiling; one of the two counts is 1.
fn find_tiling(
    recorded: &[SentSegment],
    i: usize,
    ours: &[SentSegment],
    p: usize,
    window_end: usize,
) -> Option<(usize, usize, usize)> {
    let r = recorded.get(i)?;
    if r.len == 0 {
        return None;
    }
    (p..window_end).find_map(|j| {
        let o = &ours[j];
        if o.seq != r.seq || o.ack != r.ack {
            None
        } else if o.len < r.len {
            tiles(r, &ours[j..]).map(|n| (j, 1, n))
        } else if o.len > r.len {
            tiles(o, &recorded[i..]).map(|m| (j, m, 1))
        } else {
            None
        }
    })
}

/// How many of `pieces`, from the first, tile `whole` exactly: the first
/// starts at its seq, each starts where the previous ended, all carry its
/// ack, and their lengths add up to its length. PSH and FIN may only be on
/// the last piece, which carries FIN exactly when `whole` does. At least two
/// pieces; SYN and RST segments never tile.
///
/// RFC 9293 §3.8.6.2.1 leaves the cutting of the stream into segments to
/// the sender; Linux on loopback hands the device GSO super-segments of up to
/// 64 KiB (`tcp_tso_segs`, `tcp_tso_autosize`) that a capture on `lo` shows
/// as one frame, where tcpsim's endpoint sends MSS-sized segments.
pub fn tiles(whole: &SentSegment, pieces: &[SentSegment]) -> Option<usize> {
    let data_only = |s: &SentSegment| s.len > 0 && s.flags & (SYN | RST) == 0;
    if !data_only(whole) {
        return None;
    }
    let mut covered: u64 = 0;
    for (k, piece) in pieces.iter().enumerate() {
        if !data_only(piece)
            || piece.seq != whole.seq.wrapping_add(covered as u32)
            || piece.ack != whole.ack
            || piece.flags & ACK != whole.flags & ACK
        {
            return None;
        }
        covered += u64::from(piece.len);
        if covered > u64::from(whole.len) {
            return None;
        }
        if covered == u64::from(whole.len) {
            let fin_ok = piece.flags & FIN == whole.flags & FIN;
            return (k >= 1 && fin_ok).then_some(k + 1);
        }
        if piece.flags & (PSH | FIN) != 0 {
            return None;
        }
    }
    None
}

/// Carries payload; not a SYN or RST.
fn is_data(s: &SentSegment) -> bool {
    s.len > 0 && s.flags & (SYN | RST) == 0
}

/// `a` comes before `b` in sequence space (RFC 9293 §3.4, modulo 2^32).
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
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
    fn tiling_rule_requires_exact_contiguous_cover_with_same_ack() {
        // A recorded super-segment of 300 bytes from seq 1, then a FIN.
        let whole = seg(0, ACK | PSH, 1, 6, 300, 1000);
        let tiles_it = |pieces: &[SentSegment]| tiles(&whole, pieces);
        // Exactly tiled by three pieces, PSH on the last only.
        let good = [
            seg(0, ACK, 1, 6, 100, 1000),
            seg(0, ACK, 101, 6, 100, 1000),
            seg(0, ACK | PSH, 201, 6, 100, 1000),
            seg(0, ACK, 301, 6, 50, 1000),
        ];
        assert_eq!(tiles_it(&good), Some(3));
        // A gap between pieces.
        let gap = [seg(0, ACK, 1, 6, 100, 1000), seg(0, ACK, 102, 6, 199, 1000)];
        assert_eq!(tiles_it(&gap), None);
        // Overlapping pieces.
        let overlap = [seg(0, ACK, 1, 6, 100, 1000), seg(0, ACK, 100, 6, 201, 1000)];
        assert_eq!(tiles_it(&overlap), None);
        // A piece with another ack.
        let other_ack = [seg(0, ACK, 1, 6, 100, 1000), seg(0, ACK, 101, 7, 200, 1000)];
        assert_eq!(tiles_it(&other_ack), None);
        // Wrong total: the pieces run past the recorded end, or stop short.
        let too_long = [seg(0, ACK, 1, 6, 100, 1000), seg(0, ACK, 101, 6, 250, 1000)];
        assert_eq!(tiles_it(&too_long), None);
        assert_eq!(tiles_it(&good[..2]), None);
        // PSH on a piece other than the last.
        let early_psh = [
            seg(0, ACK | PSH, 1, 6, 100, 1000),
            seg(0, ACK, 101, 6, 200, 1000),
        ];
        assert_eq!(tiles_it(&early_psh), None);
        // A FIN must be on the last piece exactly when the whole has one.
        let fin_whole = seg(0, ACK | FIN, 1, 6, 300, 1000);
        let with_fin = [
            seg(0, ACK, 1, 6, 100, 1000),
            seg(0, ACK | FIN, 101, 6, 200, 1000),
        ];
        assert_eq!(tiles(&fin_whole, &with_fin), Some(2));
        assert_eq!(tiles(&fin_whole, &good[..3]), None);
        assert_eq!(tiles(&whole, &with_fin), None);
        // One piece is not a tiling.
        assert_eq!(tiles_it(&[seg(0, ACK, 1, 6, 300, 1000)]), None);
    }

    #[test]
    fn super_segments_compare_as_coalesced_matches_both_ways() {
        // One recorded 300-byte super-segment, ours cut in three; then ours
        // sends 200 bytes in one segment where the recorded side sent two.
        let r = [
            seg(0, ACK, 1, 6, 300, 1000),
            seg(1, ACK, 301, 6, 120, 1000),
            seg(2, ACK | PSH, 421, 6, 80, 1000),
            seg(3, ACK | FIN, 501, 6, 0, 1000),
        ];
        let o = [
            seg(0, ACK, 1, 6, 100, 1000),
            seg(0, ACK, 101, 6, 100, 1000),
            seg(0, ACK, 201, 6, 100, 1000),
            seg(1, ACK | PSH, 301, 6, 200, 1000),
            seg(3, ACK | FIN, 501, 6, 0, 1000),
        ];
        let kinds = [
            SegmentKind::Data,
            SegmentKind::Data,
            SegmentKind::Data,
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
        assert_eq!(out.len(), 4, "{out:?}");
        match &out[0] {
            Outcome::Coalesced {
                ours,
                recorded_pieces,
                rule,
                ..
            } => {
                assert_eq!(ours.len(), 3);
                assert_eq!(*recorded_pieces, 1);
                assert_eq!(*rule, Rule::SegmentSizing);
            }
            other => panic!("{other:?}"),
        }
        for o in &out[1..3] {
            assert!(
                matches!(o, Outcome::Coalesced { ours, recorded_pieces: 2, .. } if ours.len() == 1),
                "{o:?}"
            );
        }
        assert!(matches!(out[3], Outcome::Match { .. }), "{out:?}");
        assert!(out.iter().all(Outcome::is_match));
        // The same with a gap in ours (bytes 201..=210 missing): no match.
        let mut gappy = o;
        gappy[2] = seg(0, ACK, 211, 6, 90, 1000);
        let out = compare(
            &r,
            &kinds,
            &gappy,
            0,
            WindowTolerance::default(),
            Bases::default(),
        );
        assert!(!out[0].is_match(), "{out:?}");
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
