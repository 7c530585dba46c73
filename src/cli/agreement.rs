//! `tcpsim agreement` (hidden): compare tcpsim's stream-level fields and
//! analysis flags with tshark's reference tables, frame by frame, over a
//! directory of captures. Writes docs/analysis-agreement.md:
//!
//! ```text
//! cargo run --release -- agreement \
//!     --captures ../shared/captures/public --reference ../shared/captures/reference \
//!     -o docs/analysis-agreement.md
//! ```
//!
//! Reference tables are tshark's `-T fields` output with a header row
//! (`tshark-reference.sh`), one per capture, named `CAPTURE.tsv`.

use super::tcp_input::for_each_tcp_packet;
use super::CliError;
use crate::timeline::{analyze_inputs, AnalysisFlag};
use crate::track::expert::{
    compared_kinds, expert_kind, is_compared_tcp_expert, tcp_expert_messages,
};
use crate::track::tshark_fields::tcp_field;
use crate::track::TcpInput;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory of captures.
    #[arg(long)]
    pub captures: PathBuf,
    /// Directory of tshark reference tables (CAPTURE.tsv).
    #[arg(long)]
    pub reference: PathBuf,
    /// Write the Markdown report here instead of standard output.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

/// Fields that must agree on every frame.
pub const EXACT_FIELDS: &[&str] = &[
    "tcp.stream",
    "tcp.seq",
    "tcp.ack",
    "tcp.nxtseq",
    "tcp.window_size",
    "tcp.window_size_scalefactor",
];

/// Further values compared and reported.
pub const VALUE_FIELDS: &[&str] = &[
    "tcp.completeness",
    "tcp.time_relative",
    "tcp.options.sack_le",
    "tcp.options.sack_re",
    "tcp.analysis.bytes_in_flight",
    "tcp.analysis.push_bytes_sent",
    "tcp.analysis.acks_frame",
    "tcp.analysis.ack_rtt",
    "tcp.analysis.initial_rtt",
    "tcp.analysis.rto",
    "tcp.analysis.duplicate_ack_num",
    "tcp.analysis.duplicate_ack_frame",
];

/// Agreement on one field's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldCounts {
    pub agree: u64,
    pub disagree: u64,
    /// A few disagreements: "capture frame N: tshark X, tcpsim Y".
    pub examples: Vec<String>,
}

/// Agreement on one flag's presence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlagCounts {
    pub both: u64,
    pub only_tshark: u64,
    pub only_tcpsim: u64,
    pub neither: u64,
    pub examples: Vec<String>,
}

impl FlagCounts {
    pub fn frames(&self) -> u64 {
        self.both + self.only_tshark + self.only_tcpsim + self.neither
    }
    /// Percentage of frames where both say the same.
    pub fn agreement(&self) -> f64 {
        let n = self.frames();
        if n == 0 {
            100.0
        } else {
            100.0 * (self.both + self.neither) as f64 / n as f64
        }
    }
}

/// The whole comparison.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub captures: usize,
    /// Frames in the reference tables.
    pub frames: u64,
    /// Reference frames tcpsim did not decode as TCP.
    pub missing: Vec<String>,
    /// Frames tcpsim decoded as TCP that the reference does not list.
    pub extra: u64,
    pub exact: BTreeMap<String, FieldCounts>,
    pub values: BTreeMap<String, FieldCounts>,
    pub flags: Vec<(AnalysisFlag, FlagCounts)>,
    /// `_ws.expert.message`, the TCP layer's compared items only: the whole
    /// sequence per frame.
    pub expert: FieldCounts,
    /// Presence of each kind of TCP expert item (numbers replaced by N).
    pub expert_kinds: BTreeMap<String, FlagCounts>,
    /// Captures tcpsim could not read to the end (name, error).
    pub read_errors: Vec<(String, String)>,
}

const MAX_EXAMPLES: usize = 6;

fn note(list: &mut Vec<String>, s: impl FnOnce() -> String) {
    if list.len() < MAX_EXAMPLES {
        list.push(s());
    }
}

/// Compare every capture in `captures` that has a reference table.
pub fn compute(captures: &Path, reference: &Path) -> std::io::Result<Report> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(captures)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let mut rep = Report::default();
    for f in EXACT_FIELDS {
        rep.exact.insert(f.to_string(), FieldCounts::default());
    }
    for f in VALUE_FIELDS {
        rep.values.insert(f.to_string(), FieldCounts::default());
    }
    for k in compared_kinds() {
        rep.expert_kinds.insert(k, FlagCounts::default());
    }
    let mut flags: Vec<(AnalysisFlag, FlagCounts)> = AnalysisFlag::ALL
        .iter()
        .map(|f| (*f, FlagCounts::default()))
        .collect();
    for cap in names {
        let name = cap
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tsv = reference.join(format!("{name}.tsv"));
        let Ok(text) = std::fs::read_to_string(&tsv) else {
            continue;
        };
        rep.captures += 1;
        let mut packets: Vec<TcpInput> = Vec::new();
        match for_each_tcp_packet(&cap, |p| packets.push(*p)) {
            Ok(stats) => {
                if let Some(e) = stats.error {
                    rep.read_errors.push((name.clone(), e.to_string()));
                }
            }
            Err(e) => rep.read_errors.push((name.clone(), e.to_string())),
        }
        let analyses = analyze_inputs(&packets);
        let by_frame: HashMap<u64, usize> = packets
            .iter()
            .enumerate()
            .map(|(i, p)| (p.info.number, i))
            .collect();
        let mut lines = text.lines();
        let Some(header) = lines.next() else { continue };
        let cols: HashMap<&str, usize> = header
            .split('\t')
            .enumerate()
            .map(|(i, c)| (c, i))
            .collect();
        let mut seen = 0u64;
        for line in lines {
            let row: Vec<&str> = line.split('\t').collect();
            let get = |f: &str| cols.get(f).and_then(|&i| row.get(i)).copied().unwrap_or("");
            let Ok(frame) = get("frame.number").parse::<u64>() else {
                continue;
            };
            rep.frames += 1;
            let Some(&i) = by_frame.get(&frame) else {
                // tcpsim has nothing for this frame: it agrees where tshark
                // shows nothing either (a frame tshark lists as TCP but could
                // not dissect).
                rep.missing.push(format!("{name} frame {frame}"));
                for (set, fields) in [
                    (&mut rep.exact, EXACT_FIELDS),
                    (&mut rep.values, VALUE_FIELDS),
                ] {
                    for f in fields {
                        let theirs = get(f);
                        let c = set.get_mut(*f).expect("inserted above");
                        if theirs.is_empty() {
                            c.agree += 1;
                        } else {
                            c.disagree += 1;
                            note(&mut c.examples, || {
                                format!("{name} frame {frame}: tshark {theirs:?}, tcpsim has no TCP packet")
                            });
                        }
                    }
                }
                let theirs = tcp_experts(get("_ws.expert.message"));
                count_experts(&mut rep, &theirs, &[], || format!("{name} frame {frame}"));
                for (flag, c) in flags.iter_mut() {
                    let field = format!("tcp.analysis.{}", flag.name());
                    if get(&field).is_empty() {
                        c.neither += 1;
                    } else {
                        c.only_tshark += 1;
                        note(&mut c.examples, || {
                            format!("{name} frame {frame}: only tshark (tcpsim has no TCP packet)")
                        });
                    }
                }
                continue;
            };
            seen += 1;
            let (p, a) = (&packets[i].info, &analyses[i]);
            for (set, fields) in [
                (&mut rep.exact, EXACT_FIELDS),
                (&mut rep.values, VALUE_FIELDS),
            ] {
                for f in fields {
                    let theirs = get(f);
                    let ours = tcp_field(f, p, a, "|").unwrap_or_default();
                    let c = set.get_mut(*f).expect("inserted above");
                    if theirs == ours {
                        c.agree += 1;
                    } else {
                        c.disagree += 1;
                        note(&mut c.examples, || {
                            format!("{name} frame {frame}: tshark {theirs:?}, tcpsim {ours:?}")
                        });
                    }
                }
            }
            let theirs = tcp_experts(get("_ws.expert.message"));
            let ours = tcp_expert_messages(p, a);
            count_experts(&mut rep, &theirs, &ours, || format!("{name} frame {frame}"));
            for (flag, c) in flags.iter_mut() {
                let field = format!("tcp.analysis.{}", flag.name());
                let theirs = !get(&field).is_empty();
                let ours = a.tshark_shows(*flag);
                match (theirs, ours) {
                    (true, true) => c.both += 1,
                    (false, false) => c.neither += 1,
                    (true, false) => {
                        c.only_tshark += 1;
                        note(&mut c.examples, || {
                            format!("{name} frame {frame}: only tshark")
                        });
                    }
                    (false, true) => {
                        c.only_tcpsim += 1;
                        note(&mut c.examples, || {
                            format!("{name} frame {frame}: only tcpsim")
                        });
                    }
                }
            }
        }
        rep.extra += (packets.len() as u64).saturating_sub(seen);
    }
    rep.flags = flags;
    Ok(rep)
}

/// tshark's expert messages of the TCP layer that tcpsim produces, in order.
fn tcp_experts(cell: &str) -> Vec<String> {
    cell.split('|')
        .filter(|m| is_compared_tcp_expert(m))
        .map(str::to_string)
        .collect()
}

fn count_experts(rep: &mut Report, theirs: &[String], ours: &[String], at: impl Fn() -> String) {
    let c = &mut rep.expert;
    if theirs == ours {
        c.agree += 1;
    } else {
        c.disagree += 1;
        note(&mut c.examples, || {
            format!(
                "{}: tshark {:?}, tcpsim {:?}",
                at(),
                theirs.join("|"),
                ours.join("|")
            )
        });
    }
    let kinds = |v: &[String]| -> Vec<String> { v.iter().map(|m| expert_kind(m)).collect() };
    let (tk, ok) = (kinds(theirs), kinds(ours));
    for (k, c) in rep.expert_kinds.iter_mut() {
        // Presence per frame; the count of an item shows in the sequence row.
        match (tk.contains(k), ok.contains(k)) {
            (true, true) => c.both += 1,
            (false, false) => c.neither += 1,
            (true, false) => {
                c.only_tshark += 1;
                note(&mut c.examples, || format!("{}: only tshark", at()));
            }
            (false, true) => {
                c.only_tcpsim += 1;
                note(&mut c.examples, || format!("{}: only tcpsim", at()));
            }
        }
    }
}

/// The report as Markdown (docs/analysis-agreement.md).
pub fn markdown(rep: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Agreement with tshark\n");
    let _ = writeln!(
        s,
        "Generated by `cargo run --release -- agreement --captures ../shared/captures/public \
         --reference ../shared/captures/reference -o docs/analysis-agreement.md`; \
         checked by `cargo test --test track_corpus`, which fails if any agreement \
         falls below the figures here. Reference: tshark 4.0.17, two passes (`-2`), \
         `../shared/tools/tshark-reference.sh`. Each disagreement class is explained in \
         docs/differences-from-tshark.md.\n"
    );
    let _ = writeln!(
        s,
        "{} captures, {} reference frames; {} reference frames not decoded as TCP by tcpsim; \
         {} tcpsim TCP frames not in the reference.\n",
        rep.captures,
        rep.frames,
        rep.missing.len(),
        rep.extra
    );
    let _ = writeln!(s, "## Stream-level fields (must agree on every frame)\n");
    let _ = writeln!(s, "| field | frames agreeing | frames disagreeing |");
    let _ = writeln!(s, "|---|---:|---:|");
    for (f, c) in &rep.exact {
        let _ = writeln!(s, "| {f} | {} | {} |", c.agree, c.disagree);
    }
    let _ = writeln!(s, "\n## Analysis flags\n");
    let _ = writeln!(
        s,
        "| flag | both | only tshark | only tcpsim | neither | agreement % |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for (flag, c) in &rep.flags {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.3} |",
            flag.name(),
            c.both,
            c.only_tshark,
            c.only_tcpsim,
            c.neither,
            c.agreement()
        );
    }
    let _ = writeln!(s, "\n## Other analysis values\n");
    let _ = writeln!(s, "| field | frames agreeing | frames disagreeing |");
    let _ = writeln!(s, "|---|---:|---:|");
    for (f, c) in &rep.values {
        let _ = writeln!(s, "| {f} | {} | {} |", c.agree, c.disagree);
    }
    let _ = writeln!(s, "\n## TCP expert messages\n");
    let _ = writeln!(
        s,
        "`_ws.expert.message` holds the expert items of every dissector of a frame. \
         Compared here: the TCP layer's items that tcpsim produces (`tcpsim decode -T fields \
         -e _ws.expert.message` prints those only): the control bits (SYN, SYN+ACK with the \
         server port, FIN and whether it initiates or undergoes the close, RST), the header \
         checks (short segment, ACK field nonzero without ACK, urgent pointer nonzero \
         without URG), the options (D-SACK, window scale over 14, SYN without MSS) and every \
         sequence-analysis item. Left out on both sides: other dissectors' items (HTTP, TLS, \
         Ethernet, IP, PPPoE, frame, and \"Malformed Packet\", which does not say which layer \
         failed), because tcpsim decodes no layer above TCP and reports link and IP problems \
         as decode errors instead; and TCP items tcpsim does not produce: \"Bad checksum \
         [should be 0x....]\" (the connection analyzer does not carry the computed checksum; \
         checksum verdicts are compared as `tcp.checksum.status` by the decode corpus test, \
         and partial checksums differ on purpose, see docs/differences-from-tshark.md), \
         option-list malformations (\"N NOP in a row\", \"option length should be N\", \
         \"... goes past end of options\") and TCP Fast Open notes. First the whole \
         sequence of compared items per frame, then each kind of item (numbers replaced by \
         N) by presence per frame.\n"
    );
    let _ = writeln!(s, "| field | frames agreeing | frames disagreeing |");
    let _ = writeln!(s, "|---|---:|---:|");
    let _ = writeln!(
        s,
        "| _ws.expert.message (TCP) | {} | {} |",
        rep.expert.agree, rep.expert.disagree
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| item | both | only tshark | only tcpsim | neither | agreement % |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for (k, c) in &rep.expert_kinds {
        let _ = writeln!(
            s,
            "| {k} | {} | {} | {} | {} | {:.3} |",
            c.both,
            c.only_tshark,
            c.only_tcpsim,
            c.neither,
            c.agreement()
        );
    }
    let _ = writeln!(s, "\n## Examples of each disagreement\n");
    for (f, c) in rep.exact.iter().chain(rep.values.iter()) {
        for e in &c.examples {
            let _ = writeln!(s, "- {f}: {e}");
        }
    }
    for (flag, c) in &rep.flags {
        for e in &c.examples {
            let _ = writeln!(s, "- tcp.analysis.{}: {e}", flag.name());
        }
    }
    for e in &rep.expert.examples {
        let _ = writeln!(s, "- _ws.expert.message (TCP): {e}");
    }
    if !rep.read_errors.is_empty() {
        let _ = writeln!(s, "\n## Captures read up to an error\n");
        for (n, e) in &rep.read_errors {
            let _ = writeln!(s, "- {n}: {e}");
        }
    }
    s
}

pub fn run(args: Args) -> Result<(), CliError> {
    let rep = compute(&args.captures, &args.reference).map_err(|e| CliError::new(e.to_string()))?;
    let md = markdown(&rep);
    match &args.output {
        Some(p) => std::fs::write(p, md)
            .map_err(|e| CliError::new(format!("{}: cannot write: {e}", p.display()))),
        None => {
            print!("{md}");
            Ok(())
        }
    }
}
