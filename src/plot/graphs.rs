//! The time-sequence graph (Stevens / tcptrace style) and the window graph,
//! built as [`Chart`]s from a [`Conversation`].
//!
//! Both look at the direction that carried more payload (the "data"
//! direction); acknowledgements, SACK blocks and advertised windows come from
//! the other direction, whose ACK numbers count the data direction's bytes.
//!
//! Classes: sequence graph `g.seg` (one per data segment; also
//! `retransmission`, `lost`), `polyline.ack-line`, `polyline.rwnd-line`,
//! `g.sack`, `g.zero-window`, `g.lost-mark`; window graph `polyline.rwnd`,
//! `polyline.in-flight`, `polyline.cwnd`, `polyline.ssthresh`.

use super::chart::{Axis, Chart, LegendEntry, Mark, Shape, Swatch, TickFormat};
use super::model::{Conversation, Direction, Segment};

const SEQ_CSS: &str = "
svg.tcpsim-sequence .seg .bar { stroke: #1f3f8f; stroke-width: 1.4; fill: none; }
svg.tcpsim-sequence .seg.retransmission .bar { stroke: #d32f2f; stroke-width: 2; }
svg.tcpsim-sequence .seg.lost .bar { stroke: #9e9e9e; }
svg.tcpsim-sequence .legend-entry.seg .swatch { stroke: #1f3f8f; stroke-width: 2; }
svg.tcpsim-sequence .legend-entry.retransmission .swatch { stroke: #d32f2f; stroke-width: 2; }
svg.tcpsim-sequence polyline.ack-line, svg.tcpsim-sequence .legend-entry.ack-line .swatch { stroke: #2e7d32; stroke-width: 1.6; fill: none; }
svg.tcpsim-sequence polyline.rwnd-line, svg.tcpsim-sequence .legend-entry.rwnd-line .swatch { stroke: #b58900; stroke-width: 1.6; fill: none; }
svg.tcpsim-sequence .sack .bar, svg.tcpsim-sequence .legend-entry.sack .swatch { stroke: #8e24aa; stroke-width: 2.5; fill: none; }
svg.tcpsim-sequence .zero-window .marker, svg.tcpsim-sequence .legend-entry.zero-window .marker { fill: #ff6f00; stroke: #bf360c; }
svg.tcpsim-sequence .lost-mark .marker, svg.tcpsim-sequence .legend-entry.lost-mark .marker { stroke: #c62828; stroke-width: 2.5; fill: none; }
";

const WIN_CSS: &str = "
svg.tcpsim-window polyline.rwnd, svg.tcpsim-window .legend-entry.rwnd .swatch { stroke: #e0b000; stroke-width: 4; stroke-opacity: 0.75; fill: none; }
svg.tcpsim-window polyline.in-flight, svg.tcpsim-window .legend-entry.in-flight .swatch { stroke: #1f5fa8; stroke-width: 1.8; fill: none; }
svg.tcpsim-window polyline.cwnd, svg.tcpsim-window .legend-entry.cwnd .swatch { stroke: #c62828; stroke-width: 1.8; fill: none; }
svg.tcpsim-window polyline.ssthresh, svg.tcpsim-window .legend-entry.ssthresh .swatch { stroke: #6a1b9a; stroke-width: 1.6; stroke-dasharray: 6 4; fill: none; }
";

/// Values at or above this are "unlimited" (an initial ssthresh) and not drawn.
const UNLIMITED: u64 = 1 << 30;

fn direction_text(conv: &Conversation, d: Direction) -> String {
    match d {
        Direction::ToServer => format!("{} → {}", conv.client, conv.server),
        Direction::ToClient => format!("{} → {}", conv.server, conv.client),
    }
}

fn time_ordered(conv: &Conversation) -> Vec<&Segment> {
    let mut v: Vec<&Segment> = conv
        .segments
        .iter()
        .filter(|s| s.time.is_finite())
        .collect();
    v.sort_by(|a, b| a.time.total_cmp(&b.time));
    v
}

fn x_axis(conv: &Conversation) -> Axis {
    let max = conv.duration();
    Axis {
        title: "time since first segment (s)".into(),
        min: 0.0,
        max: if max > 0.0 { max * 1.02 } else { 1.0 },
        format: TickFormat::Seconds,
    }
}

fn is_retransmission(s: &Segment) -> bool {
    s.retransmission || s.analysis.iter().any(|a| a.contains("retransmission"))
}

fn seg_title(s: &Segment) -> String {
    let mut t = format!("#{} t={:.6}s seq={} len={}", s.number, s.time, s.seq, s.len);
    if s.lost {
        t.push_str(" LOST");
    }
    if is_retransmission(s) {
        t.push_str(" retransmission");
    }
    t
}

/// The time-sequence graph of `conv`'s main data direction.
pub fn sequence_chart(conv: &Conversation) -> Chart {
    let d = conv.main_data_direction();
    let segs = time_ordered(conv);
    let mut marks = Vec::new();
    let mut present = [false; 7];
    let (mut data_top, mut ack_top, mut rwnd_top) = (0f64, 0f64, 0f64);

    for s in segs.iter().filter(|s| s.dir == d && s.seq_len() > 0) {
        let top = s.seq.saturating_add(s.seq_len()) as f64;
        data_top = data_top.max(top);
        let retx = is_retransmission(s);
        let mut class = String::from("seg");
        if retx {
            class.push_str(" retransmission");
            present[1] = true;
        }
        if s.lost {
            class.push_str(" lost");
        }
        present[0] = true;
        marks.push(Mark::Bar {
            class,
            x: s.time,
            y0: s.seq as f64,
            y1: top,
            title: Some(seg_title(s)),
        });
        if s.lost {
            present[6] = true;
            marks.push(Mark::Point {
                class: "lost-mark".into(),
                x: s.time,
                y: (s.seq as f64 + top) / 2.0,
                shape: Shape::Cross,
                title: Some(format!("lost: {}", seg_title(s))),
            });
        }
    }

    let mut ack_pts = Vec::new();
    let mut rwnd_pts = Vec::new();
    for s in segs
        .iter()
        .filter(|s| s.dir != d && s.flags.ack() && !s.lost)
    {
        let ack = s.ack as f64;
        let edge = s.ack.saturating_add(s.win) as f64;
        ack_top = ack_top.max(ack);
        rwnd_top = rwnd_top.max(edge);
        ack_pts.push((s.time, ack));
        rwnd_pts.push((s.time, edge));
        for &(l, r) in &s.sack {
            present[4] = true;
            marks.push(Mark::Bar {
                class: "sack".into(),
                x: s.time,
                y0: l as f64,
                y1: r as f64,
                title: Some(format!("#{} SACK {l}-{r}", s.number)),
            });
        }
        if s.win == 0 && !s.flags.rst() {
            present[5] = true;
            marks.push(Mark::Point {
                class: "zero-window".into(),
                x: s.time,
                y: ack,
                shape: Shape::Diamond,
                title: Some(format!("#{} zero window at ack {}", s.number, s.ack)),
            });
        }
    }
    present[2] = !ack_pts.is_empty();
    present[3] = !rwnd_pts.is_empty();
    if !ack_pts.is_empty() {
        marks.insert(
            0,
            Mark::Step {
                class: "rwnd-line".into(),
                points: rwnd_pts,
            },
        );
        marks.insert(
            0,
            Mark::Step {
                class: "ack-line".into(),
                points: ack_pts,
            },
        );
    }

    let base = data_top.max(ack_top).max(1.0);
    let ymax = base.max(rwnd_top.min(base * 2.0)) * 1.05;
    let entries = [
        ("seg", "data segment (seq .. seq+len)", Swatch::Bar),
        ("retransmission", "retransmission", Swatch::Bar),
        ("ack-line", "cumulative ACK", Swatch::Line),
        ("rwnd-line", "ACK + advertised window", Swatch::Line),
        ("sack", "SACK block", Swatch::Bar),
        ("zero-window", "zero window", Swatch::Marker(Shape::Diamond)),
        ("lost-mark", "lost", Swatch::Marker(Shape::Cross)),
    ];
    let clipped = rwnd_top > ymax;
    let legend = entries
        .iter()
        .zip(present)
        .filter(|(_, p)| *p)
        .map(|((class, label, swatch), _)| {
            let label = if *class == "rwnd-line" && clipped {
                format!("{label} (clipped at top)")
            } else {
                (*label).to_string()
            };
            LegendEntry {
                class: (*class).into(),
                label,
                swatch: *swatch,
            }
        })
        .collect();
    Chart {
        title: format!("Time-sequence graph, stream {}", conv.stream),
        subtitle: format!(
            "data {}; ACKs and windows from the other side",
            direction_text(conv, d)
        ),
        x: x_axis(conv),
        y: Axis {
            title: "relative sequence number (bytes)".into(),
            min: 0.0,
            max: ymax,
            format: TickFormat::Bytes,
        },
        marks,
        legend,
        css: SEQ_CSS.into(),
        kind: "tcpsim-sequence".into(),
    }
}

/// Bytes in flight in direction `d` over time: highest sequence sent minus
/// highest cumulative ACK, updated at every segment of either direction, so
/// the line drops when ACKs arrive (tshark's tcp.analysis.bytes_in_flight is
/// only set on data segments).
pub fn bytes_in_flight(conv: &Conversation, d: Direction) -> Vec<(f64, f64)> {
    let segs = time_ordered(conv);
    let mut pts = Vec::new();
    let mut nxt: Option<u64> = None;
    let mut una: Option<u64> = None;
    for s in segs {
        if s.dir == d {
            if s.seq_len() == 0 && nxt.is_none() {
                continue;
            }
            let end = s.seq.saturating_add(s.seq_len());
            nxt = Some(nxt.map_or(end, |n| n.max(end)));
            if una.is_none() {
                una = Some(s.seq);
            }
        } else if s.flags.ack() && !s.lost {
            una = Some(una.map_or(s.ack, |u| u.max(s.ack)));
        }
        if let (Some(n), Some(u)) = (nxt, una) {
            pts.push((s.time, n.saturating_sub(u) as f64));
        }
    }
    pts
}

/// The window graph: the receiver's advertised window, bytes in flight and,
/// for simulations, the sender's cwnd and ssthresh.
pub fn window_chart(conv: &Conversation) -> Chart {
    let d = conv.main_data_direction();
    let segs = time_ordered(conv);
    let rwnd: Vec<(f64, f64)> = segs
        .iter()
        .filter(|s| s.dir != d && !s.lost)
        .map(|s| (s.time, s.win as f64))
        .collect();
    let flight = bytes_in_flight(conv, d);
    let cwnd: Vec<(f64, f64)> = segs
        .iter()
        .filter(|s| s.dir == d)
        .filter_map(|s| s.cwnd.map(|c| (s.time, c as f64)))
        .collect();
    let ssthresh: Vec<(f64, f64)> = segs
        .iter()
        .filter(|s| s.dir == d)
        .filter_map(|s| {
            s.ssthresh
                .filter(|v| *v < UNLIMITED)
                .map(|v| (s.time, v as f64))
        })
        .collect();
    let receiver = match d {
        Direction::ToServer => &conv.server,
        Direction::ToClient => &conv.client,
    };
    let series = [
        ("rwnd", format!("window advertised by {receiver}"), rwnd),
        ("in-flight", "bytes in flight".to_string(), flight),
        ("cwnd", "cwnd".to_string(), cwnd),
        ("ssthresh", "ssthresh".to_string(), ssthresh),
    ];
    let ymax = series
        .iter()
        .flat_map(|(_, _, p)| p.iter().map(|(_, y)| *y))
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.08;
    let mut marks = Vec::new();
    let mut legend = Vec::new();
    for (class, label, points) in series {
        if points.is_empty() {
            continue;
        }
        legend.push(LegendEntry {
            class: class.into(),
            label,
            swatch: Swatch::Line,
        });
        marks.push(Mark::Step {
            class: class.into(),
            points,
        });
    }
    Chart {
        title: format!("Window graph, stream {}", conv.stream),
        subtitle: format!("data {}", direction_text(conv, d)),
        x: x_axis(conv),
        y: Axis {
            title: "bytes".into(),
            min: 0.0,
            max: ymax,
            format: TickFormat::Bytes,
        },
        marks,
        legend,
        css: WIN_CSS.into(),
        kind: "tcpsim-window".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::chart::render;
    use super::super::ladder::tests::sample;
    use super::*;

    #[test]
    fn sequence_graph_marks_every_data_segment() {
        let mut c = sample();
        c.segments[7].sack = vec![(301, 401)];
        c.segments[7].win = 0;
        let out = render(&sequence_chart(&c));
        // Data direction is client -> server: SYN, two 100-byte sends, one lost + retransmission, FIN.
        let data = c
            .segments
            .iter()
            .filter(|s| s.dir == Direction::ToServer && s.seq_len() > 0)
            .count();
        assert_eq!(out.matches("<g class=\"seg").count(), data);
        assert_eq!(out.matches("<g class=\"seg retransmission\"").count(), 1);
        assert_eq!(out.matches("<g class=\"seg lost\"").count(), 1);
        assert_eq!(out.matches("<g class=\"lost-mark\"").count(), 1);
        assert_eq!(out.matches("<g class=\"sack\"").count(), 1);
        assert_eq!(out.matches("<g class=\"zero-window\"").count(), 1);
        assert_eq!(out.matches("<polyline class=\"ack-line\"").count(), 1);
        assert_eq!(out.matches("<polyline class=\"rwnd-line\"").count(), 1);
        assert!(out.contains("relative sequence number (bytes)"));
        assert!(out.contains("time since first segment (s)"));
    }

    #[test]
    fn in_flight_rises_and_falls() {
        let c = sample();
        let f = bytes_in_flight(&c, Direction::ToServer);
        let max = f.iter().map(|p| p.1).fold(0.0, f64::max);
        assert_eq!(max, 100.0, "{f:?}");
        assert_eq!(f.last().unwrap().1, 0.0, "{f:?}");
    }

    #[test]
    fn window_graph_shows_cwnd_only_when_known() {
        let mut c = sample();
        let out = render(&window_chart(&c));
        assert!(
            out.contains("<polyline class=\"rwnd\"")
                && out.contains("<polyline class=\"in-flight\"")
        );
        assert!(!out.contains("class=\"cwnd\""));
        for (i, s) in c.segments.iter_mut().enumerate() {
            if s.dir == Direction::ToServer {
                s.cwnd = Some(1000 * (i as u64 + 1));
                s.ssthresh = Some(if i < 5 { u64::MAX } else { 4000 });
            }
        }
        let out = render(&window_chart(&c));
        assert_eq!(out.matches("<polyline class=\"cwnd\"").count(), 1);
        assert_eq!(out.matches("<polyline class=\"ssthresh\"").count(), 1);
    }
}
