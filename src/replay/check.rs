//! Regression fixtures: each `NAME.json` in a directory is an expected
//! timeline that names its own source (`source.kind` and `source.name`: a
//! capture path or a simulator scenario with its seed). `check` rebuilds each
//! timeline from its source and reports the first differing events; `bless`
//! rewrites the expectations.

use super::diff::{diff_timelines, DiffOptions, TimelineDiff};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where a fixture's timeline comes from, as its expected timeline names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FixtureSource {
    /// A capture file; `path` is resolved (see [`resolve_capture`]), `name` is
    /// the path as written in the fixture.
    Capture { path: PathBuf, name: String },
    /// A simulator scenario: a built-in name or a scenario file, and the seed.
    Simulation {
        name: String,
        path: Option<PathBuf>,
        seed: Option<u64>,
    },
}

/// Why a fixture could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{dir}: cannot list fixtures: {err}")]
    ListDir { dir: PathBuf, err: std::io::Error },
    #[error("{dir}: no fixtures (*.json) found")]
    Empty { dir: PathBuf },
    #[error("{file}: cannot read: {err}")]
    Read { file: PathBuf, err: std::io::Error },
    #[error("{file}: not valid JSON at line {line} column {column}: {msg}")]
    Json {
        file: PathBuf,
        line: usize,
        column: usize,
        msg: String,
    },
    #[error("{file}: source.{field} missing or not understood (expected source.kind \"capture\" or \"simulation\" and source.name)")]
    Source { file: PathBuf, field: &'static str },
    #[error("{file}: capture {name} not found (looked beside the fixture, in its parent directory and in the current directory)")]
    CaptureMissing { file: PathBuf, name: String },
    #[error("{file}: cannot rebuild timeline from {source_name}: {msg}")]
    Produce {
        file: PathBuf,
        source_name: String,
        msg: String,
    },
    #[error("{file}: cannot write: {err}")]
    Write { file: PathBuf, err: std::io::Error },
}

/// The outcome for one fixture.
#[derive(Debug)]
pub struct FixtureResult {
    pub file: PathBuf,
    pub source: FixtureSource,
    pub diff: TimelineDiff,
    /// Whether the expectation was rewritten (`--bless`).
    pub blessed: bool,
}

impl FixtureResult {
    pub fn passed(&self) -> bool {
        self.diff.is_empty()
    }
}

/// The `*.json` files of `dir`, sorted by name.
pub fn fixture_files(dir: &Path) -> Result<Vec<PathBuf>, CheckError> {
    let rd = std::fs::read_dir(dir).map_err(|err| CheckError::ListDir {
        dir: dir.to_path_buf(),
        err,
    })?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CheckError::Empty {
            dir: dir.to_path_buf(),
        });
    }
    Ok(files)
}

/// Reads a JSON file, naming it and the position on failure.
pub fn read_json_file(file: &Path) -> Result<Value, CheckError> {
    let text = std::fs::read_to_string(file).map_err(|err| CheckError::Read {
        file: file.to_path_buf(),
        err,
    })?;
    serde_json::from_str(&text).map_err(|e| CheckError::Json {
        file: file.to_path_buf(),
        line: e.line(),
        column: e.column(),
        msg: e.to_string(),
    })
}

/// A capture named by a fixture: tried as written relative to the fixture's
/// directory, then to that directory's parent (the repository root for
/// `fixtures/`), then to the current directory.
pub fn resolve_capture(fixture: &Path, name: &str) -> Option<PathBuf> {
    let dir = fixture.parent().unwrap_or(Path::new("."));
    let mut candidates = vec![dir.join(name)];
    if let Some(parent) = dir.parent() {
        candidates.push(parent.join(name));
    }
    candidates.push(PathBuf::from(name));
    candidates.into_iter().find(|p| p.is_file())
}

/// What a fixture's expected timeline says about its source.
pub fn fixture_source(file: &Path, expected: &Value) -> Result<FixtureSource, CheckError> {
    let src = expected.get("source").ok_or(CheckError::Source {
        file: file.to_path_buf(),
        field: "source",
    })?;
    let kind = src
        .get("kind")
        .and_then(Value::as_str)
        .ok_or(CheckError::Source {
            file: file.to_path_buf(),
            field: "kind",
        })?;
    let name = src
        .get("name")
        .and_then(Value::as_str)
        .ok_or(CheckError::Source {
            file: file.to_path_buf(),
            field: "name",
        })?
        .to_string();
    match kind {
        "capture" => {
            let path = resolve_capture(file, &name).ok_or_else(|| CheckError::CaptureMissing {
                file: file.to_path_buf(),
                name: name.clone(),
            })?;
            Ok(FixtureSource::Capture { path, name })
        }
        "simulation" => {
            // Not a built-in: a scenario file, by path or as scenarios/NAME.json.
            let path = resolve_capture(file, &name)
                .or_else(|| resolve_capture(file, &format!("scenarios/{name}.json")));
            Ok(FixtureSource::Simulation {
                name,
                path,
                seed: src.get("seed").and_then(Value::as_u64),
            })
        }
        _ => Err(CheckError::Source {
            file: file.to_path_buf(),
            field: "kind",
        }),
    }
}

/// Checks one fixture: rebuild its timeline with `produce`, compare, and
/// with `bless` rewrite the expectation when it differs.
pub fn check_fixture(
    file: &Path,
    bless: bool,
    opts: &DiffOptions,
    produce: &dyn Fn(&FixtureSource) -> Result<String, String>,
) -> Result<FixtureResult, CheckError> {
    let expected = read_json_file(file)?;
    let source = fixture_source(file, &expected)?;
    let actual = produce(&source).map_err(|msg| CheckError::Produce {
        file: file.to_path_buf(),
        source_name: match &source {
            FixtureSource::Capture { name, .. } | FixtureSource::Simulation { name, .. } => {
                name.clone()
            }
        },
        msg,
    })?;
    // Compare through text so that numbers read back exactly as a blessed file holds them.
    let mut actual_text = actual;
    if !actual_text.ends_with('\n') {
        actual_text.push('\n');
    }
    let actual: Value = serde_json::from_str(&actual_text).map_err(|e| CheckError::Produce {
        file: file.to_path_buf(),
        source_name: String::new(),
        msg: e.to_string(),
    })?;
    let diff = diff_timelines(&expected, &actual, opts);
    let mut blessed = false;
    if bless && !diff.is_empty() {
        std::fs::write(file, actual_text).map_err(|err| CheckError::Write {
            file: file.to_path_buf(),
            err,
        })?;
        blessed = true;
    }
    Ok(FixtureResult {
        file: file.to_path_buf(),
        source,
        diff,
        blessed,
    })
}

/// Rebuilds a fixture's timeline from its source: a capture goes through
/// the same decoder and analyzer as `tcpsim timeline`.
pub fn rebuild(source: &FixtureSource) -> Result<String, String> {
    match source {
        FixtureSource::Capture { path, name } => {
            let cap = super::source::read_capture(path).map_err(|e| e.to_string())?;
            let src = crate::timeline::Source {
                kind: crate::timeline::SourceKind::Capture,
                name: name.clone(),
                seed: None,
                packets: 0,
            };
            let tl = crate::timeline::timeline_from_packets(src, &cap.packets);
            serde_json::to_string_pretty(&tl).map_err(|e| e.to_string())
        }
        FixtureSource::Simulation { name, path, seed } => {
            // A built-in scenario by name, else a scenario file.
            let (scenario, file) = match crate::sim::builtin::builtin(name) {
                Ok(sc) => (Ok(sc), format!("builtin:{name}")),
                Err(_) => match path {
                    Some(p) => (crate::sim::Scenario::load(p), p.display().to_string()),
                    None => {
                        return Err(format!(
                            "scenario {name}: not a built-in scenario and no scenario file found"
                        ))
                    }
                },
            };
            let mut scenario = scenario.map_err(|e| e.to_string())?;
            if let Some(seed) = seed {
                scenario.seed = *seed;
            }
            let mut cfg = scenario.to_config(&file).map_err(|e| e.to_string())?;
            cfg.trace = true;
            let mut sim = crate::sim::Sim::new(cfg);
            sim.run();
            let frames = crate::sim::output::frames(&sim).map_err(|e| e.to_string())?;
            let tl = crate::sim::output::timeline(&frames, &scenario.name, scenario.seed);
            serde_json::to_string_pretty(&tl).map_err(|e| e.to_string())
        }
    }
}

/// Pretty JSON with a final newline: the form fixtures are stored in.
pub fn to_fixture_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// Checks every fixture of `dir`. Stops at the first fixture that cannot be
/// checked at all (unreadable, unknown source); differences do not stop it.
pub fn check_dir(
    dir: &Path,
    bless: bool,
    opts: &DiffOptions,
    produce: &dyn Fn(&FixtureSource) -> Result<String, String>,
) -> Result<Vec<FixtureResult>, CheckError> {
    fixture_files(dir)?
        .iter()
        .map(|f| check_fixture(f, bless, opts, produce))
        .collect()
}

/// Report for people: one line per fixture, and for each failing one the
/// first differing events (at most `max_events`).
pub fn render_results(results: &[FixtureResult], max_events: usize) -> String {
    let mut out = String::new();
    for r in results {
        let status = if r.passed() {
            "ok"
        } else if r.blessed {
            "BLESSED"
        } else {
            "FAIL"
        };
        out.push_str(&format!("{status:<8}{}\n", r.file.display()));
        if !r.passed() {
            for line in r.diff.render("expected", "actual", max_events).lines() {
                out.push_str("        ");
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    let failed = results.iter().filter(|r| !r.passed() && !r.blessed).count();
    let blessed = results.iter().filter(|r| r.blessed).count();
    out.push_str(&format!(
        "{} fixture(s): {} ok, {} failed, {} blessed\n",
        results.len(),
        results.len() - failed - blessed,
        failed,
        blessed
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tcpsim-check-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn timeline(window: u64) -> Value {
        json!({"schema_version": 1, "source": {"kind": "capture", "name": "x.pcap", "packets": 1},
               "connections": [{"stream": 0, "events": [{"frame": 1, "direction": "client_to_server", "window": window}]}]})
    }

    #[test]
    fn missing_capture_and_bad_source_are_named() {
        let d = tempdir("missing");
        let f = d.join("a.json");
        std::fs::write(&f, to_fixture_text(&timeline(1))).unwrap();
        let produce = |_: &FixtureSource| -> Result<String, String> { Ok(timeline(1).to_string()) };
        let err = check_dir(&d, false, &DiffOptions::default(), &produce).unwrap_err();
        assert!(
            err.to_string().contains("capture x.pcap not found"),
            "{err}"
        );
        std::fs::write(&f, "{\"source\": {\"kind\": \"radio\", \"name\": \"x\"}}").unwrap();
        let err = check_dir(&d, false, &DiffOptions::default(), &produce).unwrap_err();
        assert!(err.to_string().contains("source.kind"), "{err}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn bless_rewrites_and_then_passes() {
        let d = tempdir("bless");
        std::fs::write(d.join("x.pcap"), b"not read by this producer").unwrap();
        let f = d.join("a.json");
        std::fs::write(&f, to_fixture_text(&timeline(1))).unwrap();
        let produce = |_: &FixtureSource| -> Result<String, String> { Ok(timeline(2).to_string()) };
        let r = check_dir(&d, false, &DiffOptions::default(), &produce).unwrap();
        assert!(!r[0].passed());
        let text = render_results(&r, 3);
        assert!(text.contains("FAIL"), "{text}");
        assert!(
            text.contains("connection 0, event 0 (frame 1, client→server): window 1 vs 2"),
            "{text}"
        );
        let r = check_dir(&d, true, &DiffOptions::default(), &produce).unwrap();
        assert!(r[0].blessed);
        let r = check_dir(&d, false, &DiffOptions::default(), &produce).unwrap();
        assert!(r[0].passed());
        let _ = std::fs::remove_dir_all(&d);
    }
}
