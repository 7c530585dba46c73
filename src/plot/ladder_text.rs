//! Text rendering of a [`LadderLayout`] for terminals: one line per arrow,
//! in the layout's vertical order, with the same labels, state changes and
//! folded gaps as the SVG.
//!
//! ```text
//!  time (s)        client 10.0.0.1:40000                  server 10.0.0.2:80
//!            CLOSED |                                      | LISTEN
//!  0.000000 SYN_SENT |--SYN seq=0 win=65535 len=0-------->| SYN_RECEIVED
//! ```

use super::ladder::LadderLayout;
use super::model::{Direction, Side};

const TIME_W: usize = 12;
const STATE_W: usize = 14;

fn pad_left(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w {
        s.to_string()
    } else {
        format!("{}{}", " ".repeat(w - n), s)
    }
}

fn pad_right(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w {
        s.to_string()
    } else {
        format!("{}{}", s, " ".repeat(w - n))
    }
}

fn centered(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w {
        return s.to_string();
    }
    let left = (w - n) / 2;
    format!("{}{}{}", " ".repeat(left), s, " ".repeat(w - n - left))
}

/// Renders the ladder as text lines (each ending in '\n').
pub fn render(layout: &LadderLayout) -> String {
    let inner = layout
        .arrows
        .iter()
        .map(|a| a.label.chars().count())
        .max()
        .unwrap_or(0)
        .max(24)
        + 8;
    let mut out = String::new();

    // Header: roles on the axes' columns, then the addresses, the client's
    // ending at its axis and the server's starting at its axis.
    let state_w = layout
        .states
        .iter()
        .map(|m| m.text.chars().count())
        .max()
        .unwrap_or(0)
        .max(STATE_W)
        .max(
            layout
                .client_label
                .chars()
                .count()
                .saturating_sub(TIME_W - 1),
        );
    let bar = TIME_W + state_w + 1;
    out.push_str(&format!(
        "{}{}{}\n",
        pad_left("client", bar + 1),
        " ".repeat(inner),
        "server"
    ));
    out.push_str(&format!(
        "{} {}{}{}\n",
        pad_left("time (s)", TIME_W - 1),
        pad_left(&layout.client_label, bar - TIME_W + 1),
        " ".repeat(inner),
        layout.server_label
    ));
    let initial = |side: Side| {
        layout
            .states
            .iter()
            .find(|m| m.side == side && m.arrow.is_none())
            .map(|m| m.text.as_str())
            .unwrap_or("")
    };
    let first = format!(
        "{}{} |{}| {}",
        " ".repeat(TIME_W),
        pad_left(initial(Side::Client), state_w),
        " ".repeat(inner),
        initial(Side::Server)
    );
    out.push_str(first.trim_end());
    out.push('\n');

    // Folds and state changes indexed by arrow, so long ladders stay linear.
    let n = layout.arrows.len();
    let mut folds_at: Vec<Vec<&str>> = vec![Vec::new(); n + 1];
    for f in &layout.folds {
        folds_at[f.before_arrow.min(n)].push(&f.text);
    }
    let mut states_at: Vec<[&str; 2]> = vec![["", ""]; n];
    for m in &layout.states {
        if let Some(i) = m.arrow.filter(|&i| i < n) {
            states_at[i][usize::from(m.side == Side::Server)] = &m.text;
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| layout.arrows[a].y1.total_cmp(&layout.arrows[b].y1));
    for &i in &order {
        let a = &layout.arrows[i];
        for text in folds_at.get(a.segment).into_iter().flatten() {
            out.push_str(&format!(
                "{}{} ~{}~\n",
                " ".repeat(TIME_W),
                " ".repeat(state_w),
                centered(&format!(" {text} "), inner)
            ));
        }
        let state = |side: Side| {
            states_at
                .get(a.segment)
                .map_or("", |s| s[usize::from(side == Side::Server)])
        };
        let fill = inner.saturating_sub(a.label.chars().count() + 3);
        let body = match (a.dir, a.lost) {
            (Direction::ToServer, false) => format!("-{}{}>", a.label, "-".repeat(fill + 1)),
            (Direction::ToClient, false) => format!("<{}{}-", "-".repeat(fill + 1), a.label),
            (Direction::ToServer, true) => pad_right(&format!("-{}--X", a.label), inner),
            (Direction::ToClient, true) => pad_left(&format!("X--{}-", a.label), inner),
        };
        let mut line = format!(
            "{} {} |{}| {}",
            pad_left(&a.time_label, TIME_W - 1),
            pad_left(state(Side::Client), state_w),
            body,
            state(Side::Server)
        );
        if a.retransmission {
            line.push_str(if state(Side::Server).is_empty() {
                "(retransmission)"
            } else {
                " (retransmission)"
            });
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::ladder::{layout, tests::sample, LadderOptions};
    use super::*;

    #[test]
    fn text_has_the_same_labels_as_the_layout() {
        let l = layout(&sample(), &LadderOptions::default());
        let text = render(&l);
        for a in &l.arrows {
            assert_eq!(
                text.matches(&a.label).count(),
                l.arrows.iter().filter(|b| b.label == a.label).count(),
                "{}\n{text}",
                a.label
            );
        }
        assert_eq!(text.matches("--X").count(), 1, "{text}");
        assert!(text.contains("5 s later"), "{text}");
        assert!(text.contains("SYN_RECEIVED"));
        // Every arrow line has both axes at the same columns.
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("seq=")).collect();
        assert_eq!(lines.len(), l.arrows.len());
        let cols: Vec<(usize, usize)> = lines
            .iter()
            .map(|l| {
                let first = l.find('|').unwrap();
                let second = first + 1 + l[first + 1..].find('|').unwrap();
                (first, second)
            })
            .collect();
        assert!(cols.windows(2).all(|w| w[0] == w[1]), "{text}");
    }
}
