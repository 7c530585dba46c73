//! Ladder layout: a pure function from a [`Conversation`] to positions and
//! labels. The SVG renderer (`ladder_svg`) and the text renderer
//! (`ladder_text`) both draw this one layout, so they cannot drift apart.
//!
//! Geometry: two vertical time axes (client left, server right), time going
//! down. Every segment is one arrow from the sender's axis to the receiver's.
//! When the arrival time is known (simulations) the arrow ends at that time;
//! for captures (one vantage point) it gets a small fixed slant. A lost
//! segment ends midway with a cross. Gaps between events are drawn roughly in
//! proportion to time, clamped to a readable range; long quiet gaps are folded
//! (drawn short, with a marker saying how long they were).

use super::model::{flags_text, Conversation, Direction, Segment, Side};
use super::svg::Anchor;

/// Tunables of the layout, in SVG pixels.
#[derive(Clone, Debug)]
pub struct LadderOptions {
    /// Smallest distance between two arrows' starts (one label line).
    pub row: f64,
    /// Largest distance for an unfolded gap.
    pub max_step: f64,
    /// Height of a folded gap.
    pub fold_height: f64,
    /// A gap is folded when it is more than this many times the median gap ...
    pub fold_ratio: f64,
    /// ... and at least this long, in seconds.
    pub fold_min_seconds: f64,
    /// Visual slant of arrows whose arrival time is unknown.
    pub slant: f64,
    /// Approximate width of one label character (11px monospace).
    pub char_width: f64,
}

impl Default for LadderOptions {
    fn default() -> LadderOptions {
        LadderOptions {
            row: 26.0,
            max_step: 72.0,
            fold_height: 48.0,
            fold_ratio: 8.0,
            fold_min_seconds: 0.001,
            slant: 8.0,
            char_width: 6.7,
        }
    }
}

/// One arrow (one segment).
#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    /// Index of the segment in `Conversation::segments`.
    pub segment: usize,
    /// Frame / segment number.
    pub number: u64,
    pub dir: Direction,
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
    pub lost: bool,
    pub retransmission: bool,
    /// "SYN,ACK seq=0 ack=1 win=65535 len=0".
    pub label: String,
    pub label_x: f64,
    pub label_y: f64,
    pub label_anchor: Anchor,
    /// Send time, as printed in the time column.
    pub time_label: String,
    /// Longer description for tooltips (frame number, analysis flags).
    pub detail: String,
}

/// An endpoint's state written beside its axis where it changes.
#[derive(Clone, Debug, PartialEq)]
pub struct StateMark {
    pub side: Side,
    pub x: f64,
    pub y: f64,
    pub anchor: Anchor,
    pub text: String,
    /// The arrow after which the state holds; `None` for the initial state.
    pub arrow: Option<usize>,
}

/// A folded quiet gap, drawn before arrow `before_arrow`.
#[derive(Clone, Debug, PartialEq)]
pub struct Fold {
    pub y: f64,
    pub seconds: f64,
    pub text: String,
    pub before_arrow: usize,
}

/// The finished layout.
#[derive(Clone, Debug, PartialEq)]
pub struct LadderLayout {
    pub width: f64,
    pub height: f64,
    pub client_x: f64,
    pub server_x: f64,
    pub axis_top: f64,
    pub axis_bottom: f64,
    /// x of the right edge of the time column.
    pub time_x: f64,
    pub client_label: String,
    pub server_label: String,
    pub arrows: Vec<Arrow>,
    pub states: Vec<StateMark>,
    pub folds: Vec<Fold>,
}

/// The label written on a segment's arrow: flags, seq, ack (when ACK is set),
/// win and len.
pub fn segment_label(s: &Segment) -> String {
    let mut label = format!("{} seq={}", flags_text(s.flags), s.seq);
    if s.flags.ack() {
        label.push_str(&format!(" ack={}", s.ack));
    }
    label.push_str(&format!(" win={} len={}", s.win, s.len));
    label
}

fn segment_detail(s: &Segment) -> String {
    let mut d = format!("#{} t={:.6}s {}", s.number, s.time, segment_label(s));
    if !s.sack.is_empty() {
        d.push_str(" sack=");
        let blocks: Vec<String> = s.sack.iter().map(|(l, r)| format!("{l}-{r}")).collect();
        d.push_str(&blocks.join(","));
    }
    if s.lost {
        d.push_str(" LOST");
    }
    if !s.analysis.is_empty() {
        d.push_str(" [");
        d.push_str(&s.analysis.join(", "));
        d.push(']');
    }
    d
}

/// Seconds with microsecond precision.
pub fn time_label(t: f64) -> String {
    format!("{t:.6}")
}

/// A human duration for fold markers ("2.5 s", "350 ms", "80 µs").
pub fn duration_text(seconds: f64) -> String {
    let (v, unit) = if seconds >= 1.0 {
        (seconds, "s")
    } else if seconds >= 1e-3 {
        (seconds * 1e3, "ms")
    } else {
        (seconds * 1e6, "µs")
    };
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} {unit}")
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EventKind {
    // Arrivals sort before sends at the same instant: a reply leaves after the
    // segment it answers has arrived.
    Arrive,
    Send,
}

struct Event {
    time: f64,
    kind: EventKind,
    segment: usize,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

fn arrival_of(s: &Segment) -> Option<f64> {
    match s.arrival {
        Some(a) if a.is_finite() && a >= s.time => Some(a),
        _ => None,
    }
}

fn finite_time(t: f64) -> f64 {
    if t.is_finite() {
        t
    } else {
        0.0
    }
}

/// Lays out the ladder diagram of `conv`.
pub fn layout(conv: &Conversation, opt: &LadderOptions) -> LadderLayout {
    let segs = &conv.segments;
    let labels: Vec<String> = segs.iter().map(segment_label).collect();
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;

    // Horizontal geometry.
    let time_x = 78.0;
    let state_col = 130.0;
    let client_x = time_x + state_col;
    let gap = (longest * opt.char_width + 70.0).max(420.0);
    let server_x = client_x + gap;
    let width = server_x + state_col + 10.0;
    let axis_top = 64.0;

    // Events in time order.
    let mut events: Vec<Event> = Vec::with_capacity(segs.len() * 2);
    for (i, s) in segs.iter().enumerate() {
        let t = finite_time(s.time);
        events.push(Event {
            time: t,
            kind: EventKind::Send,
            segment: i,
        });
        if !s.lost {
            if let Some(a) = arrival_of(s) {
                events.push(Event {
                    time: a,
                    kind: EventKind::Arrive,
                    segment: i,
                });
            }
        }
    }
    events.sort_by(|a, b| {
        a.time
            .total_cmp(&b.time)
            .then(a.kind.cmp(&b.kind))
            .then(a.segment.cmp(&b.segment))
    });

    let gaps: Vec<f64> = events
        .windows(2)
        .map(|w| w[1].time - w[0].time)
        .filter(|d| *d > 0.0)
        .collect();
    let med = median(gaps);
    let px_per_s = med.map(|m| opt.row * 1.5 / m).unwrap_or(0.0);

    let mut send_y = vec![0.0f64; segs.len()];
    let mut arrive_y: Vec<Option<f64>> = vec![None; segs.len()];
    let mut folds = Vec::new();
    let mut y = axis_top + opt.row + 8.0;
    let mut last_send_y = f64::NEG_INFINITY;
    for (k, ev) in events.iter().enumerate() {
        if k > 0 {
            let prev = &events[k - 1];
            let dt = (ev.time - prev.time).max(0.0);
            let fold = med.is_some_and(|m| dt > m * opt.fold_ratio) && dt >= opt.fold_min_seconds;
            let step = if fold {
                folds.push(Fold {
                    y: y + opt.fold_height * 0.55,
                    seconds: dt,
                    text: format!("{} later", duration_text(dt)),
                    before_arrow: events[k..]
                        .iter()
                        .find(|e| e.kind == EventKind::Send)
                        .map_or(segs.len(), |e| e.segment),
                });
                opt.fold_height
            } else {
                let min = match (prev.kind, ev.kind) {
                    (EventKind::Send, EventKind::Send) => opt.row,
                    _ if dt == 0.0 => 0.0,
                    _ => opt.row * 0.4,
                };
                (dt * px_per_s).clamp(min, opt.max_step.max(min))
            };
            y += step;
        }
        if ev.kind == EventKind::Send {
            y = y.max(last_send_y + opt.row);
            last_send_y = y;
            send_y[ev.segment] = y;
        } else {
            arrive_y[ev.segment] = Some(y);
        }
    }
    let last_y = y;

    // Arrows.
    let mut arrows = Vec::with_capacity(segs.len());
    let mut max_y = last_y;
    for (i, s) in segs.iter().enumerate() {
        let (x1, xto) = match s.dir {
            Direction::ToServer => (client_x, server_x),
            Direction::ToClient => (server_x, client_x),
        };
        let y1 = send_y[i];
        let full_end = arrive_y[i].unwrap_or(y1 + opt.slant);
        let (x2, y2) = if s.lost {
            ((x1 + xto) / 2.0, (y1 + full_end) / 2.0)
        } else {
            (xto, full_end)
        };
        max_y = max_y.max(y2);
        let (label_x, label_anchor) = match s.dir {
            Direction::ToServer => (client_x + 8.0, Anchor::Start),
            Direction::ToClient => (server_x - 8.0, Anchor::End),
        };
        arrows.push(Arrow {
            segment: i,
            number: s.number,
            dir: s.dir,
            x1,
            y1,
            x2,
            y2,
            lost: s.lost,
            retransmission: s.retransmission,
            label: labels[i].clone(),
            label_x,
            label_y: y1 - 4.0,
            label_anchor,
            time_label: time_label(finite_time(s.time)),
            detail: segment_detail(s),
        });
    }

    // State marks: beside the sender's axis at the send, beside the
    // receiver's axis at the arrival.
    let mut states = Vec::new();
    let mark_pos = |side: Side| match side {
        Side::Client => (client_x - 8.0, Anchor::End),
        Side::Server => (server_x + 8.0, Anchor::Start),
    };
    let mut current: [Option<String>; 2] = [
        conv.initial_client_state.clone(),
        conv.initial_server_state.clone(),
    ];
    for (slot, side) in [(0usize, Side::Client), (1, Side::Server)] {
        if let Some(text) = &current[slot] {
            let (x, anchor) = mark_pos(side);
            states.push(StateMark {
                side,
                x,
                y: axis_top + 14.0,
                anchor,
                text: text.clone(),
                arrow: None,
            });
        }
    }
    for (i, s) in segs.iter().enumerate() {
        for (slot, side) in [(0usize, Side::Client), (1, Side::Server)] {
            let Some(now) = s.state_of(side) else {
                continue;
            };
            if current[slot].as_deref() == Some(now) {
                continue;
            }
            current[slot] = Some(now.to_string());
            let a = &arrows[i];
            let y = if s.dir.sender() == side { a.y1 } else { a.y2 };
            let (x, anchor) = mark_pos(side);
            states.push(StateMark {
                side,
                x,
                y: y + 4.0,
                anchor,
                text: now.to_string(),
                arrow: Some(i),
            });
        }
    }

    let axis_bottom = max_y + opt.row;
    LadderLayout {
        width,
        height: axis_bottom + 16.0,
        client_x,
        server_x,
        axis_top,
        axis_bottom,
        time_x,
        client_label: conv.client.clone(),
        server_label: conv.server.clone(),
        arrows,
        states,
        folds,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::wire::TcpFlags;

    const SYN: u16 = TcpFlags::SYN;
    const ACK: u16 = TcpFlags::ACK;
    const FIN: u16 = TcpFlags::FIN;
    const PSH: u16 = TcpFlags::PSH;

    fn seg(n: u64, t: f64, dir: Direction, flags: u16, seq: u64, ack: u64, len: u64) -> Segment {
        let mut s = Segment::new(n, t, dir, TcpFlags(flags));
        s.seq = seq;
        s.ack = ack;
        s.len = len;
        s.win = 65535;
        s
    }

    /// A small conversation: handshake, one data exchange, a 5 s quiet gap,
    /// a lost segment and its retransmission, and a close.
    pub(crate) fn sample() -> Conversation {
        use Direction::*;
        let mut v = vec![
            seg(1, 0.000, ToServer, SYN, 0, 0, 0),
            seg(2, 0.010, ToClient, SYN | ACK, 0, 1, 0),
            seg(3, 0.020, ToServer, ACK, 1, 1, 0),
            seg(4, 0.021, ToServer, PSH | ACK, 1, 1, 100),
            seg(5, 0.031, ToClient, ACK, 1, 101, 0),
            seg(6, 5.031, ToServer, PSH | ACK, 101, 1, 100),
            seg(7, 5.431, ToServer, PSH | ACK, 101, 1, 100),
            seg(8, 5.441, ToClient, ACK, 1, 201, 0),
            seg(9, 5.450, ToServer, FIN | ACK, 201, 1, 0),
            seg(10, 5.460, ToClient, FIN | ACK, 1, 202, 0),
            seg(11, 5.470, ToServer, ACK, 202, 2, 0),
        ];
        v[5].lost = true;
        v[6].retransmission = true;
        let states = [
            ("SYN_SENT", "SYN_RECEIVED"),
            ("ESTABLISHED", "SYN_RECEIVED"),
            ("ESTABLISHED", "ESTABLISHED"),
            ("ESTABLISHED", "ESTABLISHED"),
            ("ESTABLISHED", "ESTABLISHED"),
            ("ESTABLISHED", "ESTABLISHED"),
            ("ESTABLISHED", "ESTABLISHED"),
            ("ESTABLISHED", "ESTABLISHED"),
            ("FIN_WAIT_1", "CLOSE_WAIT"),
            ("TIME_WAIT", "LAST_ACK"),
            ("TIME_WAIT", "CLOSED"),
        ];
        for (s, (c, sv)) in v.iter_mut().zip(states) {
            s.client_state = Some(c.to_string());
            s.server_state = Some(sv.to_string());
        }
        Conversation {
            stream: 0,
            client: "10.0.0.1:40000".into(),
            server: "10.0.0.2:80".into(),
            segments: v,
            initial_client_state: Some("CLOSED".into()),
            initial_server_state: Some("LISTEN".into()),
            simulated: true,
        }
    }

    #[test]
    fn one_arrow_per_segment_in_time_order() {
        let c = sample();
        let l = layout(&c, &LadderOptions::default());
        assert_eq!(l.arrows.len(), c.segments.len());
        for w in l.arrows.windows(2) {
            assert!(
                w[1].y1 >= w[0].y1 + LadderOptions::default().row - 1e-9,
                "{} then {}",
                w[0].y1,
                w[1].y1
            );
        }
        assert!(l
            .arrows
            .iter()
            .all(|a| a.y2 <= l.axis_bottom && a.y1 >= l.axis_top));
    }

    #[test]
    fn arrows_go_between_the_axes() {
        let l = layout(&sample(), &LadderOptions::default());
        let a = &l.arrows[0];
        assert_eq!((a.x1, a.x2), (l.client_x, l.server_x));
        let b = &l.arrows[1];
        assert_eq!((b.x1, b.x2), (l.server_x, l.client_x));
        assert_eq!(b.label, "SYN,ACK seq=0 ack=1 win=65535 len=0");
        assert_eq!(a.label, "SYN seq=0 win=65535 len=0");
    }

    #[test]
    fn lost_segment_ends_midway() {
        let l = layout(&sample(), &LadderOptions::default());
        let lost: Vec<&Arrow> = l.arrows.iter().filter(|a| a.lost).collect();
        assert_eq!(lost.len(), 1);
        let mid = (l.client_x + l.server_x) / 2.0;
        assert!((lost[0].x2 - mid).abs() < 1e-9);
        assert!(l
            .arrows
            .iter()
            .filter(|a| !a.lost)
            .all(|a| a.x2 == l.client_x || a.x2 == l.server_x));
    }

    #[test]
    fn long_gaps_are_folded() {
        let l = layout(&sample(), &LadderOptions::default());
        // The 5 s pause and the 400 ms retransmission timeout; 10 ms round trips are not folded.
        assert_eq!(l.folds.len(), 2, "{:?}", l.folds);
        assert_eq!(l.folds[1].before_arrow, 6);
        assert!(l.folds[1].text.starts_with("400 ms"), "{}", l.folds[1].text);
        assert_eq!(l.folds[0].before_arrow, 5);
        assert!(l.folds[0].text.starts_with("5 s"), "{}", l.folds[0].text);
        // The fold sits between the arrows around it.
        assert!(l.folds[0].y > l.arrows[4].y1 && l.folds[0].y < l.arrows[5].y1);
    }

    #[test]
    fn states_marked_where_they_change() {
        let l = layout(&sample(), &LadderOptions::default());
        let client: Vec<&str> = l
            .states
            .iter()
            .filter(|s| s.side == Side::Client)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(
            client,
            [
                "CLOSED",
                "SYN_SENT",
                "ESTABLISHED",
                "FIN_WAIT_1",
                "TIME_WAIT"
            ]
        );
        let server: Vec<&str> = l
            .states
            .iter()
            .filter(|s| s.side == Side::Server)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(
            server,
            [
                "LISTEN",
                "SYN_RECEIVED",
                "ESTABLISHED",
                "CLOSE_WAIT",
                "LAST_ACK",
                "CLOSED"
            ]
        );
        // SYN_RECEIVED is written where the SYN arrives at the server.
        let syn_rcvd = l.states.iter().find(|s| s.text == "SYN_RECEIVED").unwrap();
        assert!((syn_rcvd.y - (l.arrows[0].y2 + 4.0)).abs() < 1e-9);
        assert!(syn_rcvd.x > l.server_x);
    }

    #[test]
    fn arrival_times_set_arrow_ends() {
        let mut c = sample();
        c.segments.truncate(3);
        c.segments[0].arrival = Some(0.005);
        c.segments[1].arrival = Some(0.015);
        c.segments[2].arrival = Some(0.025);
        let l = layout(&c, &LadderOptions::default());
        // Ends strictly below starts, and the SYN arrives before the SYN-ACK leaves.
        assert!(l.arrows[0].y2 > l.arrows[0].y1);
        assert!(l.arrows[0].y2 <= l.arrows[1].y1);
        assert!(l.arrows[1].y2 <= l.arrows[2].y1);
    }

    #[test]
    fn empty_and_odd_inputs_do_not_panic() {
        let mut c = Conversation::default();
        let l = layout(&c, &LadderOptions::default());
        assert!(l.arrows.is_empty() && l.height > 0.0);
        let mut s = seg(1, f64::NAN, Direction::ToServer, SYN, 0, 0, 0);
        s.arrival = Some(f64::INFINITY);
        c.segments.push(s);
        c.segments
            .push(seg(2, -1.0, Direction::ToClient, ACK, 0, 0, 0));
        let l = layout(&c, &LadderOptions::default());
        assert_eq!(l.arrows.len(), 2);
        assert!(l
            .arrows
            .iter()
            .all(|a| a.y1.is_finite() && a.y2.is_finite()));
    }
}
