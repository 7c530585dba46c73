//! `tcpsim plot` and `tcpsim report` from the command line: outputs, stream
//! selection and error handling (one line on stderr, non-zero exit, output
//! made before a fault kept).

mod common;

use std::path::{Path, PathBuf};

use common::tcpsim;

fn project(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

fn shared_capture(name: &str) -> String {
    let dir = match std::env::var_os("TCPSIM_SHARED") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    let p = dir.join("captures/public").join(name);
    assert!(
        p.exists(),
        "{} missing (set TCPSIM_SHARED to the shared/ folder)",
        p.display()
    );
    p.display().to_string()
}

/// Records in a capture (every record of the shipped loopback captures is TCP).
fn records(path: &str) -> usize {
    let mut r = tcpsim::pcap::CaptureReader::open(path).unwrap();
    let mut n = 0;
    while let Some(rec) = r.next_record() {
        rec.unwrap();
        n += 1;
    }
    n
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tcpsim-plot-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn plot_kinds_write_svg_to_stdout_and_files() {
    let cap = project("captures/run-echo.pcap");
    for kind in ["ladder", "sequence", "window"] {
        let out = tcpsim(&["plot", &cap, "--kind", kind]);
        assert!(
            out.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let svg = String::from_utf8(out.stdout).unwrap();
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{kind}"
        );
        assert!(svg.contains(&format!("tcpsim-{kind}")), "{kind}");
    }
    let dir = temp("files");
    let file = dir.join("l.svg");
    let out = tcpsim(&["plot", &cap, "-o", file.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let svg = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        svg.matches("<g class=\"arrow ").count(),
        records(&cap),
        "one arrow per packet"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn text_ladder_and_timeline_json_input() {
    let cap = project("captures/run-echo.pcap");
    let text = tcpsim(&["plot", &cap, "--format", "text"]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.contains(" seq=")).count(),
        records(&cap),
        "{text}"
    );
    assert!(
        text.contains("TIME-WAIT") && text.contains("LAST-ACK"),
        "{text}"
    );

    // The same capture as timeline JSON draws the same picture.
    let dir = temp("json");
    let json = dir.join("t.json");
    let (_, t) = tcpsim::plot::input::load(Path::new(&cap)).unwrap();
    std::fs::write(&json, serde_json::to_string_pretty(&t).unwrap()).unwrap();
    let from_json = tcpsim(&["plot", json.to_str().unwrap(), "--format", "text"]);
    assert!(
        from_json.status.success(),
        "{}",
        String::from_utf8_lossy(&from_json.stderr)
    );
    assert_eq!(String::from_utf8(from_json.stdout).unwrap(), text);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_are_one_line_and_non_zero() {
    let cap = project("captures/run-echo.pcap");
    let out = tcpsim(&["plot", &cap, "--stream", "7"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("stream index 7"), "{err}");

    let out = tcpsim(&["plot", &cap, "--kind", "window", "--format", "text"]);
    assert_eq!(out.status.code(), Some(2));

    let out = tcpsim(&["report", &cap, "--stream", "3"]);
    assert!(!out.status.success());

    let out = tcpsim(&["plot", "/nonexistent/x.pcap"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        !out.status.success() && err.contains("/nonexistent/x.pcap"),
        "{err}"
    );
}

#[test]
fn truncated_capture_report_keeps_what_was_read() {
    // Packet 7 of this capture has an impossible record length.
    let cap = shared_capture("suricata-verify__tests__bug-1450-04__tls_DER-incomplete-header.pcap");
    let dir = temp("trunc");
    let html = dir.join("r.html");
    let out = tcpsim(&["report", &cap, "-o", html.to_str().unwrap()]);
    assert!(!out.status.success(), "the fault fails the command");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("packet 7"), "{err}");
    let page = std::fs::read_to_string(&html).expect("report written before the fault");
    assert!(
        page.contains("<section class=\"conn\""),
        "the packets before the fault are drawn"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&")
}

#[test]
fn report_table_matches_tcpsim_conns() {
    let cap = shared_capture("nDPI__tests__cfgs__default__pcap__sites.pcapng");
    let conns = tcpsim(&["conns", &cap]);
    assert!(
        conns.status.success(),
        "{}",
        String::from_utf8_lossy(&conns.stderr)
    );
    let conns = String::from_utf8(conns.stdout).unwrap();
    let want: Vec<Vec<String>> = conns
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().take(15).map(str::to_string).collect())
        .collect();
    assert!(want.len() > 10, "{conns}");

    let out = tcpsim(&["report", &cap, "--largest", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<String>> = html
        .split("<tr class=\"conn-row")
        .skip(1)
        .map(|r| {
            let r = &r[..r.find("</tr>").unwrap()];
            r.split("<td")
                .skip(1)
                .map(|c| strip_tags(&format!("<td{c}")))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), want.len(), "one table row per connection");
    for (row, want) in rows.iter().zip(&want) {
        let got: Vec<String> = row
            .iter()
            .take(15)
            .map(|c| c.split_whitespace().next().unwrap_or("").to_string())
            .collect();
        assert_eq!(&got, want, "report row differs from tcpsim conns");
    }
    assert_eq!(html.matches("<section class=\"conn\"").count(), 2);
}
