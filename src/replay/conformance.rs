//! Conformance replay: one side of a captured connection is the script; its
//! segments go, at their recorded times, into a `tcp::Endpoint` that plays
//! the other side, configured from what the capture shows. Every segment
//! the endpoint sends is compared with the one the real peer sent.

use super::compare::{
    classify, compare, Bases, Outcome, Rule, SegmentKind, SentSegment, WindowTolerance,
};
use super::conversation::{Conversation, Role, Segment};
use super::infer::{infer_script, AppCall, ReadMode, SideScript};
use crate::tcp::{Config, Duration, Endpoint, Instant, Payload, TcpState};
use crate::wire::SeqNumber;
use std::collections::BTreeMap;

/// Options of a conformance replay.
#[derive(Clone, Copy, Debug)]
pub struct ReplayOptions {
    /// The side tcpsim's endpoint plays; the other side's segments are the script.
    pub play: Role,
    pub tolerance: WindowTolerance,
    /// How long after the last recorded segment timers keep running.
    pub tail: Duration,
}

impl Default for ReplayOptions {
    fn default() -> ReplayOptions {
        ReplayOptions {
            play: Role::Server,
            tolerance: WindowTolerance::default(),
            tail: Duration::from_secs(1),
        }
    }
}

/// Upper bound on steps of one replay (inputs, timer firings and
/// transmissions together), so no capture can make it run away.
const MAX_STEPS: usize = 10_000_000;

/// Counts over the recorded segments.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Segments the real peer sent.
    pub recorded: usize,
    pub matched: usize,
    /// Of the matched: recorded segments whose bytes tcpsim's endpoint sent
    /// cut into other segments (`Outcome::Coalesced`).
    pub coalesced: usize,
    pub differ: usize,
    pub missing: usize,
    /// Segments only tcpsim's endpoint sent.
    pub extra: usize,
    /// matched / recorded.
    pub match_rate: f64,
    /// Segments whose flags, seq, ack and length equal the recorded ones
    /// (the window aside).
    pub exact: usize,
    /// Per kind of recorded segment: matched, exact apart from the window, total.
    pub by_kind: BTreeMap<SegmentKind, KindCount>,
    /// How many differences each rule explains.
    pub by_rule: Vec<(Rule, usize)>,
    /// Differences no rule explains.
    pub unexplained: usize,
}

impl Summary {
    /// All recorded segments of this kind matched (vacuously true when none).
    pub fn kind_all_match(&self, kind: SegmentKind) -> bool {
        self.by_kind.get(&kind).is_none_or(|k| k.matched == k.total)
    }
    /// All recorded segments of this kind have their flags, seq, ack and
    /// length reproduced exactly (windows aside).
    pub fn kind_all_exact(&self, kind: SegmentKind) -> bool {
        self.by_kind.get(&kind).is_none_or(|k| k.exact == k.total)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct KindCount {
    pub matched: usize,
    pub exact: usize,
    pub total: usize,
}

/// Everything a replay found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ReplayReport {
    pub played: Role,
    pub script: SideScript,
    pub tolerance: WindowTolerance,
    /// Relative-number bases for display: the played side's ISN and its peer's.
    pub played_isn: u32,
    pub peer_isn: u32,
    pub outcomes: Vec<Outcome>,
    pub summary: Summary,
    /// Recorded frame number of each recorded segment of the played side, in order.
    pub frames: Vec<u64>,
    /// Script segments whose ACK covered bytes the recorded side had sent
    /// but the endpoint had not yet, delivered as acknowledging what the
    /// endpoint had sent (see `ack_within_sent`).
    pub acks_within_sent: usize,
}

/// The endpoint configuration a capture shows for `role` (docs/replay.md):
/// Linux's quick-ack start is modelled by acknowledging every segment at once.
pub fn config_from_script(script: &SideScript) -> Config {
    let s = &script.settings;
    Config {
        isn: s.isn,
        mss: s.mss,
        send_buffer: 4 << 20,
        recv_buffer: s.recv_buffer.max(1) as usize,
        window_scale: s.wscale,
        sack: s.sack,
        timestamps: s.timestamps,
        // The writes are inferred at the moments Linux sent their first
        // segment, so its Nagle test (and autocorking, and the pushes inside
        // a sendmsg that skip the test: TCP_NAGLE_PUSH) are already in their
        // timing; Nagle in the endpoint would hold data a second time.
        nagle: false,
        delayed_ack: None,
        ..Config::default()
    }
}

/// Linux bounds a segment to half the largest window the peer has
/// advertised so far (`tcp_bound_to_half_wnd`, recomputed by `tcp_sync_mss`
/// whenever that window grows); tcpsim's endpoint sizes segments by the
/// MSS. When the played side sends data, the replay bounds the endpoint's
/// segment size the same way after every script segment
/// (`Endpoint::bound_send_mss`), so its segments are cut as Linux cut them
/// before GSO. Returns the bound in payload bytes for a largest window of
/// `max_window` bytes: half of it when it exceeds 536 bytes
/// (TCP_MSS_DEFAULT), all of it otherwise, never below 68 bytes less the
/// headers (20, and 12 with timestamps).
pub fn half_window_bound(max_window: u32, timestamps: bool) -> u32 {
    let cutoff = if max_window > 536 {
        max_window / 2
    } else {
        max_window
    };
    let headers = if timestamps { 32 } else { 20 };
    cutoff.max(68 - headers)
}

/// A recorded segment as the endpoint receives it; payload as generated
/// content at its stream offset.
pub fn to_tcp_segment(conv: &Conversation, seg: &Segment) -> crate::tcp::Segment {
    let (src, dst) = match seg.from {
        Role::Client => (conv.client.port(), conv.server.port()),
        Role::Server => (conv.server.port(), conv.client.port()),
    };
    let isn = conv.isn_of(seg.from).map(|s| s.0).unwrap_or(0);
    let rel = seg.seq.0.wrapping_sub(isn);
    let offset = u64::from(rel.wrapping_add(u32::from(seg.flags.syn())).wrapping_sub(1));
    let mut out = crate::tcp::Segment::new(src, dst, seg.seq, seg.ack, seg.flags.0);
    out.window = seg.window;
    out.options = seg.options;
    out.payload = if seg.len == 0 {
        Payload::Empty
    } else {
        Payload::Pattern {
            offset,
            len: seg.len,
        }
    };
    out
}

enum Input<'a> {
    App(AppCall),
    Segment(&'a Segment),
    /// A slow reader's read, up to this many bytes in all.
    ReadUpTo(u64),
}

/// Replays `conv` with tcpsim's endpoint playing `opts.play`.
pub fn replay(conv: &Conversation, opts: &ReplayOptions) -> ReplayReport {
    let played = opts.play;
    let script = infer_script(conv, played);
    let cfg = config_from_script(&script);
    let mut ep = Endpoint::new(cfg);
    // The largest window the script side advertised so far, when the played
    // side sends data (see `half_window_bound`).
    let mut peer_max_window: Option<u32> = None;
    let bound_segments = conv.bytes_sent(played) > 0;
    let timestamps = conv.timestamps_negotiated();
    let t0 = conv.segments.first().map(|s| s.time_ns).unwrap_or(0);
    let at = |t: i64| Instant::from_nanos(t.saturating_sub(t0).max(0) as u64);
    let (local_port, remote_port) = match played {
        Role::Client => (conv.client.port(), conv.server.port()),
        Role::Server => (conv.server.port(), conv.client.port()),
    };
    // Windows the endpoint sends are scaled by its own shift once both sides offered scaling.
    let wscale = conv.wscale_of(played);

    // Inputs in time order; application calls first at equal times.
    let mut inputs: Vec<(i64, u8, Input)> = Vec::new();
    for a in &script.actions {
        inputs.push((a.time_ns, 0, Input::App(a.call)));
    }
    for s in conv.segments.iter().filter(|s| s.from != played) {
        inputs.push((s.time_ns, 1, Input::Segment(s)));
    }
    // Reads of a slow reader (see `read_targets`): those the recorded side
    // made on its own (a window update no segment prompted) are timed inputs.
    let (read_targets, timed_reads) = read_targets(conv, played, script.settings.recv_buffer);
    if script.read_mode == ReadMode::Scripted {
        for (t, target) in timed_reads {
            inputs.push((t, 0, Input::ReadUpTo(target)));
        }
    }
    inputs.sort_by_key(|(t, o, _)| (*t, *o));

    let mut ours: Vec<SentSegment> = Vec::new();
    let mut pending_write: u64 = 0;
    let mut steps = 0usize;
    let out = Output { t0, wscale };

    let mut read_so_far = 0u64;
    // Script ACKs of bytes the recorded side had sent but the endpoint has
    // not sent yet are taken as acknowledging what the endpoint has sent.
    let recorded_high = recorded_high_water(conv, played);
    let peer_shift = conv.wscale_of(played.peer());
    let mut acks_within_sent = 0usize;

    for (k, (t, _, input)) in inputs.iter().enumerate() {
        let now = at(*t);
        out.run_timers(&mut ep, now, &mut ours, &mut steps);
        match input {
            Input::App(call) => match call {
                AppCall::Listen => {
                    let _ = ep.listen(local_port);
                }
                AppCall::Connect => {
                    let _ = ep.connect(now, local_port, remote_port);
                }
                AppCall::Write { bytes } => pending_write += u64::from(*bytes),
                // A slow reader's reads follow the recorded windows (read_targets).
                AppCall::ReadAll if script.read_mode == ReadMode::Scripted => {}
                AppCall::ReadAll => {
                    ep.recv_discard(usize::MAX);
                }
                AppCall::ShutdownWrite => {
                    flush_writes(&mut ep, &mut pending_write);
                    let _ = ep.shutdown();
                }
                AppCall::Close => {
                    flush_writes(&mut ep, &mut pending_write);
                    let _ = ep.close();
                }
                AppCall::Abort => ep.abort(),
            },
            Input::ReadUpTo(target) => {
                let want = target.saturating_sub(read_so_far);
                read_so_far += ep.recv_discard(usize::try_from(want).unwrap_or(usize::MAX)) as u64;
            }
            Input::Segment(s) => {
                let mut seg = to_tcp_segment(conv, s);
                let synchronized = matches!(
                    ep.state(),
                    TcpState::Established
                        | TcpState::FinWait1
                        | TcpState::FinWait2
                        | TcpState::CloseWait
                        | TcpState::Closing
                        | TcpState::LastAck
                );
                if let Some(&high) = recorded_high.get(&s.frame).filter(|_| synchronized) {
                    if ack_within_sent(&mut seg, ep.snd_nxt(), high, peer_shift) {
                        acks_within_sent += 1;
                    }
                }
                ep.handle_segment(now, seg);
                if bound_segments && (s.flags.ack() || s.flags.syn()) {
                    let w = conv.window_bytes(s);
                    if peer_max_window.is_none_or(|m| w > m) {
                        peer_max_window = Some(w);
                        ep.bound_send_mss(half_window_bound(w, timestamps));
                    }
                }
                match script.read_mode {
                    ReadMode::Immediate => {
                        ep.recv_discard(usize::MAX);
                    }
                    ReadMode::Scripted => {
                        if let Some(&target) = read_targets.get(&s.frame) {
                            let want = target.saturating_sub(read_so_far);
                            read_so_far +=
                                ep.recv_discard(usize::try_from(want).unwrap_or(usize::MAX)) as u64;
                        }
                    }
                }
            }
        }
        flush_writes(&mut ep, &mut pending_write);
        // Application calls made at one instant (a write, then close) reach
        // the endpoint together, as one system call after another reaches
        // the kernel before the segments they cause leave: a FIN then rides
        // on the last data segment (RFC 9293 §3.10.4) as Linux's does.
        let next_is_app_now = matches!(
            inputs.get(k + 1),
            Some((t2, _, Input::App(_))) if t2 == t
        ) && matches!(input, Input::App(_));
        if !next_is_app_now {
            out.drain(&mut ep, now, &mut ours, &mut steps);
        }
        if steps > MAX_STEPS {
            break;
        }
    }
    let last = conv.segments.last().map(|s| s.time_ns).unwrap_or(t0);
    let end = at(last) + opts.tail;
    out.run_timers(&mut ep, end, &mut ours, &mut steps);

    let recorded_segs: Vec<&Segment> = conv.segments.iter().filter(|s| s.from == played).collect();
    let recorded: Vec<SentSegment> = recorded_segs
        .iter()
        .map(|s| SentSegment::from_recorded(conv, s))
        .collect();
    let kinds = classify(conv, played);
    let bases = Bases {
        seq: conv.isn_of(played).map(|s| s.0).unwrap_or(0),
        ack: conv.isn_of(played.peer()).map(|s| s.0).unwrap_or(0),
    };
    let outcomes = compare(&recorded, &kinds, &ours, wscale, opts.tolerance, bases);
    let summary = summarize(&outcomes, recorded.len());
    ReplayReport {
        played,
        tolerance: opts.tolerance,
        played_isn: conv.isn_of(played).map(|s| s.0).unwrap_or(0),
        peer_isn: conv.isn_of(played.peer()).map(|s| s.0).unwrap_or(0),
        frames: recorded_segs.iter().map(|s| s.frame).collect(),
        acks_within_sent,
        script,
        outcomes,
        summary,
    }
}

/// For each script segment (by frame), the end of the sequence space the
/// recorded played side had sent by then (SYN and FIN counted).
fn recorded_high_water(
    conv: &Conversation,
    played: Role,
) -> std::collections::HashMap<u64, SeqNumber> {
    let mut out = std::collections::HashMap::new();
    let mut high: Option<SeqNumber> = None;
    for s in &conv.segments {
        if s.from == played {
            let end =
                s.seq + (s.len as usize + usize::from(s.flags.syn()) + usize::from(s.flags.fin()));
            if high.is_none_or(|h| end > h) {
                high = Some(end);
            }
        } else if let Some(h) = high {
            out.insert(s.frame, h);
        }
    }
    out
}

/// The recorded receiver acknowledges the segments the recorded sender
/// sent; when tcpsim's endpoint cut or timed its segments otherwise (GSO
/// super-segments, send-queue boundaries), a recorded ACK can cover
/// bytes the endpoint has not sent yet. RFC 9293 §3.10.7.4 has the endpoint
/// answer such an ACK with an ACK and drop the segment, which would stall the
/// replay. So an ACK beyond the endpoint's SND.NXT, up to what the recorded
/// side had sent (`recorded_high`), is delivered as acknowledging SND.NXT,
/// with the window widened so its right edge (ack + window) stays where the
/// recorded receiver put it. Returns whether the segment was changed.
fn ack_within_sent(
    seg: &mut crate::tcp::Segment,
    snd_nxt: SeqNumber,
    recorded_high: SeqNumber,
    peer_shift: u8,
) -> bool {
    if !seg.has_ack() || seg.flags.syn() || seg.ack <= snd_nxt || seg.ack > recorded_high {
        return false;
    }
    let shift = u32::from(peer_shift.min(14));
    let right = seg.ack + ((u32::from(seg.window) << shift) as usize);
    let window = ((right - snd_nxt) as u64) >> shift;
    seg.window = window.min(u64::from(u16::MAX)) as u16;
    seg.ack = snd_nxt;
    true
}

/// A slow reader's reads: for each segment the recorded side sent, the
/// payload bytes its application must have read by then so that its free
/// buffer space (`buffer` - unread) equals the window it advertised (never
/// less than before). Keyed by the script segment it answered (read right
/// after that segment arrives), or, for a segment no script segment
/// prompted (a window update after a read), timed at its own time.
type ReadTargets = (std::collections::HashMap<u64, u64>, Vec<(i64, u64)>);

fn read_targets(conv: &Conversation, played: Role, buffer: u32) -> ReadTargets {
    let mut out = std::collections::HashMap::new();
    let mut timed = Vec::new();
    let Some(peer_isn) = conv.isn_of(played.peer()) else {
        return (out, timed);
    };
    let mut best = 0u64;
    let mut last_input: Option<u64> = None;
    for s in &conv.segments {
        if s.from != played {
            last_input = Some(s.frame);
            continue;
        }
        let trigger = last_input.take();
        if !s.flags.ack() || s.flags.syn() {
            continue;
        }
        let rel = s.ack.0.wrapping_sub(peer_isn.0);
        if rel == 0 || rel > (1 << 31) {
            continue;
        }
        let received = u64::from(rel - 1);
        let unread_allowed = u64::from(buffer).saturating_sub(u64::from(conv.window_bytes(s)));
        let target = received.saturating_sub(unread_allowed).max(best);
        best = target;
        match trigger {
            Some(frame) => {
                out.insert(frame, target);
            }
            None => timed.push((s.time_ns, target)),
        }
    }
    (out, timed)
}

/// Collects what the endpoint sends, stamped with capture time.
struct Output {
    t0: i64,
    wscale: u8,
}

impl Output {
    fn drain(
        &self,
        ep: &mut Endpoint,
        now: Instant,
        ours: &mut Vec<SentSegment>,
        steps: &mut usize,
    ) {
        while let Some(seg) = ep.poll_transmit(now) {
            *steps += 1;
            let window = if seg.flags.syn() {
                u32::from(seg.window)
            } else {
                u32::from(seg.window) << self.wscale
            };
            ours.push(SentSegment {
                time_ns: self.t0.saturating_add(now.as_nanos() as i64),
                flags: seg.flags.0,
                seq: seg.seq.0,
                ack: seg.ack.0,
                len: seg.payload.len() as u32,
                window_raw: seg.window,
                window,
            });
            if *steps > MAX_STEPS {
                break;
            }
        }
    }

    /// Fires every timer due up to `until`, collecting what it sends.
    fn run_timers(
        &self,
        ep: &mut Endpoint,
        until: Instant,
        ours: &mut Vec<SentSegment>,
        steps: &mut usize,
    ) {
        while let Some(t) = ep.poll_timeout() {
            if t > until || *steps > MAX_STEPS {
                break;
            }
            *steps += 1;
            ep.handle_timeout(t);
            self.drain(ep, t, ours, steps);
        }
    }
}

/// Writes what the application still has to write, as far as the send buffer takes it.
fn flush_writes(ep: &mut Endpoint, pending: &mut u64) {
    if *pending == 0 {
        return;
    }
    let want = usize::try_from(*pending)
        .unwrap_or(usize::MAX)
        .min(ep.send_capacity());
    if want == 0 {
        return;
    }
    if let Ok(n) = ep.send_generated(want) {
        *pending -= n as u64;
    }
}

pub fn summarize(outcomes: &[Outcome], recorded: usize) -> Summary {
    let mut s = Summary {
        recorded,
        ..Summary::default()
    };
    let mut rules: BTreeMap<&'static str, (Rule, usize)> = BTreeMap::new();
    for o in outcomes {
        let (rule, explained) = match o {
            Outcome::Match { .. } => {
                s.matched += 1;
                (None, true)
            }
            Outcome::Coalesced { rule, .. } => {
                s.matched += 1;
                s.coalesced += 1;
                (Some(*rule), true)
            }
            Outcome::Differ { rule, .. } => {
                s.differ += 1;
                (*rule, rule.is_some())
            }
            Outcome::Missing { rule, .. } => {
                s.missing += 1;
                (*rule, rule.is_some())
            }
            Outcome::Extra { rule, .. } => {
                s.extra += 1;
                (*rule, rule.is_some())
            }
        };
        if let Some(kind) = o.kind() {
            let e = s.by_kind.entry(kind).or_default();
            e.total += 1;
            if o.is_match() {
                e.matched += 1;
            }
            if o.is_exact() {
                e.exact += 1;
                s.exact += 1;
            }
        }
        if let Some(r) = rule {
            rules.entry(r.explain()).or_insert((r, 0)).1 += 1;
        }
        if !explained {
            s.unexplained += 1;
        }
    }
    s.by_rule = rules.into_values().collect();
    s.match_rate = if recorded == 0 {
        1.0
    } else {
        s.matched as f64 / recorded as f64
    };
    s
}

/// The report for people: one line per segment, then the summary.
pub fn render_report(r: &ReplayReport, title: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let st = &r.script.settings;
    let _ = writeln!(out, "{title}");
    let _ = writeln!(
        out,
        "tcpsim plays the {}; the recorded {} is the script",
        r.played.name(),
        r.played.peer().name()
    );
    let _ = writeln!(
        out,
        "settings from the capture: isn {}, mss {}, wscale {}, sack {}, timestamps {}, receive buffer {} bytes, reads {}",
        st.isn,
        st.mss,
        st.wscale.map_or("none".to_string(), |w| w.to_string()),
        if st.sack { "on" } else { "off" },
        if st.timestamps { "on" } else { "off" },
        st.recv_buffer,
        match r.script.read_mode {
            ReadMode::Immediate => "as data arrives",
            ReadMode::Scripted => "so that the free buffer space follows the recorded windows",
        }
    );
    let _ = writeln!(
        out,
        "compared: flags (PSH aside), seq, ack, len exactly; window within {:.0}% of the recorded one + 2^wscale bytes",
        r.tolerance.fraction * 100.0
    );
    let _ = writeln!(
        out,
        "{:>6}  {:<13} {:<38} {:<38} verdict",
        "frame", "kind", "recorded", "tcpsim"
    );
    let mut rec_i = 0usize;
    let show = |s: &SentSegment| {
        format!(
            "{} seq={} ack={} len={} win={}",
            super::compare::flag_names(s.flags),
            s.seq.wrapping_sub(r.played_isn),
            if s.flags & 0x010 != 0 {
                s.ack.wrapping_sub(r.peer_isn)
            } else {
                0
            },
            s.len,
            s.window
        )
    };
    for o in &r.outcomes {
        let frame = if matches!(o, Outcome::Extra { .. }) {
            "-".to_string()
        } else {
            let f = r
                .frames
                .get(rec_i)
                .map_or("?".to_string(), |f| f.to_string());
            rec_i += 1;
            f
        };
        let kind = o.kind().map_or("-", |k| k.name());
        let (rec, ours, verdict) = match o {
            Outcome::Match { recorded, ours, .. } => {
                (show(recorded), show(ours), "match".to_string())
            }
            Outcome::Coalesced {
                recorded,
                ours,
                recorded_pieces,
                rule,
                ..
            } => {
                let (first, last) = match (ours.first(), ours.last()) {
                    (Some(f), Some(l)) => (f, l),
                    _ => continue,
                };
                let mut o = *first;
                o.len = last.seq.wrapping_add(last.len).wrapping_sub(first.seq);
                o.flags = last.flags;
                let verdict = if *recorded_pieces > 1 {
                    format!(
                        "match (coalesced: one of ours covers {recorded_pieces} recorded){}",
                        rule_tag(Some(*rule))
                    )
                } else {
                    format!(
                        "match (coalesced: {} of ours tile it){}",
                        ours.len(),
                        rule_tag(Some(*rule))
                    )
                };
                (show(recorded), show(&o), verdict)
            }
            Outcome::Differ {
                recorded,
                ours,
                fields,
                rule,
                ..
            } => (
                show(recorded),
                show(ours),
                format!("differ: {}{}", fields.join(", "), rule_tag(*rule)),
            ),
            Outcome::Missing { recorded, rule, .. } => (
                show(recorded),
                "(none)".to_string(),
                format!("missing{}", rule_tag(*rule)),
            ),
            Outcome::Extra { ours, rule } => (
                "(none)".to_string(),
                show(ours),
                format!("extra{}", rule_tag(*rule)),
            ),
        };
        let _ = writeln!(out, "{frame:>6}  {kind:<13} {rec:<38} {ours:<38} {verdict}");
    }
    if r.acks_within_sent > 0 {
        let _ = writeln!(
            out,
            "{} script ACK(s) covered bytes the recorded {} had sent but tcpsim had not yet: delivered as acknowledging what tcpsim had sent (window right edge kept)",
            r.acks_within_sent,
            r.played.name()
        );
    }
    let s = &r.summary;
    let _ = writeln!(
        out,
        "summary: {}/{} recorded segments match ({:.1}%, {} coalesced), {} exact apart from the window; {} differ, {} missing, {} extra; {} unexplained",
        s.matched,
        s.recorded,
        s.match_rate * 100.0,
        s.coalesced,
        s.exact,
        s.differ,
        s.missing,
        s.extra,
        s.unexplained
    );
    let kinds: Vec<String> = s
        .by_kind
        .iter()
        .map(|(k, c)| format!("{} {}/{} ({} exact)", k.name(), c.matched, c.total, c.exact))
        .collect();
    let _ = writeln!(out, "by kind (matched/total): {}", kinds.join(", "));
    for (rule, n) in &s.by_rule {
        let _ = writeln!(out, "rule ({n}x) {}", rule.explain());
    }
    out
}

fn rule_tag(rule: Option<Rule>) -> String {
    match rule {
        Some(r) => {
            let name = serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            format!(" [{name}]")
        }
        None => " [unexplained]".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::conversation::split_conversations;
    use crate::replay::conversation::tests::echo_packets;

    #[test]
    fn echo_replayed_as_server_matches_handshake_acks_and_close() {
        let conv = &split_conversations(&echo_packets())[0];
        let r = replay(conv, &ReplayOptions::default());
        let text = render_report(&r, "echo");
        assert!(r.summary.kind_all_match(SegmentKind::Handshake), "{text}");
        assert!(r.summary.kind_all_match(SegmentKind::DataAck), "{text}");
        assert!(r.summary.kind_all_match(SegmentKind::Close), "{text}");
        assert_eq!(r.summary.recorded, 4, "{text}");
        assert_eq!(r.summary.matched, 4, "{text}");
    }

    #[test]
    fn ack_of_unsent_bytes_acknowledges_what_was_sent_keeping_the_right_edge() {
        let mk = |ack: u32, window: u16| {
            let mut s = crate::tcp::Segment::new(1, 2, SeqNumber(500), SeqNumber(ack), 0x010);
            s.window = window;
            s
        };
        // Scale 3: window 100 << 3 = 800 bytes from ack 2000: right edge 2800.
        let mut seg = mk(2000, 100);
        assert!(ack_within_sent(
            &mut seg,
            SeqNumber(1600),
            SeqNumber(2000),
            3
        ));
        assert_eq!(seg.ack, SeqNumber(1600));
        assert_eq!(u32::from(seg.window) << 3, 1200);
        // Within what the endpoint sent: unchanged.
        let mut seg = mk(1500, 100);
        assert!(!ack_within_sent(
            &mut seg,
            SeqNumber(1600),
            SeqNumber(2000),
            3
        ));
        assert_eq!((seg.ack, seg.window), (SeqNumber(1500), 100));
        // Beyond what the recorded side had sent: left for the endpoint to reject.
        let mut seg = mk(2100, 100);
        assert!(!ack_within_sent(
            &mut seg,
            SeqNumber(1600),
            SeqNumber(2000),
            3
        ));
        assert_eq!(seg.ack, SeqNumber(2100));
    }

    #[test]
    fn segment_bound_is_half_the_largest_window_as_linux_computes_it() {
        // bulk.pcap: SYN-ACK window 65483 -> 32741-byte segments; a window of
        // 95232 -> 47616 (frame sizes Linux sent in the 1 MiB run).
        assert_eq!(half_window_bound(65483, true), 32741);
        assert_eq!(half_window_bound(95232, true), 47616);
        // At most TCP_MSS_DEFAULT (536): the whole window.
        assert_eq!(half_window_bound(536, false), 536);
        assert_eq!(half_window_bound(537, false), 268);
        // Never below 68 bytes less the headers.
        assert_eq!(half_window_bound(10, true), 36);
        assert_eq!(half_window_bound(0, false), 48);
    }

    #[test]
    fn echo_replayed_as_client_matches() {
        let conv = &split_conversations(&echo_packets())[0];
        let r = replay(
            conv,
            &ReplayOptions {
                play: Role::Client,
                ..ReplayOptions::default()
            },
        );
        let text = render_report(&r, "echo");
        assert_eq!(r.summary.matched, r.summary.recorded, "{text}");
    }
}
