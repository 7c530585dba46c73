//! A small XY chart: axes with units and "nice" ticks, a legend, and marks
//! (step lines, vertical bars, point markers) in data coordinates. The
//! sequence and window graphs are built on it.

use super::svg::{num, Anchor, Svg};

/// How tick labels are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickFormat {
    /// Seconds: as many decimals as the tick step needs.
    Seconds,
    /// Bytes: integers, with k / M / G (powers of 1000) for large values.
    Bytes,
}

#[derive(Clone, Debug)]
pub struct Axis {
    /// Title with its unit, e.g. "time (s)".
    pub title: String,
    pub min: f64,
    pub max: f64,
    pub format: TickFormat,
}

/// Marker shapes for points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Cross,
    Diamond,
    Circle,
}

/// Something drawn in data coordinates. `class` names it for CSS and tests.
#[derive(Clone, Debug)]
pub enum Mark {
    /// A line that holds each value until the next point (staircase).
    Step {
        class: String,
        points: Vec<(f64, f64)>,
    },
    /// A vertical bar from (x, y0) to (x, y1) with small caps (tcptrace's I-beam).
    Bar {
        class: String,
        x: f64,
        y0: f64,
        y1: f64,
        title: Option<String>,
    },
    /// A marker at one point.
    Point {
        class: String,
        x: f64,
        y: f64,
        shape: Shape,
        title: Option<String>,
    },
}

/// How a legend entry's swatch looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Swatch {
    Line,
    Bar,
    Marker(Shape),
}

#[derive(Clone, Debug)]
pub struct LegendEntry {
    /// The class of the marks it explains (the swatch is drawn with it).
    pub class: String,
    pub label: String,
    pub swatch: Swatch,
}

#[derive(Clone, Debug)]
pub struct Chart {
    pub title: String,
    pub subtitle: String,
    pub x: Axis,
    pub y: Axis,
    pub marks: Vec<Mark>,
    pub legend: Vec<LegendEntry>,
    /// Extra CSS (colours of this chart's classes).
    pub css: String,
    /// Root class, e.g. "tcpsim-sequence".
    pub kind: String,
}

pub const WIDTH: f64 = 960.0;
pub const HEIGHT: f64 = 560.0;
const LEFT: f64 = 86.0;
const RIGHT: f64 = 24.0;
/// Top of the plot area with one legend row; each further row adds LEGEND_ROW.
const TOP: f64 = 78.0;
const LEGEND_ROW: f64 = 18.0;
const BOTTOM: f64 = 58.0;

/// About `target` round tick positions covering [min, max] (1, 2, 5 x 10^k steps).
pub fn nice_ticks(min: f64, max: f64, target: usize) -> Vec<f64> {
    if !min.is_finite() || !max.is_finite() || max <= min || target == 0 {
        return vec![if min.is_finite() { min } else { 0.0 }];
    }
    let raw = (max - min) / target as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (min / step).ceil() * step;
    let mut ticks = Vec::new();
    let mut v = first;
    while v <= max + step * 1e-9 && ticks.len() < 100 {
        // Avoid "-0" and float noise like 0.30000000000000004.
        let clean = (v / step).round() * step;
        ticks.push(if clean.abs() < step * 1e-9 {
            0.0
        } else {
            clean
        });
        v += step;
    }
    ticks
}

/// Tick label for `v` on an axis whose ticks are `step` apart.
pub fn tick_label(v: f64, step: f64, format: TickFormat) -> String {
    match format {
        TickFormat::Seconds => {
            let decimals = if step >= 1.0 {
                0
            } else {
                (-step.log10().floor()) as usize + 1
            }
            .min(9);
            let s = format!("{v:.decimals$}");
            if s.contains('.') {
                let t = s.trim_end_matches('0').trim_end_matches('.');
                t.to_string()
            } else {
                s
            }
        }
        TickFormat::Bytes => {
            let a = v.abs();
            let (div, suffix) = if a >= 1e9 {
                (1e9, "G")
            } else if a >= 1e6 {
                (1e6, "M")
            } else if a >= 1e4 {
                (1e3, "k")
            } else {
                (1.0, "")
            };
            let x = v / div;
            let s = format!("{x:.3}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            format!("{s}{suffix}")
        }
    }
}

const BASE_CSS: &str = "
svg.tcpsim-chart text { font-family: sans-serif; font-size: 12px; fill: #222; }
svg.tcpsim-chart .chart-title { font-size: 15px; font-weight: bold; }
svg.tcpsim-chart .chart-subtitle { font-size: 12px; fill: #555; }
svg.tcpsim-chart .axis-title { font-size: 13px; }
svg.tcpsim-chart .tick-label { font-family: monospace; font-size: 11px; }
svg.tcpsim-chart .frame { fill: none; stroke: #333; stroke-width: 1; }
svg.tcpsim-chart .grid { stroke: #e4e4e4; stroke-width: 1; }
svg.tcpsim-chart .tick { stroke: #333; }
svg.tcpsim-chart polyline { fill: none; stroke-width: 1.6; }
svg.tcpsim-chart .marker { stroke-width: 1.6; }
svg.tcpsim-chart .legend text { stroke: none; }
";

struct Frame {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    xmin: f64,
    xmax: f64,
    ymin: f64,
    ymax: f64,
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        let x = if x.is_finite() { x } else { self.xmin };
        self.x0 + (x - self.xmin) / (self.xmax - self.xmin) * (self.x1 - self.x0)
    }
    fn py(&self, y: f64) -> f64 {
        let y = if y.is_finite() { y } else { self.ymin };
        self.y1 - (y - self.ymin) / (self.ymax - self.ymin) * (self.y1 - self.y0)
    }
}

fn sane_range(min: f64, max: f64) -> (f64, f64) {
    let (min, max) = (
        if min.is_finite() { min } else { 0.0 },
        if max.is_finite() { max } else { 1.0 },
    );
    if max > min {
        (min, max)
    } else {
        (min - 0.5, min + 0.5)
    }
}

fn marker_path(shape: Shape, x: f64, y: f64, r: f64) -> String {
    match shape {
        Shape::Cross => format!(
            "M{} {} L{} {} M{} {} L{} {}",
            num(x - r),
            num(y - r),
            num(x + r),
            num(y + r),
            num(x - r),
            num(y + r),
            num(x + r),
            num(y - r)
        ),
        Shape::Diamond => {
            format!(
                "M{} {} L{} {} L{} {} L{} {} Z",
                num(x),
                num(y - r),
                num(x + r),
                num(y),
                num(x),
                num(y + r),
                num(x - r),
                num(y)
            )
        }
        Shape::Circle => format!(
            "M{} {} A{} {} 0 1 0 {} {} A{} {} 0 1 0 {} {} Z",
            num(x - r),
            num(y),
            num(r),
            num(r),
            num(x + r),
            num(y),
            num(r),
            num(r),
            num(x - r),
            num(y)
        ),
    }
}

/// Renders the chart as a standalone SVG document.
pub fn render(chart: &Chart) -> String {
    let mut svg = Svg::new(WIDTH, HEIGHT);
    svg.style(BASE_CSS);
    svg.style(&chart.css);

    // Legend entries flow left to right and wrap onto further rows.
    let mut legend_pos = Vec::with_capacity(chart.legend.len());
    let (mut lx, mut row) = (LEFT, 0usize);
    for e in &chart.legend {
        let w = 28.0 + e.label.chars().count() as f64 * 6.6 + 18.0;
        if lx + w > WIDTH - RIGHT && lx > LEFT {
            lx = LEFT;
            row += 1;
        }
        legend_pos.push((lx, 60.0 + row as f64 * LEGEND_ROW));
        lx += w;
    }
    let top = TOP + row as f64 * LEGEND_ROW;

    let (xmin, xmax) = sane_range(chart.x.min, chart.x.max);
    let (ymin, ymax) = sane_range(chart.y.min, chart.y.max);
    let f = Frame {
        x0: LEFT,
        x1: WIDTH - RIGHT,
        y0: top,
        y1: HEIGHT - BOTTOM,
        xmin,
        xmax,
        ymin,
        ymax,
    };

    svg.text("chart-title", LEFT, 22.0, Anchor::Start, &chart.title);
    svg.text("chart-subtitle", LEFT, 40.0, Anchor::Start, &chart.subtitle);

    svg.open_group("legend", None);
    for (e, &(lx, ly)) in chart.legend.iter().zip(&legend_pos) {
        svg.open_group(&format!("legend-entry {}", e.class), None);
        match e.swatch {
            Swatch::Line => svg.line("swatch", lx, ly - 4.0, lx + 22.0, ly - 4.0),
            Swatch::Bar => svg.line("swatch", lx + 11.0, ly - 11.0, lx + 11.0, ly + 3.0),
            Swatch::Marker(shape) => {
                svg.path("marker", &marker_path(shape, lx + 11.0, ly - 4.0, 4.5))
            }
        }
        svg.text("legend-label", lx + 28.0, ly, Anchor::Start, &e.label);
        svg.close_group();
    }
    svg.close_group();

    // Grid, ticks and tick labels.
    let xt = nice_ticks(xmin, xmax, 8);
    let xstep = if xt.len() > 1 {
        xt[1] - xt[0]
    } else {
        xmax - xmin
    };
    for &t in &xt {
        let x = f.px(t);
        svg.line("grid", x, f.y0, x, f.y1);
        svg.line("tick", x, f.y1, x, f.y1 + 5.0);
        svg.text(
            "tick-label x-tick",
            x,
            f.y1 + 18.0,
            Anchor::Middle,
            &tick_label(t, xstep, chart.x.format),
        );
    }
    let yt = nice_ticks(ymin, ymax, 7);
    let ystep = if yt.len() > 1 {
        yt[1] - yt[0]
    } else {
        ymax - ymin
    };
    for &t in &yt {
        let y = f.py(t);
        svg.line("grid", f.x0, y, f.x1, y);
        svg.line("tick", f.x0 - 5.0, y, f.x0, y);
        svg.text(
            "tick-label y-tick",
            f.x0 - 8.0,
            y + 4.0,
            Anchor::End,
            &tick_label(t, ystep, chart.y.format),
        );
    }
    svg.rect("frame", f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
    svg.text(
        "axis-title x-title",
        (f.x0 + f.x1) / 2.0,
        HEIGHT - 14.0,
        Anchor::Middle,
        &chart.x.title,
    );
    svg.text_vertical(
        "axis-title y-title",
        18.0,
        (f.y0 + f.y1) / 2.0,
        &chart.y.title,
    );

    // Marks, clipped by clamping to the frame.
    let clamp_x = |x: f64| f.px(x).clamp(f.x0, f.x1);
    let clamp_y = |y: f64| f.py(y).clamp(f.y0, f.y1);
    for m in &chart.marks {
        match m {
            Mark::Step { class, points } => {
                let mut pts: Vec<(f64, f64)> = Vec::with_capacity(points.len() * 2);
                for (i, &(x, y)) in points.iter().enumerate() {
                    if i > 0 {
                        pts.push((clamp_x(x), clamp_y(points[i - 1].1)));
                    }
                    pts.push((clamp_x(x), clamp_y(y)));
                }
                if let Some(&(_, y)) = points.last() {
                    // Hold the last value to the right edge.
                    pts.push((f.x1, clamp_y(y)));
                }
                svg.polyline(class, &pts);
            }
            Mark::Bar {
                class,
                x,
                y0,
                y1,
                title,
            } => {
                let (px, a, b) = (clamp_x(*x), clamp_y(*y0), clamp_y(*y1));
                let d = format!(
                    "M{} {} L{} {} M{} {} L{} {} M{} {} L{} {}",
                    num(px),
                    num(a),
                    num(px),
                    num(b),
                    num(px - 2.0),
                    num(a),
                    num(px + 2.0),
                    num(a),
                    num(px - 2.0),
                    num(b),
                    num(px + 2.0),
                    num(b)
                );
                svg.open_group(class, title.as_deref());
                svg.path("bar", &d);
                svg.close_group();
            }
            Mark::Point {
                class,
                x,
                y,
                shape,
                title,
            } => {
                svg.open_group(class, title.as_deref());
                svg.path(
                    "marker",
                    &marker_path(*shape, clamp_x(*x), clamp_y(*y), 5.0),
                );
                svg.close_group();
            }
        }
    }
    svg.finish(&format!("tcpsim-chart {}", chart.kind), &chart.title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        let t = nice_ticks(0.013, 0.094, 8);
        assert!(t.len() >= 4 && t.len() <= 10, "{t:?}");
        assert!(t.iter().all(|v| *v >= 0.013 && *v <= 0.094 + 1e-12));
        assert_eq!(nice_ticks(5.0, 5.0, 5), vec![5.0]);
        assert_eq!(nice_ticks(f64::NAN, 1.0, 5), vec![0.0]);
    }

    #[test]
    fn tick_labels() {
        assert_eq!(tick_label(0.25, 0.05, TickFormat::Seconds), "0.25");
        assert_eq!(tick_label(2.0, 1.0, TickFormat::Seconds), "2");
        assert_eq!(tick_label(0.3, 0.1, TickFormat::Seconds), "0.3");
        assert_eq!(tick_label(65535.0, 5000.0, TickFormat::Bytes), "65.535k");
        assert_eq!(tick_label(2_000_000.0, 500_000.0, TickFormat::Bytes), "2M");
        assert_eq!(tick_label(1500.0, 500.0, TickFormat::Bytes), "1500");
    }

    #[test]
    fn renders_marks_with_classes() {
        let chart = Chart {
            title: "t".into(),
            subtitle: "s".into(),
            x: Axis {
                title: "time (s)".into(),
                min: 0.0,
                max: 1.0,
                format: TickFormat::Seconds,
            },
            y: Axis {
                title: "bytes".into(),
                min: 0.0,
                max: 100.0,
                format: TickFormat::Bytes,
            },
            marks: vec![
                Mark::Step {
                    class: "ack-line".into(),
                    points: vec![(0.0, 0.0), (0.5, 50.0)],
                },
                Mark::Bar {
                    class: "seg".into(),
                    x: 0.2,
                    y0: 0.0,
                    y1: 10.0,
                    title: None,
                },
                Mark::Point {
                    class: "zero-window".into(),
                    x: 2.0,
                    y: 1e9,
                    shape: Shape::Diamond,
                    title: None,
                },
            ],
            legend: vec![LegendEntry {
                class: "seg".into(),
                label: "data".into(),
                swatch: Swatch::Bar,
            }],
            css: String::new(),
            kind: "tcpsim-test".into(),
        };
        let out = render(&chart);
        assert_eq!(out.matches("<polyline class=\"ack-line\"").count(), 1);
        assert_eq!(out.matches("<g class=\"seg\"").count(), 1);
        assert_eq!(out.matches("<g class=\"zero-window\"").count(), 1);
        assert!(out.contains(">time (s)</text>") && out.contains(">bytes</text>"));
        assert!(out.contains("class=\"tcpsim tcpsim-chart tcpsim-test\""));
    }
}
