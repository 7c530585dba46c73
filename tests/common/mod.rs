//! Locating ../shared (the public capture corpus and tshark's reference
//! tables). Tests that need it fail loudly when it is missing.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// `$TCPSIM_SHARED` if set, else `$CARGO_MANIFEST_DIR/../shared`.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("TCPSIM_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    assert!(
        dir.join("captures/public").is_dir() && dir.join("captures/reference").is_dir(),
        "this test needs the capture corpus at {} (captures/public and captures/reference); \
         set TCPSIM_SHARED to its location",
        dir.display()
    );
    dir
}

/// tshark-diff.py's `norm`: numbers compared as numbers (1.500000 == 1.5),
/// '|'-joined values kept in order.
#[allow(dead_code)] // not every test crate compares tables
pub fn norm(v: &str) -> String {
    v.split('|')
        .map(|p| {
            let p = p.trim();
            match p.parse::<f64>() {
                Ok(x) if x.is_finite() => {
                    if x == x.trunc() && !p.to_ascii_lowercase().contains('e') {
                        format!("{x:.0}")
                    } else {
                        format!("{}", (x * 1e6).round() / 1e6)
                    }
                }
                _ => p.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// A reference cell as tcpsim is expected to print it: tcpsim's
/// `_ws.expert.message` holds the TCP layer's items it produces, tshark's
/// every layer's, so that field is compared on the same subset
/// (docs/analysis-agreement.md says what is left out).
#[allow(dead_code)]
pub fn reference_cell(field: &str, cell: &str) -> String {
    if field != "_ws.expert.message" {
        return cell.to_string();
    }
    cell.split('|')
        .filter(|m| tcpsim::track::expert::is_compared_tcp_expert(m))
        .collect::<Vec<_>>()
        .join("|")
}

#[allow(dead_code)]
pub type Table = (Vec<String>, BTreeMap<u64, Vec<String>>);

#[allow(dead_code)]
pub fn parse_tsv(text: &str) -> Table {
    let mut lines = text.lines();
    let head: Vec<String> = match lines.next() {
        Some(h) => h.split('\t').map(String::from).collect(),
        None => return (Vec::new(), BTreeMap::new()),
    };
    let key = head
        .iter()
        .position(|h| h == "frame.number")
        .expect("frame.number column");
    let mut rows = BTreeMap::new();
    for l in lines {
        let mut r: Vec<String> = l.split('\t').map(String::from).collect();
        r.resize(head.len(), String::new());
        let n: u64 = r[key].parse().expect("frame number");
        rows.insert(n, r);
    }
    (head, rows)
}
