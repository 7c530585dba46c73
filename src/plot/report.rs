//! The HTML report: one self-contained file (inline CSS and SVG, no scripts,
//! no network references) with the connection table, each connection's
//! verdict and its three pictures. For captures with many connections the
//! pictures are drawn for the selected streams, or the largest ones, and the
//! rest are only listed in the table.

use super::model::Conversation;
use super::svg::escape;
use std::fmt::Write as _;

/// Ladders longer than this are cut in the report (the SVG would be
/// unreadably tall); `tcpsim plot --kind ladder` draws them whole.
pub const REPORT_LADDER_SEGMENTS: usize = 300;

/// One connection of the report.
#[derive(Clone, Debug)]
pub struct ReportEntry {
    pub conversation: Conversation,
    /// One line: how the connection went (from the analyzer).
    pub verdict: String,
    /// Cells of this connection's row in the connection table, matching
    /// `Report::columns`.
    pub row: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub title: String,
    /// What the report was made from (file name).
    pub source: String,
    pub columns: Vec<String>,
    pub entries: Vec<ReportEntry>,
}

/// Which connections get pictures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// These stream indices.
    Streams(Vec<u64>),
    /// The `n` connections with the most segments.
    Largest(usize),
}

/// Indices into `report.entries` that get pictures, in table order.
pub fn selected(report: &Report, sel: &Selection) -> Vec<usize> {
    let mut idx: Vec<usize> = match sel {
        Selection::Streams(streams) => (0..report.entries.len())
            .filter(|&i| streams.contains(&report.entries[i].conversation.stream))
            .collect(),
        Selection::Largest(n) => {
            let mut all: Vec<usize> = (0..report.entries.len()).collect();
            all.sort_by_key(|&i| std::cmp::Reverse(report.entries[i].conversation.segments.len()));
            all.truncate(*n);
            all
        }
    };
    idx.sort_unstable();
    idx
}

const CSS: &str = "
body { font-family: sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; margin-bottom: 4px; }
.source { color: #555; margin-top: 0; }
table.conns { border-collapse: collapse; font-size: 13px; margin: 12px 0 24px 0; }
table.conns th, table.conns td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
table.conns th { background: #f0f0f0; }
table.conns td.num { text-align: right; font-family: monospace; }
table.conns tr.drawn td:first-child a { font-weight: bold; }
section.conn { border-top: 2px solid #ddd; margin-top: 28px; padding-top: 8px; }
section.conn h2 { font-size: 18px; }
.verdict { font-size: 15px; background: #f6f6ff; border-left: 4px solid #5c6bc0; padding: 6px 10px; }
figure.picture { margin: 16px 0; overflow-x: auto; }
figure.picture figcaption { font-size: 13px; color: #555; margin-bottom: 4px; }
figure.picture svg { display: block; max-width: none; border: 1px solid #eee; }
.note { color: #8a5a00; font-size: 13px; }
";

/// Renders the report as a standalone HTML document.
pub fn render(report: &Report, sel: &Selection) -> String {
    let drawn = selected(report, sel);
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
        escape(&report.title),
        CSS
    );
    let _ = writeln!(h, "<h1>{}</h1>", escape(&report.title));
    let _ = writeln!(
        h,
        "<p class=\"source\">{}: {} connection(s), pictures for {}.</p>",
        escape(&report.source),
        report.entries.len(),
        drawn.len()
    );

    // Connection table.
    h.push_str("<table class=\"conns\">\n<tr>");
    for c in &report.columns {
        let _ = write!(h, "<th>{}</th>", escape(c));
    }
    h.push_str("<th>verdict</th></tr>\n");
    for (i, e) in report.entries.iter().enumerate() {
        let is_drawn = drawn.contains(&i);
        let _ = write!(
            h,
            "<tr class=\"conn-row{}\">",
            if is_drawn { " drawn" } else { "" }
        );
        for (j, cell) in e.row.iter().enumerate() {
            let numeric = !cell.is_empty() && cell.chars().all(|c| c.is_ascii_digit() || c == '.');
            let class = if numeric { " class=\"num\"" } else { "" };
            if j == 0 && is_drawn {
                let _ = write!(
                    h,
                    "<td{class}><a href=\"#stream-{}\">{}</a></td>",
                    e.conversation.stream,
                    escape(cell)
                );
            } else {
                let _ = write!(h, "<td{class}>{}</td>", escape(cell));
            }
        }
        let _ = writeln!(h, "<td>{}</td></tr>", escape(&e.verdict));
    }
    h.push_str("</table>\n");
    if drawn.len() < report.entries.len() {
        let _ = writeln!(
            h,
            "<p class=\"note\">{} connection(s) are only listed; choose others with --stream N or --largest N.</p>",
            report.entries.len() - drawn.len()
        );
    }

    for &i in &drawn {
        let e = &report.entries[i];
        let c = &e.conversation;
        let _ = writeln!(h, "<section class=\"conn\" id=\"stream-{}\">", c.stream);
        let _ = writeln!(
            h,
            "<h2>Stream {}: {} ↔ {}</h2>",
            c.stream,
            escape(&c.client),
            escape(&c.server)
        );
        let _ = writeln!(h, "<p class=\"verdict\">{}</p>", escape(&e.verdict));

        let mut ladder_conv = c.clone();
        let mut caption = String::from("Ladder diagram");
        if ladder_conv.segments.len() > REPORT_LADDER_SEGMENTS {
            ladder_conv.segments.truncate(REPORT_LADDER_SEGMENTS);
            caption = format!(
                "Ladder diagram (first {REPORT_LADDER_SEGMENTS} of {} segments; `tcpsim plot --kind ladder --stream {}` draws all)",
                c.segments.len(),
                c.stream
            );
        }
        for (kind, cap, svg) in [
            ("ladder", caption, super::ladder_svg(&ladder_conv)),
            (
                "sequence",
                "Time-sequence graph".to_string(),
                super::sequence_svg(c),
            ),
            ("window", "Window graph".to_string(), super::window_svg(c)),
        ] {
            let _ = writeln!(
                h,
                "<figure class=\"picture {kind}\"><figcaption>{}</figcaption>",
                escape(&cap)
            );
            h.push_str(&svg);
            h.push_str("</figure>\n");
        }
        h.push_str("</section>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::super::ladder::tests::sample;
    use super::*;

    fn report(n: usize) -> Report {
        let entries = (0..n)
            .map(|i| {
                let mut c = sample();
                c.stream = i as u64;
                c.segments.truncate(3 + i % 8);
                ReportEntry {
                    row: vec![i.to_string(), c.client.clone(), c.server.clone()],
                    verdict: format!("verdict {i}"),
                    conversation: c,
                }
            })
            .collect();
        Report {
            title: "Report".into(),
            source: "x.pcap".into(),
            columns: vec!["stream".into(), "client".into(), "server".into()],
            entries,
        }
    }

    #[test]
    fn largest_are_drawn_rest_listed() {
        let r = report(30);
        let html = render(&r, &Selection::Largest(4));
        assert_eq!(html.matches("<tr class=\"conn-row").count(), 30);
        assert_eq!(html.matches("<section class=\"conn\"").count(), 4);
        assert_eq!(html.matches("<svg ").count(), 12);
        // The drawn ones are the longest (10 segments: streams 7, 15, 23 and one of the 9s).
        assert!(
            html.contains("id=\"stream-7\"")
                && html.contains("id=\"stream-15\"")
                && html.contains("id=\"stream-23\"")
        );
        assert!(html.contains("26 connection(s) are only listed"));
        assert!(
            !html.contains("<script") && !html.contains("http://")
                || html.matches("http://").count()
                    == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
        );
    }

    #[test]
    fn streams_selection() {
        let r = report(5);
        let html = render(&r, &Selection::Streams(vec![1, 3, 99]));
        assert_eq!(html.matches("<section class=\"conn\"").count(), 2);
        assert!(html.contains("id=\"stream-1\"") && html.contains("id=\"stream-3\""));
        assert!(html.contains("verdict 4"));
    }
}
