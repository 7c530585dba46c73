//! A tiny SVG writer: plain string building, no external resources.
//! Text uses the generic `monospace` / `sans-serif` families only, so a
//! picture renders the same without network access or installed fonts.

use std::fmt::Write as _;

/// Escapes text for use inside SVG/HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Formats a coordinate with at most two decimals and no trailing zeros.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let r = (v * 100.0).round() / 100.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        let s = format!("{r:.2}");
        s.trim_end_matches('0').to_string()
    }
}

/// Horizontal anchor of a text element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn as_str(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// An SVG document under construction.
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
    style: String,
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Svg {
        Svg {
            width,
            height,
            body: String::new(),
            style: String::new(),
        }
    }

    /// Adds CSS rules to the document's `<style>` element.
    pub fn style(&mut self, css: &str) {
        self.style.push_str(css);
    }

    /// Appends raw, already-escaped markup.
    pub fn raw(&mut self, markup: &str) {
        self.body.push_str(markup);
    }

    pub fn open_group(&mut self, class: &str, title: Option<&str>) {
        let _ = write!(self.body, "<g class=\"{}\">", escape(class));
        if let Some(t) = title {
            let _ = write!(self.body, "<title>{}</title>", escape(t));
        }
    }

    pub fn close_group(&mut self) {
        self.body.push_str("</g>\n");
    }

    pub fn line(&mut self, class: &str, x1: f64, y1: f64, x2: f64, y2: f64) {
        let _ = writeln!(
            self.body,
            "<line class=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            escape(class),
            num(x1),
            num(y1),
            num(x2),
            num(y2)
        );
    }

    pub fn rect(&mut self, class: &str, x: f64, y: f64, w: f64, h: f64) {
        let _ = writeln!(
            self.body,
            "<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
            escape(class),
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0))
        );
    }

    pub fn circle(&mut self, class: &str, cx: f64, cy: f64, r: f64) {
        let _ = writeln!(
            self.body,
            "<circle class=\"{}\" cx=\"{}\" cy=\"{}\" r=\"{}\"/>",
            escape(class),
            num(cx),
            num(cy),
            num(r)
        );
    }

    /// A polyline through `points` (nothing is written for fewer than two points).
    pub fn polyline(&mut self, class: &str, points: &[(f64, f64)]) {
        if points.len() < 2 {
            return;
        }
        let mut pts = String::with_capacity(points.len() * 12);
        for (i, (x, y)) in points.iter().enumerate() {
            if i > 0 {
                pts.push(' ');
            }
            pts.push_str(&num(*x));
            pts.push(',');
            pts.push_str(&num(*y));
        }
        let _ = writeln!(
            self.body,
            "<polyline class=\"{}\" points=\"{}\"/>",
            escape(class),
            pts
        );
    }

    /// A path with the given `d` attribute (built by the caller from numbers).
    pub fn path(&mut self, class: &str, d: &str) {
        let _ = writeln!(
            self.body,
            "<path class=\"{}\" d=\"{}\"/>",
            escape(class),
            escape(d)
        );
    }

    pub fn text(&mut self, class: &str, x: f64, y: f64, anchor: Anchor, content: &str) {
        let _ = writeln!(
            self.body,
            "<text class=\"{}\" x=\"{}\" y=\"{}\" text-anchor=\"{}\">{}</text>",
            escape(class),
            num(x),
            num(y),
            anchor.as_str(),
            escape(content)
        );
    }

    /// Text rotated by -90 degrees around its anchor point (vertical axis titles).
    pub fn text_vertical(&mut self, class: &str, x: f64, y: f64, content: &str) {
        let _ = writeln!(
            self.body,
            "<text class=\"{}\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 {} {})\">{}</text>",
            escape(class),
            num(x),
            num(y),
            num(x),
            num(y),
            escape(content)
        );
    }

    /// The finished document. `kind` becomes a class on the root element
    /// (e.g. `tcpsim-ladder`) so tests and CSS can tell pictures apart.
    pub fn finish(self, kind: &str, title: &str) -> String {
        let mut out = String::with_capacity(self.body.len() + self.style.len() + 512);
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"tcpsim {kind}\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">",
            kind = escape(kind),
            w = num(self.width),
            h = num(self.height)
        );
        let _ = writeln!(out, "<title>{}</title>", escape(title));
        let _ = writeln!(out, "<style>{}</style>", self.style);
        let _ = writeln!(
            out,
            "<rect class=\"background\" x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>",
            num(self.width),
            num(self.height)
        );
        out.push_str(&self.body);
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert_eq!(escape("x\u{1}y"), "x y");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(3.456), "3.46");
        assert_eq!(num(3.5), "3.5");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(-0.004), "0");
    }

    #[test]
    fn document_has_root_class_and_no_external_refs() {
        let mut s = Svg::new(100.0, 50.0);
        s.line("axis", 0.0, 0.0, 10.0, 10.0);
        s.text("label", 1.0, 2.0, Anchor::Start, "<SYN>");
        let out = s.finish("tcpsim-test", "t");
        assert!(out
            .starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"tcpsim tcpsim-test\""));
        assert!(out.contains("&lt;SYN&gt;"));
        assert!(!out.contains("href"));
        assert!(out.trim_end().ends_with("</svg>"));
    }
}
