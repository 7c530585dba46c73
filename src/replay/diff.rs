//! Where two timelines part, in words a person reads.
//!
//! Works on the JSON form of a timeline (`serde_json::Value`) so that any
//! field the schema gains is compared without this module changing. The
//! document is read as `{ ..., "connections": [ { ..., "events": [ ... ] } ] }`;
//! connections are paired by index, events by index within a connection.
//!
//! A difference reads like
//! `connection 0, event 17 (frame 18, client→server): window 6144 vs 4096`.

use serde_json::Value;
use std::fmt::Write as _;

/// What to leave out of the comparison.
#[derive(Clone, Debug, Default)]
pub struct DiffOptions {
    /// Field names ignored wherever they appear (e.g. `time`, `source`).
    pub ignore: Vec<String>,
}

impl DiffOptions {
    fn ignored(&self, key: &str) -> bool {
        self.ignore.iter().any(|k| k == key)
    }
}

/// One field that differs: a dotted path inside its event, connection or
/// document, and both values rendered compactly.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FieldDiff {
    pub field: String,
    pub left: String,
    pub right: String,
}

/// Where a difference sits.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Location {
    /// A top-level field of the document.
    Document,
    /// A field of a connection outside its events (endpoints, verdict, ...).
    Connection { connection: usize },
    /// A field of one event.
    Event {
        connection: usize,
        event: usize,
        label: String,
    },
    /// A connection present on one side only.
    ConnectionOnlyIn { connection: usize, side: Side },
    /// Events present on one side only, from `first` onwards (`count` of them).
    EventsOnlyIn {
        connection: usize,
        first: usize,
        count: usize,
        side: Side,
        label: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Left,
    Right,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    pub location: Location,
    pub fields: Vec<FieldDiff>,
}

/// All differences between two timelines, in document order.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct TimelineDiff {
    pub differences: Vec<Difference>,
}

impl TimelineDiff {
    pub fn is_empty(&self) -> bool {
        self.differences.is_empty()
    }

    /// The first differing event (or event-count mismatch) in document
    /// order, which is where the two timelines part.
    pub fn first_event_difference(&self) -> Option<&Difference> {
        self.differences.iter().find(|d| {
            matches!(
                d.location,
                Location::Event { .. } | Location::EventsOnlyIn { .. }
            )
        })
    }

    /// Count of events that differ, over all connections.
    pub fn differing_events(&self) -> usize {
        self.differences
            .iter()
            .map(|d| match d.location {
                Location::Event { .. } => 1,
                Location::EventsOnlyIn { count, .. } => count,
                _ => 0,
            })
            .sum()
    }

    /// Human-readable report: per connection the first differing event in
    /// full, then up to `max_events - 1` further ones, then connection and
    /// document differences. `left_name` / `right_name` name the two sides
    /// (e.g. "expected" / "actual").
    pub fn render(&self, left_name: &str, right_name: &str, max_events: usize) -> String {
        let mut out = String::new();
        if self.is_empty() {
            out.push_str("timelines are identical\n");
            return out;
        }
        let mut shown = 0usize;
        let mut skipped = 0usize;
        for d in &self.differences {
            let is_event = matches!(
                d.location,
                Location::Event { .. } | Location::EventsOnlyIn { .. }
            );
            if is_event {
                if shown >= max_events {
                    skipped += 1;
                    continue;
                }
                shown += 1;
            }
            out.push_str(&render_difference(d, left_name, right_name));
            out.push('\n');
        }
        if skipped > 0 {
            let _ = writeln!(out, "... and {skipped} more differing event(s)");
        }
        let _ = writeln!(
            out,
            "{} event(s) differ; {} difference(s) in all",
            self.differing_events(),
            self.differences.len()
        );
        out
    }
}

/// One difference as one line: place, then `field L vs R` pairs.
pub fn render_difference(d: &Difference, left_name: &str, right_name: &str) -> String {
    let side_name = |s: Side| {
        if s == Side::Left {
            left_name
        } else {
            right_name
        }
    };
    let place = match &d.location {
        Location::Document => "document".to_string(),
        Location::Connection { connection } => format!("connection {connection}"),
        Location::Event {
            connection,
            event,
            label,
        } => {
            if label.is_empty() {
                format!("connection {connection}, event {event}")
            } else {
                format!("connection {connection}, event {event} ({label})")
            }
        }
        Location::ConnectionOnlyIn { connection, side } => {
            format!("connection {connection}: only in {}", side_name(*side))
        }
        Location::EventsOnlyIn {
            connection,
            first,
            count,
            side,
            label,
        } => {
            let what = if label.is_empty() {
                String::new()
            } else {
                format!(" ({label})")
            };
            return format!(
                "connection {connection}, event {first}{what}: {count} event(s) from here on only in {}",
                side_name(*side)
            );
        }
    };
    if d.fields.is_empty() {
        return place;
    }
    let fields: Vec<String> = d
        .fields
        .iter()
        .map(|f| format!("{} {} vs {}", f.field, f.left, f.right))
        .collect();
    format!("{place}: {}", fields.join("; "))
}

/// Compare two timeline documents.
pub fn diff_timelines(left: &Value, right: &Value, opts: &DiffOptions) -> TimelineDiff {
    let mut diff = TimelineDiff::default();
    let lc = connections(left);
    let rc = connections(right);
    for i in 0..lc.len().max(rc.len()) {
        match (lc.get(i), rc.get(i)) {
            (Some(a), Some(b)) => diff_connection(i, a, b, opts, &mut diff),
            (Some(_), None) => diff.differences.push(Difference {
                location: Location::ConnectionOnlyIn {
                    connection: i,
                    side: Side::Left,
                },
                fields: vec![],
            }),
            (None, Some(_)) => diff.differences.push(Difference {
                location: Location::ConnectionOnlyIn {
                    connection: i,
                    side: Side::Right,
                },
                fields: vec![],
            }),
            (None, None) => {}
        }
    }
    let mut fields = Vec::new();
    diff_object_except(left, right, &["connections"], "", opts, &mut fields);
    if !fields.is_empty() {
        diff.differences.push(Difference {
            location: Location::Document,
            fields,
        });
    }
    diff
}

fn connections(doc: &Value) -> &[Value] {
    match doc.get("connections") {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

fn events(conn: &Value) -> &[Value] {
    match conn.get("events") {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

fn diff_connection(i: usize, a: &Value, b: &Value, opts: &DiffOptions, diff: &mut TimelineDiff) {
    let ea = events(a);
    let eb = events(b);
    let common = ea.len().min(eb.len());
    for j in 0..common {
        let mut fields = Vec::new();
        diff_value(&ea[j], &eb[j], "", opts, &mut fields);
        if !fields.is_empty() {
            diff.differences.push(Difference {
                location: Location::Event {
                    connection: i,
                    event: j,
                    label: event_label(&ea[j]),
                },
                fields,
            });
        }
    }
    if ea.len() != eb.len() {
        let (side, longer) = if ea.len() > eb.len() {
            (Side::Left, ea)
        } else {
            (Side::Right, eb)
        };
        diff.differences.push(Difference {
            location: Location::EventsOnlyIn {
                connection: i,
                first: common,
                count: longer.len() - common,
                side,
                label: event_label(&longer[common]),
            },
            fields: vec![],
        });
    }
    let mut fields = Vec::new();
    diff_object_except(a, b, &["events"], "", opts, &mut fields);
    if !fields.is_empty() {
        diff.differences.push(Difference {
            location: Location::Connection { connection: i },
            fields,
        });
    }
}

/// "frame 18, client→server" from an event's frame number and direction,
/// whatever spelling the schema uses for them.
pub fn event_label(ev: &Value) -> String {
    let mut parts = Vec::new();
    for key in ["frame", "frame_number", "number"] {
        if let Some(n) = ev.get(key).and_then(Value::as_u64) {
            parts.push(format!("frame {n}"));
            break;
        }
    }
    for key in ["direction", "dir"] {
        if let Some(d) = ev.get(key).and_then(Value::as_str) {
            parts.push(pretty_direction(d));
            break;
        }
    }
    parts.join(", ")
}

fn pretty_direction(d: &str) -> String {
    match d {
        "client_to_server" | "c2s" | "to_server" => "client→server".to_string(),
        "server_to_client" | "s2c" | "to_client" => "server→client".to_string(),
        other => other.replace("_to_", "→"),
    }
}

fn diff_object_except(
    a: &Value,
    b: &Value,
    except: &[&str],
    prefix: &str,
    opts: &DiffOptions,
    out: &mut Vec<FieldDiff>,
) {
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) => {
            let mut keys: Vec<&String> = ma.keys().chain(mb.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                if except.contains(&k.as_str()) || opts.ignored(k) {
                    continue;
                }
                let path = join(prefix, k);
                match (ma.get(k), mb.get(k)) {
                    (Some(x), Some(y)) => diff_value(x, y, &path, opts, out),
                    (Some(x), None) => out.push(FieldDiff {
                        field: path,
                        left: show(x),
                        right: "(absent)".into(),
                    }),
                    (None, Some(y)) => out.push(FieldDiff {
                        field: path,
                        left: "(absent)".into(),
                        right: show(y),
                    }),
                    (None, None) => {}
                }
            }
        }
        _ => diff_value(a, b, prefix, opts, out),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Objects are compared key by key; arrays of objects element by element;
/// anything else (numbers, strings, arrays of scalars) as a whole.
fn diff_value(a: &Value, b: &Value, path: &str, opts: &DiffOptions, out: &mut Vec<FieldDiff>) {
    match (a, b) {
        (Value::Object(_), Value::Object(_)) => diff_object_except(a, b, &[], path, opts, out),
        (Value::Array(xa), Value::Array(xb))
            if xa.len() == xb.len() && xa.iter().chain(xb.iter()).any(Value::is_object) =>
        {
            for (i, (x, y)) in xa.iter().zip(xb).enumerate() {
                diff_value(x, y, &format!("{path}[{i}]"), opts, out);
            }
        }
        _ => {
            if a != b {
                let field = if path.is_empty() {
                    "(value)".to_string()
                } else {
                    path.to_string()
                };
                out.push(FieldDiff {
                    field,
                    left: show(a),
                    right: show(b),
                });
            }
        }
    }
}

/// Compact rendering: strings without quotes, everything else as JSON.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => {
            let s = other.to_string();
            if s.len() > 120 {
                let cut: String = s.chars().take(117).collect();
                format!("{cut}...")
            } else {
                s
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(window: u64, extra_event: bool) -> Value {
        let mut evs = vec![
            json!({"frame": 1, "direction": "client_to_server", "flags": "S", "window": 65535}),
            json!({"frame": 2, "direction": "server_to_client", "flags": "SA", "window": window,
                   "states": {"client": "SYN_SENT", "server": "SYN_RECEIVED"}}),
        ];
        if extra_event {
            evs.push(json!({"frame": 3, "direction": "client_to_server", "flags": "A"}));
        }
        json!({"version": 1, "connections": [{"stream": 0, "events": evs, "verdict": {"conn_state": "S1"}}]})
    }

    #[test]
    fn identical_documents_have_no_difference() {
        let d = diff_timelines(&doc(6144, true), &doc(6144, true), &DiffOptions::default());
        assert!(d.is_empty());
        assert_eq!(d.render("A", "B", 5), "timelines are identical\n");
    }

    #[test]
    fn names_connection_event_and_field() {
        let d = diff_timelines(
            &doc(6144, false),
            &doc(4096, false),
            &DiffOptions::default(),
        );
        let first = d.first_event_difference().expect("a difference");
        let line = render_difference(first, "A", "B");
        assert_eq!(
            line,
            "connection 0, event 1 (frame 2, server→client): window 6144 vs 4096"
        );
        assert_eq!(d.differing_events(), 1);
    }

    #[test]
    fn nested_fields_use_dotted_paths() {
        let a = doc(1, false);
        let mut b = a.clone();
        b["connections"][0]["events"][1]["states"]["server"] = json!("ESTABLISHED");
        b["connections"][0]["verdict"]["conn_state"] = json!("SF");
        let d = diff_timelines(&a, &b, &DiffOptions::default());
        let text = d.render("expected", "actual", 5);
        assert!(
            text.contains(
                "event 1 (frame 2, server→client): states.server SYN_RECEIVED vs ESTABLISHED"
            ),
            "{text}"
        );
        assert!(
            text.contains("connection 0: verdict.conn_state S1 vs SF"),
            "{text}"
        );
    }

    #[test]
    fn extra_events_and_connections_are_named() {
        let d = diff_timelines(&doc(1, false), &doc(1, true), &DiffOptions::default());
        let text = d.render("expected", "actual", 5);
        assert!(text.contains("connection 0, event 2 (frame 3, client→server): 1 event(s) from here on only in actual"), "{text}");
        let mut two = doc(1, false);
        let c = two["connections"][0].clone();
        two["connections"].as_array_mut().unwrap().push(c);
        let d = diff_timelines(&two, &doc(1, false), &DiffOptions::default());
        assert!(d.render("A", "B", 5).contains("connection 1: only in A"));
    }

    #[test]
    fn ignored_fields_are_skipped() {
        let a = doc(1, false);
        let b = doc(2, false);
        let opts = DiffOptions {
            ignore: vec!["window".into()],
        };
        assert!(diff_timelines(&a, &b, &opts).is_empty());
    }

    #[test]
    fn render_limits_event_count() {
        let mut a = doc(1, true);
        let mut b = doc(2, true);
        a["connections"][0]["events"][0]["window"] = json!(1);
        b["connections"][0]["events"][0]["window"] = json!(2);
        a["connections"][0]["events"][2]["x"] = json!(1);
        let d = diff_timelines(&a, &b, &DiffOptions::default());
        assert_eq!(d.differing_events(), 3);
        let text = d.render("A", "B", 1);
        assert!(text.contains("... and 2 more differing event(s)"), "{text}");
        assert!(text.contains("3 event(s) differ"), "{text}");
    }
}
