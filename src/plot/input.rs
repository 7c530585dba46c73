//! What `tcpsim plot` and `tcpsim report` read: a capture (pcap or pcapng,
//! analyzed by `track` into a timeline) or a timeline written by `tcpsim
//! timeline` / `tcpsim simulate` (one JSON document, or JSON lines). The kind
//! is told by the file's first bytes, not its name.

use crate::cli::tcp_input::for_each_tcp_packet;
use crate::pcap::CaptureError;
use crate::timeline::builder::TimelineBuilder;
use crate::timeline::schema::{
    Connection, JsonlLine, Source, SourceKind, Timeline, SCHEMA_VERSION,
};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Why a file could not be turned into a timeline.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{file}: cannot read: {err}")]
    Io { file: String, err: std::io::Error },
    #[error("{0}")]
    Capture(#[from] CaptureError),
    #[error("{file}: not a capture and not timeline JSON: {what} at line {line} column {column}")]
    Json {
        file: String,
        line: usize,
        column: usize,
        what: String,
    },
    #[error("{file}: line {line}: {what}")]
    Jsonl {
        file: String,
        line: usize,
        what: String,
    },
    #[error("{file}: neither a capture (no pcap or pcapng magic number) nor timeline JSON (not UTF-8 text)")]
    Unknown { file: String },
    #[error("{file}: empty file")]
    Empty { file: String },
}

/// What the file turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Capture,
    TimelineJson,
    TimelineJsonl,
}

/// Magic numbers of classic pcap (both byte orders, micro- and nanosecond)
/// and of a pcapng Section Header Block.
pub fn is_capture_magic(head: &[u8]) -> bool {
    const MAGICS: [[u8; 4]; 7] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
        // Kuznetsov's "modified" pcap: the reader names what it cannot read.
        [0x34, 0xcd, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xcd, 0x34],
        [0x0a, 0x0d, 0x0d, 0x0a],
    ];
    head.len() >= 4 && MAGICS.iter().any(|m| head[..4] == m[..])
}

/// What [`load`] read. `fault` is set when a capture broke off part way:
/// `timeline` then holds the packets before the fault.
pub struct Loaded {
    pub kind: InputKind,
    pub timeline: Timeline,
    pub fault: Option<InputError>,
}

/// Reads `path` into a timeline, whatever it is; a capture that breaks off
/// part way is an error.
pub fn load(path: &Path) -> Result<(InputKind, Timeline), InputError> {
    let l = load_partial(path)?;
    match l.fault {
        Some(e) => Err(e),
        None => Ok((l.kind, l.timeline)),
    }
}

/// As [`load`], but a capture that breaks off part way still yields the
/// timeline of the packets before the fault, with the fault beside it.
pub fn load_partial(path: &Path) -> Result<Loaded, InputError> {
    let file = path.display().to_string();
    let io = |err| InputError::Io {
        file: file.clone(),
        err,
    };
    let mut head = [0u8; 4];
    let n = {
        let mut f = std::fs::File::open(path).map_err(io)?;
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..]).map_err(io)? {
                0 => break,
                k => n += k,
            }
        }
        n
    };
    if n == 0 {
        return Err(InputError::Empty { file });
    }
    if is_capture_magic(&head[..n]) {
        let (timeline, fault) = load_capture(path)?;
        return Ok(Loaded {
            kind: InputKind::Capture,
            timeline,
            fault: fault.map(InputError::Capture),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(InputError::Unknown { file });
    };
    let whole = |kind, timeline| Loaded {
        kind,
        timeline,
        fault: None,
    };
    match serde_json::from_str::<Timeline>(&text) {
        Ok(t) => Ok(whole(InputKind::TimelineJson, t)),
        Err(doc_err) => {
            // JSON lines start with a `"type"` tagged object on the first line.
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            if first.contains("\"type\"") && text.trim_end().lines().count() > 1 {
                Ok(whole(
                    InputKind::TimelineJsonl,
                    parse_jsonl(&file, text.as_bytes())?,
                ))
            } else {
                Err(InputError::Json {
                    file,
                    line: doc_err.line(),
                    column: doc_err.column(),
                    what: doc_err.to_string(),
                })
            }
        }
    }
}

/// A capture through the analyzer, with the input loop of `tcpsim timeline`
/// (IP reassembly included): every TCP packet, in capture order. A fault in
/// the file part way is returned beside the timeline of the packets before
/// it; a file that cannot be opened is an error.
pub fn load_capture(path: &Path) -> Result<(Timeline, Option<CaptureError>), InputError> {
    let source = Source {
        kind: SourceKind::Capture,
        name: path.display().to_string(),
        seed: None,
        packets: 0,
    };
    let mut builder = TimelineBuilder::new(source);
    let stats = for_each_tcp_packet(path, |p| {
        builder.push_input(p);
    })?;
    Ok((builder.finish(), stats.error))
}

/// Rebuilds a timeline from `tcpsim timeline --jsonl` lines: events are
/// gathered per stream and attached to their connection's summary line.
pub fn parse_jsonl(file: &str, bytes: &[u8]) -> Result<Timeline, InputError> {
    let mut source = None;
    let mut events: BTreeMap<u32, Vec<_>> = BTreeMap::new();
    let mut conns: BTreeMap<u32, Connection> = BTreeMap::new();
    for (i, line) in BufReader::new(bytes).lines().enumerate() {
        let line = line.map_err(|err| InputError::Io {
            file: file.to_string(),
            err,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: JsonlLine = serde_json::from_str(&line).map_err(|e| InputError::Jsonl {
            file: file.to_string(),
            line: i + 1,
            what: e.to_string(),
        })?;
        match parsed {
            JsonlLine::Source { source: s, .. } => source = Some(s),
            JsonlLine::Event { stream, event } => events.entry(stream).or_default().push(event),
            JsonlLine::Connection(c) => {
                conns.insert(c.stream, *c);
            }
        }
    }
    let connections = conns
        .into_values()
        .map(|mut c| {
            if c.events.is_empty() {
                c.events = events.remove(&c.stream).unwrap_or_default();
            }
            c
        })
        .collect();
    Ok(Timeline {
        schema_version: SCHEMA_VERSION,
        source: source.unwrap_or(Source {
            kind: SourceKind::Capture,
            name: file.to_string(),
            seed: None,
            packets: 0,
        }),
        connections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_magic() {
        assert!(is_capture_magic(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]));
        assert!(is_capture_magic(&[0x0a, 0x0d, 0x0d, 0x0a]));
        assert!(!is_capture_magic(b"{\"sc"));
        assert!(!is_capture_magic(&[0xd4, 0xc3]));
    }

    #[test]
    fn bad_files_are_errors_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("tcpsim-plot-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.json");
        std::fs::write(&empty, b"").unwrap();
        let e = load(&empty).unwrap_err().to_string();
        assert!(e.contains("empty.json") && e.contains("empty"), "{e}");
        let junk = dir.join("junk.json");
        std::fs::write(&junk, b"{\"schema_version\": 1, \"source\": 3}").unwrap();
        let e = load(&junk).unwrap_err().to_string();
        assert!(e.contains("junk.json") && e.contains("line 1"), "{e}");
        let bin = dir.join("bin.dat");
        std::fs::write(&bin, [0xffu8, 0xfe, 0x00, 0x80, 0x81]).unwrap();
        let e = load(&bin).unwrap_err().to_string();
        assert!(
            e.contains("bin.dat") && e.contains("neither a capture"),
            "{e}"
        );
        let e = load(&dir.join("missing.pcap")).unwrap_err().to_string();
        assert!(
            e.contains("missing.pcap") && e.contains("cannot read"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
