//! SVG rendering of a [`LadderLayout`].
//!
//! Element classes (stable, used by tests and CSS): one `g.arrow` per
//! segment (plus `to-server`/`to-client`, `lost`, `retransmission`), with a
//! `line.shaft`, a `path.head` or, for a lost segment, a `path.lost-cross`,
//! a `text.seg-label` and a `text.time`; `text.state` for state changes;
//! `g.fold` for folded gaps; `line.axis` for the two time axes.

use super::ladder::{LadderLayout, StateMark};
use super::model::{Direction, Side};
use super::svg::{num, Anchor, Svg};

const CSS: &str = "
.tcpsim-ladder text { font-family: monospace; font-size: 11px; fill: #222; }
.tcpsim-ladder .endpoint { font-family: sans-serif; font-size: 13px; font-weight: bold; }
.tcpsim-ladder .endpoint-role { font-family: sans-serif; font-size: 11px; fill: #555; }
.tcpsim-ladder .axis { stroke: #333; stroke-width: 2; }
.tcpsim-ladder .arrow .shaft { stroke: #1f5fa8; stroke-width: 1.3; }
.tcpsim-ladder .arrow .head { fill: #1f5fa8; stroke: none; }
.tcpsim-ladder .arrow.to-client .shaft { stroke: #2b7a33; }
.tcpsim-ladder .arrow.to-client .head { fill: #2b7a33; }
.tcpsim-ladder .arrow.retransmission .shaft { stroke: #d9730d; }
.tcpsim-ladder .arrow.retransmission .head { fill: #d9730d; }
.tcpsim-ladder .arrow.lost .shaft { stroke: #c62828; stroke-dasharray: 5 3; }
.tcpsim-ladder .lost-cross { stroke: #c62828; stroke-width: 2.5; fill: none; }
.tcpsim-ladder .arrow.lost .seg-label { fill: #c62828; }
.tcpsim-ladder .time { fill: #666; }
.tcpsim-ladder .state { font-family: sans-serif; font-weight: bold; fill: #6a1b9a; }
.tcpsim-ladder .fold .zigzag { stroke: #333; stroke-width: 2; fill: none; }
.tcpsim-ladder .fold .fold-line { stroke: #999; stroke-dasharray: 2 4; }
.tcpsim-ladder .fold text { font-style: italic; fill: #555; }
.tcpsim-ladder .legend text { font-family: sans-serif; }
";

fn arrow_head(x1: f64, y1: f64, x2: f64, y2: f64) -> String {
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-9);
    let (ux, uy) = (dx / len, dy / len);
    let (size, half) = (9.0, 3.5);
    let (bx, by) = (x2 - ux * size, y2 - uy * size);
    format!(
        "M{} {} L{} {} L{} {} Z",
        num(x2),
        num(y2),
        num(bx - uy * half),
        num(by + ux * half),
        num(bx + uy * half),
        num(by - ux * half)
    )
}

fn cross(x: f64, y: f64) -> String {
    let r = 6.0;
    format!(
        "M{} {} L{} {} M{} {} L{} {}",
        num(x - r),
        num(y - r),
        num(x + r),
        num(y + r),
        num(x - r),
        num(y + r),
        num(x + r),
        num(y - r)
    )
}

fn zigzag(x: f64, y: f64) -> String {
    let (w, h) = (6.0, 5.0);
    format!(
        "M{} {} L{} {} L{} {} L{} {} L{} {}",
        num(x),
        num(y - 2.0 * h),
        num(x - w),
        num(y - h),
        num(x + w),
        num(y + h),
        num(x),
        num(y + 2.0 * h),
        num(x),
        num(y + 2.0 * h)
    )
}

fn state_text(svg: &mut Svg, m: &StateMark) {
    let class = match m.side {
        Side::Client => "state client-state",
        Side::Server => "state server-state",
    };
    svg.text(class, m.x, m.y, m.anchor, &m.text);
}

/// Renders the layout as a standalone SVG document.
pub fn render(layout: &LadderLayout, title: &str) -> String {
    let mut svg = Svg::new(layout.width, layout.height);
    svg.style(CSS);

    // Header: roles and addresses above each axis, the time column title.
    svg.text(
        "endpoint-role",
        layout.client_x,
        18.0,
        Anchor::Middle,
        "client",
    );
    svg.text(
        "endpoint client-endpoint",
        layout.client_x,
        34.0,
        Anchor::Middle,
        &layout.client_label,
    );
    svg.text(
        "endpoint-role",
        layout.server_x,
        18.0,
        Anchor::Middle,
        "server",
    );
    svg.text(
        "endpoint server-endpoint",
        layout.server_x,
        34.0,
        Anchor::Middle,
        &layout.server_label,
    );
    svg.text("time-title", layout.time_x, 50.0, Anchor::End, "time (s)");
    svg.text(
        "legend",
        (layout.client_x + layout.server_x) / 2.0,
        50.0,
        Anchor::Middle,
        "flags seq ack win len (relative seq/ack, win in bytes)",
    );

    // Axes, broken where a gap is folded.
    let mut breaks: Vec<f64> = layout.folds.iter().map(|f| f.y).collect();
    breaks.sort_by(|a, b| a.total_cmp(b));
    for x in [layout.client_x, layout.server_x] {
        let mut top = layout.axis_top;
        for &b in &breaks {
            svg.line("axis", x, top, x, b - 10.0);
            top = b + 10.0;
        }
        svg.line("axis", x, top, x, layout.axis_bottom);
    }
    for f in &layout.folds {
        svg.open_group("fold", Some(&format!("quiet for {}", f.text)));
        svg.path("zigzag", &zigzag(layout.client_x, f.y));
        svg.path("zigzag", &zigzag(layout.server_x, f.y));
        svg.line(
            "fold-line",
            layout.client_x + 10.0,
            f.y,
            layout.server_x - 10.0,
            f.y,
        );
        svg.text(
            "fold-text",
            (layout.client_x + layout.server_x) / 2.0,
            f.y - 4.0,
            Anchor::Middle,
            &f.text,
        );
        svg.close_group();
    }

    for a in &layout.arrows {
        let mut class = String::from("arrow");
        class.push_str(match a.dir {
            Direction::ToServer => " to-server",
            Direction::ToClient => " to-client",
        });
        if a.lost {
            class.push_str(" lost");
        }
        if a.retransmission {
            class.push_str(" retransmission");
        }
        svg.open_group(&class, Some(&a.detail));
        svg.line("shaft", a.x1, a.y1, a.x2, a.y2);
        if a.lost {
            svg.path("lost-cross", &cross(a.x2, a.y2));
        } else {
            svg.path("head", &arrow_head(a.x1, a.y1, a.x2, a.y2));
        }
        svg.text("seg-label", a.label_x, a.label_y, a.label_anchor, &a.label);
        svg.text(
            "time",
            layout.time_x,
            a.y1 + 4.0,
            Anchor::End,
            &a.time_label,
        );
        svg.close_group();
    }
    for m in &layout.states {
        state_text(&mut svg, m);
    }
    svg.finish("tcpsim-ladder", title)
}

#[cfg(test)]
mod tests {
    use super::super::ladder::{layout, tests::sample, LadderOptions};
    use super::*;

    #[test]
    fn svg_has_one_arrow_group_per_segment() {
        let c = sample();
        let out = render(&layout(&c, &LadderOptions::default()), "t");
        assert_eq!(out.matches("<g class=\"arrow ").count(), c.segments.len());
        assert_eq!(out.matches("class=\"lost-cross\"").count(), 1);
        assert_eq!(out.matches("class=\"head\"").count(), c.segments.len() - 1);
        assert_eq!(out.matches("<g class=\"fold\"").count(), 2);
        assert!(out.contains(">SYN,ACK seq=0 ack=1 win=65535 len=0</text>"));
        assert!(out.contains(">10.0.0.1:40000</text>"));
        assert!(out.contains(">TIME_WAIT</text>"));
    }
}
