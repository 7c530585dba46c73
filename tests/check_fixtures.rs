//! Regression fixtures: `tcpsim check fixtures/` is the mechanism; this test
//! runs it over every fixture, and shows that breaking one field of an
//! expectation makes it fail with a diff naming connection, event and field.
//! Re-bless with `cargo run --release -- check fixtures --bless`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use tcpsim::replay::check::{check_dir, rebuild, render_results, to_fixture_text};
use tcpsim::replay::diff::DiffOptions;

fn fixtures() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    assert!(d.is_dir(), "{} is missing", d.display());
    d
}

#[test]
fn every_fixture_matches_its_source() {
    let results = check_dir(&fixtures(), false, &DiffOptions::default(), &rebuild)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!results.is_empty());
    let text = render_results(&results, 5);
    println!("{text}");
    assert!(
        results.iter().all(|r| r.passed()),
        "fixtures differ (re-bless if intended):\n{text}"
    );
}

/// A copy of the first fixture (in a directory of its own) with one event's
/// window changed; returns the directory, the event index and its frame.
fn broken_copy(tag: &str) -> (PathBuf, usize, u64, u64) {
    let src = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .min()
        .expect("a fixture");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&src).unwrap()).unwrap();
    let events = v["connections"][0]["events"]
        .as_array_mut()
        .expect("events");
    let idx = events.len() / 2;
    let frame = events[idx]["frame"].as_u64().unwrap();
    let window = events[idx]["window"].as_u64().unwrap();
    events[idx]["window"] = Value::from(window + 1);
    let dir = std::env::temp_dir().join(format!("tcpsim-fixture-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(src.file_name().unwrap()), to_fixture_text(&v)).unwrap();
    (dir, idx, frame, window)
}

#[test]
fn a_broken_expectation_names_connection_event_and_field() {
    let (dir, idx, frame, window) = broken_copy("lib");
    // The copy names its capture relative to the repository root, which is
    // the test's working directory.
    let results =
        check_dir(&dir, false, &DiffOptions::default(), &rebuild).unwrap_or_else(|e| panic!("{e}"));
    assert!(!results[0].passed());
    let text = render_results(&results, 5);
    let want = format!("connection 0, event {idx} (frame {frame}, ");
    let line = text
        .lines()
        .find(|l| l.contains(&want))
        .unwrap_or_else(|| panic!("no line with {want}:\n{text}"));
    assert!(
        line.contains(&format!("window {} vs {window}", window + 1)),
        "{text}"
    );
    assert_eq!(
        results[0].diff.differing_events(),
        1,
        "exactly the broken event differs:\n{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_check_fails_on_a_broken_expectation_and_bless_repairs_it() {
    let exe = env!("CARGO_BIN_EXE_tcpsim");
    let (dir, idx, frame, window) = broken_copy("cli");
    let out = Command::new(exe).arg("check").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL"), "{text}");
    assert!(
        text.contains(&format!("connection 0, event {idx} (frame {frame}, "))
            && text.contains(&format!("window {} vs {window}", window + 1)),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 fixture(s) differ"));
    let out = Command::new(exe)
        .arg("check")
        .arg(&dir)
        .arg("--bless")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = Command::new(exe).arg("check").arg(&dir).output().unwrap();
    assert!(
        out.status.success(),
        "after bless: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
