//! `tcpsim decode FILE`: one line per TCP packet for people, `--json` /
//! `--jsonl` for programs, tshark's field interface (`-T fields -e NAME`,
//! `-E header=y ...`), and `--hex` to see each header on the wire.
//!
//! Output is buffered; a closed pipe (`| head`) ends the run quietly. A fault
//! in the capture file stops the run after everything before it is printed.

use super::fields::{self, FieldCtx, FieldDef, FieldFormat, Occurrence};
use super::output::{self, BackgroundWriter};
use super::CliError;
use crate::pcap::{CaptureError, CaptureReader, Record};
use crate::track::{Analyzer, AnalyzerOptions, FinalNumbers};
use crate::wire::decode::{decode_frame, Decoded, MalformedTcp, NotTcp, TcpFrame};
use crate::wire::reassembly::Reassembler;
use crate::wire::{ChecksumStatus, SeqNumber, TcpFlags, TcpPacketInfo};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// A pcap or pcapng capture.
    pub file: PathBuf,
    /// Output format as tshark names it: `fields` (with -e), `json`, `jsonl`, `text`.
    #[arg(short = 'T', value_name = "FORMAT")]
    pub format: Option<String>,
    /// A field to print with -T fields, by tshark name (repeatable).
    #[arg(short = 'e', value_name = "FIELD")]
    pub fields: Vec<String>,
    /// tshark's -E options: header=y|n, separator=/t|/s|C, quote=n|d|s,
    /// occurrence=f|l|a, aggregator=,|C (repeatable).
    #[arg(short = 'E', value_name = "KEY=VALUE")]
    pub field_options: Vec<String>,
    /// One JSON document holding every packet.
    #[arg(long, conflicts_with_all = ["jsonl", "hex"])]
    pub json: bool,
    /// One JSON object per line, per packet.
    #[arg(long, conflicts_with = "hex")]
    pub jsonl: bool,
    /// Each packet's bytes with the header fields marked and read in network byte order.
    #[arg(long)]
    pub hex: bool,
    /// Two passes, as tshark -2: stream-level values (relative numbers,
    /// window scaling, completeness) as they stand at the end of the capture.
    #[arg(short = '2')]
    pub two_pass: bool,
}

/// How `-T fields` prints.
#[derive(Clone)]
pub struct FieldsSpec {
    pub fields: Vec<FieldDef>,
    pub header: bool,
    pub separator: u8,
    /// Quote character around each value, if any.
    pub quote: Option<u8>,
    pub format: FieldFormat,
}

impl FieldsSpec {
    /// Field list and -E options as tshark takes them.
    pub fn parse(names: &[String], options: &[String]) -> Result<FieldsSpec, String> {
        if names.is_empty() {
            return Err("-T fields needs at least one -e FIELD".into());
        }
        let fields = fields::resolve(names)?;
        let mut spec = FieldsSpec {
            fields,
            header: false,
            separator: b'\t',
            quote: None,
            format: FieldFormat::default(),
        };
        for opt in options {
            let (k, v) = opt
                .split_once('=')
                .ok_or_else(|| format!("-E {opt}: expected KEY=VALUE"))?;
            let one_char = |v: &str| -> Result<u8, String> {
                match v {
                    "/t" => Ok(b'\t'),
                    "/s" => Ok(b' '),
                    s if s.len() == 1 => Ok(s.as_bytes()[0]),
                    _ => Err(format!("-E {opt}: expected one character, /t or /s")),
                }
            };
            match k {
                "header" => spec.header = matches!(v, "y" | "Y"),
                "separator" => spec.separator = one_char(v)?,
                "aggregator" => spec.format.aggregator = one_char(v)?,
                "quote" => {
                    spec.quote = match v {
                        "n" => None,
                        "d" => Some(b'"'),
                        "s" => Some(b'\''),
                        _ => return Err(format!("-E {opt}: quote is n, d or s")),
                    }
                }
                "occurrence" => {
                    spec.format.occurrence = match v {
                        "f" => Occurrence::First,
                        "l" => Occurrence::Last,
                        "a" => Occurrence::All,
                        _ => return Err(format!("-E {opt}: occurrence is f, l or a")),
                    }
                }
                "bom" | "escape" => {}
                _ => return Err(format!("-E {opt}: unknown option {k}")),
            }
        }
        Ok(spec)
    }
}

/// What to print.
#[derive(Clone)]
pub enum OutputMode {
    Text,
    Fields(FieldsSpec),
    Json,
    Jsonl,
    Hex,
}

/// Counts of one decode run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DecodeSummary {
    pub packets: u64,
    pub tcp: u64,
    /// Frames that are not TCP (other protocols, non-first fragments, ...).
    pub not_tcp: u64,
    /// Frames whose headers could not be decoded down to TCP.
    pub malformed: u64,
}

/// Why a decode run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("writing output: {0}")]
    Output(#[from] io::Error),
}

/// How much connection analysis a run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Analysis {
    /// None: header fields only (fastest).
    Off,
    /// One pass: stream-level values as known when each packet is seen
    /// (tshark without -2).
    OnePass,
    /// Two passes over the file: relative numbers, window scaling and
    /// completeness as they stand at the end of the capture (tshark -2).
    TwoPass,
}

impl OutputMode {
    /// The analysis this mode needs when the user asks for none in particular:
    /// text and JSON show relative numbers and stream indexes; fields only
    /// when a stream-level field is listed.
    pub fn default_analysis(&self) -> Analysis {
        match self {
            OutputMode::Fields(spec) if !spec.fields.iter().any(|f| f.needs_analysis()) => {
                Analysis::Off
            }
            OutputMode::Hex => Analysis::Off,
            _ => Analysis::OnePass,
        }
    }
}

/// Rendered bytes collected before they are written: a little less than
/// the writing thread's chunk, so the packet that crosses the mark still
/// fits in the chunk's capacity (no reallocation).
const FLUSH_AT: usize = output::CHUNK - (64 << 10);

/// Where rendered output goes, a chunk at a time.
pub(crate) enum Sink<'a> {
    Writer(&'a mut dyn Write),
    /// Chunks are handed to the writing thread whole, without a copy.
    Background(&'a mut BackgroundWriter),
}

impl Sink<'_> {
    /// Writes `buf` and leaves it empty.
    fn emit(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        match self {
            Sink::Writer(w) => {
                w.write_all(buf)?;
                buf.clear();
                Ok(())
            }
            Sink::Background(b) => b.write_chunk(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Writer(w) => w.flush(),
            Sink::Background(b) => b.flush(),
        }
    }
}

/// Decodes `path` and writes it to `out` in `mode`. Everything decoded
/// before a fault in the file is written before the error is returned.
pub fn decode_file(
    path: &Path,
    mode: &OutputMode,
    analysis: Analysis,
    out: &mut dyn Write,
) -> Result<DecodeSummary, DecodeError> {
    decode_file_to(path, mode, analysis, Sink::Writer(out))
}

fn decode_file_to(
    path: &Path,
    mode: &OutputMode,
    analysis: Analysis,
    out: Sink<'_>,
) -> Result<DecodeSummary, DecodeError> {
    let finals = match analysis {
        // A fault stops the first pass; the second prints up to it and reports it.
        Analysis::TwoPass => Some(final_numbers(CaptureReader::open(path)?)),
        _ => None,
    };
    let reader = CaptureReader::open(path)?;
    run_pass(
        reader,
        mode,
        analysis != Analysis::Off,
        finals.as_ref(),
        out,
    )
}

/// As [`decode_file`], for a capture in memory.
pub fn decode_bytes(
    bytes: &[u8],
    name: &str,
    mode: &OutputMode,
    analysis: Analysis,
    out: &mut dyn Write,
) -> Result<DecodeSummary, DecodeError> {
    let finals = match analysis {
        Analysis::TwoPass => Some(final_numbers(CaptureReader::from_bytes(bytes, name)?)),
        _ => None,
    };
    run_pass(
        CaptureReader::from_bytes(bytes, name)?,
        mode,
        analysis != Analysis::Off,
        finals.as_ref(),
        Sink::Writer(out),
    )
}

/// As [`decode_file`] in one pass, for any capture reader.
pub fn decode_reader<R: Read>(
    reader: CaptureReader<R>,
    mode: &OutputMode,
    analysis: bool,
    out: &mut dyn Write,
) -> Result<DecodeSummary, DecodeError> {
    run_pass(reader, mode, analysis, None, Sink::Writer(out))
}

type Finals = HashMap<u32, FinalNumbers>;

/// First pass of a two-pass run: every connection's end-of-capture numbers.
fn final_numbers<R: Read>(mut reader: CaptureReader<R>) -> Finals {
    let mut an = Analyzer::new(AnalyzerOptions::default());
    let mut frag = Reassembler::new();
    while let Some(Ok(rec)) = reader.next_record() {
        // The same packets as the second pass, short segments included.
        each_tcp(&rec, &mut frag, |_, info, found| {
            if let Found::Tcp { tcp_len, .. } = found {
                match tcp_len {
                    Some(_) => an.push(info),
                    None => an.push_short_segment(info),
                };
            }
        });
    }
    an.finish()
        .into_iter()
        .map(|c| (c.stream, c.finals))
        .collect()
}

/// What one frame holds for the renderers.
enum Found<'f> {
    /// A decoded TCP header; `frame` is `None` when it came from a
    /// reassembled IP datagram (header offsets then refer to the datagram).
    Tcp {
        tcp_len: Option<u32>,
        frame: Option<&'f TcpFrame<'f>>,
    },
    /// IP says TCP but the header is too short to decode.
    Malformed(&'f MalformedTcp<'f>),
    /// Not TCP, a fragment still waiting for the rest, or undecodable.
    Skip(Option<&'f crate::wire::DecodeError>),
}

/// Decodes one record down to TCP, reassembling IP fragments as tshark
/// does (TCP shows on the frame that completes the datagram), and calls `f`.
fn each_tcp<F: FnMut(&Record<'_>, &TcpPacketInfo, &Found<'_>)>(
    rec: &Record<'_>,
    frag: &mut Reassembler,
    mut f: F,
) -> u8 {
    let with_time = |mut info: TcpPacketInfo| {
        info.number = rec.number;
        info.time_ns = rec.time_ns();
        info
    };
    let decoded = decode_frame(rec.linktype, rec.data, rec.orig_len);
    let fragment = match &decoded {
        Ok(Decoded::Tcp(t)) => t.fragment,
        Ok(Decoded::NotTcp(NotTcp::Fragment(fr))) => Some(*fr),
        _ => None,
    };
    if let Some(fr) = fragment {
        let Some(datagram) = frag.push(&fr) else {
            return KIND_NOT_TCP;
        };
        return match datagram.decode_tcp(rec.orig_len, rec.data.len() as u32) {
            Ok(Decoded::Tcp(t)) => {
                let info = with_time(t.info);
                f(
                    rec,
                    &info,
                    &Found::Tcp {
                        tcp_len: t.tcp_len(),
                        frame: None,
                    },
                );
                KIND_TCP
            }
            Ok(Decoded::NotTcp(NotTcp::MalformedTcp(m))) => {
                f(rec, &malformed_info(rec, &m), &Found::Malformed(&m));
                KIND_MALFORMED
            }
            Ok(_) => KIND_NOT_TCP,
            Err(e) => {
                f(
                    rec,
                    &TcpPacketInfo::default_for(rec),
                    &Found::Skip(Some(&e)),
                );
                KIND_MALFORMED
            }
        };
    }
    match decoded {
        Ok(Decoded::Tcp(t)) => {
            let info = with_time(t.info);
            f(
                rec,
                &info,
                &Found::Tcp {
                    tcp_len: t.tcp_len(),
                    frame: Some(&t),
                },
            );
            KIND_TCP
        }
        Ok(Decoded::NotTcp(NotTcp::MalformedTcp(m))) => {
            f(rec, &malformed_info(rec, &m), &Found::Malformed(&m));
            KIND_MALFORMED
        }
        Ok(Decoded::NotTcp(_)) => KIND_NOT_TCP,
        Err(e) => {
            f(
                rec,
                &TcpPacketInfo::default_for(rec),
                &Found::Skip(Some(&e)),
            );
            KIND_MALFORMED
        }
    }
}

const KIND_TCP: u8 = 0;
const KIND_NOT_TCP: u8 = 1;
const KIND_MALFORMED: u8 = 2;

trait DefaultFor {
    fn default_for(rec: &Record<'_>) -> Self;
}

impl DefaultFor for TcpPacketInfo {
    /// A placeholder carrying only frame number, time and lengths.
    fn default_for(rec: &Record<'_>) -> TcpPacketInfo {
        TcpPacketInfo {
            number: rec.number,
            time_ns: rec.time_ns(),
            frame_len: rec.orig_len,
            cap_len: rec.data.len() as u32,
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            src_port: 0,
            dst_port: 0,
            seq: SeqNumber(0),
            ack: SeqNumber(0),
            flags: TcpFlags(0),
            window: 0,
            header_len: 0,
            payload_len: 0,
            checksum: 0,
            checksum_status: ChecksumStatus::Unverified,
            urgent: 0,
            options: Default::default(),
        }
    }
}

/// The frame and IP fields of a frame whose TCP header is too short.
fn malformed_info(rec: &Record<'_>, m: &MalformedTcp<'_>) -> TcpPacketInfo {
    let mut info = TcpPacketInfo::default_for(rec);
    info.src = m.src;
    info.dst = m.dst;
    info.src_port = m.src_port().unwrap_or(0);
    info.dst_port = m.dst_port().unwrap_or(0);
    info
}

fn run_pass<R: Read>(
    mut reader: CaptureReader<R>,
    mode: &OutputMode,
    analysis: bool,
    finals: Option<&Finals>,
    mut out: Sink<'_>,
) -> Result<DecodeSummary, DecodeError> {
    let mut r = Renderer {
        mode,
        buf: Vec::with_capacity(output::CHUNK),
        first_ns: None,
        count: 0,
    };
    let mut analyzer = analysis.then(|| Analyzer::new(AnalyzerOptions::default()));
    let mut frag = Reassembler::new();
    let mut summary = DecodeSummary::default();
    r.begin(reader.name());
    let mut fault = None;
    while let Some(rec) = reader.next_record() {
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                fault = Some(e);
                break;
            }
        };
        summary.packets += 1;
        let kind = each_tcp(&rec, &mut frag, |rec, info, found| match found {
            Found::Tcp { tcp_len, frame, .. } => {
                let a = analyzer.as_mut().map(|an| {
                    // A short segment (no tcp.len) gets no sequence analysis.
                    let mut a = match tcp_len {
                        Some(_) => an.push(info),
                        None => an.push_short_segment(info),
                    };
                    if let Some(f) = finals.and_then(|m| m.get(&a.stream)) {
                        a.finalize(f);
                    }
                    a
                });
                let ctx = FieldCtx {
                    info,
                    timestamp: rec.timestamp,
                    tcp_len: *tcp_len,
                    header: true,
                    ports: (true, true),
                    analysis: a.as_ref(),
                };
                r.packet(rec, &ctx, *frame);
            }
            Found::Malformed(m) => {
                let ctx = FieldCtx {
                    info,
                    timestamp: rec.timestamp,
                    tcp_len: None,
                    header: false,
                    ports: (m.src_port().is_some(), m.dst_port().is_some()),
                    analysis: None,
                };
                r.malformed_tcp(rec, &ctx, &m.error);
            }
            Found::Skip(Some(e)) => r.malformed(rec, e),
            Found::Skip(None) => {}
        });
        match kind {
            KIND_TCP => summary.tcp += 1,
            KIND_MALFORMED => summary.malformed += 1,
            _ => summary.not_tcp += 1,
        }
        if r.buf.len() >= FLUSH_AT {
            out.emit(&mut r.buf)?;
        }
    }
    r.end(&summary, fault.as_ref());
    out.emit(&mut r.buf)?;
    out.flush()?;
    match fault {
        Some(e) => Err(e.into()),
        None => Ok(summary),
    }
}

struct Renderer<'m> {
    mode: &'m OutputMode,
    buf: Vec<u8>,
    first_ns: Option<i64>,
    count: u64,
}

impl Renderer<'_> {
    fn begin(&mut self, name: &str) {
        match self.mode {
            OutputMode::Fields(spec) if spec.header => {
                for (i, f) in spec.fields.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(spec.separator);
                    }
                    self.buf.extend_from_slice(f.name.as_bytes());
                }
                self.buf.push(b'\n');
            }
            OutputMode::Json => {
                self.buf.extend_from_slice(b"{\"file\":");
                let _ = serde_json::to_writer(&mut self.buf, name);
                self.buf.extend_from_slice(b",\"packets\":[\n");
            }
            _ => {}
        }
    }

    fn end(&mut self, summary: &DecodeSummary, fault: Option<&CaptureError>) {
        if let OutputMode::Json = self.mode {
            self.buf.extend_from_slice(b"\n],\"summary\":");
            let _ = serde_json::to_writer(&mut self.buf, summary);
            if let Some(e) = fault {
                self.buf.extend_from_slice(b",\"error\":");
                let _ = serde_json::to_writer(&mut self.buf, &e.to_string());
            }
            self.buf.extend_from_slice(b"}\n");
        }
    }

    fn fields_row(&mut self, spec: &FieldsSpec, ctx: &FieldCtx<'_>) {
        for (i, f) in spec.fields.iter().enumerate() {
            if i > 0 {
                self.buf.push(spec.separator);
            }
            match spec.quote {
                None => f.write(ctx, &spec.format, &mut self.buf),
                Some(q) => {
                    self.buf.push(q);
                    f.write(ctx, &spec.format, &mut self.buf);
                    self.buf.push(q);
                }
            }
        }
        self.buf.push(b'\n');
    }

    fn packet(&mut self, rec: &Record<'_>, ctx: &FieldCtx<'_>, frame: Option<&TcpFrame<'_>>) {
        let first = *self.first_ns.get_or_insert(ctx.info.time_ns);
        match self.mode {
            OutputMode::Fields(spec) => self.fields_row(spec, ctx),
            OutputMode::Text => super::decode_text::line(&mut self.buf, ctx, first),
            OutputMode::Json | OutputMode::Jsonl => {
                if matches!(self.mode, OutputMode::Json) && self.count > 0 {
                    self.buf.extend_from_slice(b",\n");
                }
                super::decode_json::packet(&mut self.buf, ctx, frame.map(|f| f.ttl));
                if matches!(self.mode, OutputMode::Jsonl) {
                    self.buf.push(b'\n');
                }
            }
            OutputMode::Hex => match frame {
                Some(_) => super::decode_hex::packet(&mut self.buf, ctx, rec),
                None => {
                    let _ = writeln!(
                        self.buf,
                        "frame {}: TCP in a reassembled IP datagram (see the fragments' frames)\n",
                        rec.number
                    );
                    super::decode_text::line(&mut self.buf, ctx, first);
                }
            },
        }
        self.count += 1;
    }

    fn malformed_tcp(
        &mut self,
        rec: &Record<'_>,
        ctx: &FieldCtx<'_>,
        e: &crate::wire::DecodeError,
    ) {
        match self.mode {
            // tshark lists such a frame with the fields that fit.
            OutputMode::Fields(spec) => self.fields_row(spec, ctx),
            _ => self.malformed(rec, e),
        }
    }

    fn malformed(&mut self, rec: &Record<'_>, e: &crate::wire::DecodeError) {
        match self.mode {
            OutputMode::Text | OutputMode::Hex => {
                let _ = writeln!(
                    self.buf,
                    "{:>5} malformed frame ({} bytes captured): {e}",
                    rec.number,
                    rec.data.len()
                );
            }
            _ => {}
        }
    }
}

/// The `tcpsim decode` command.
pub fn run(args: Args) -> Result<(), CliError> {
    let mode = mode_of(&args).map_err(CliError::usage)?;
    let analysis = match mode.default_analysis() {
        Analysis::OnePass if args.two_pass => Analysis::TwoPass,
        a => a,
    };
    let mut out = BackgroundWriter::new(io::stdout());
    let r = decode_file_to(&args.file, &mode, analysis, Sink::Background(&mut out))
        .and_then(|_| out.finish().map_err(DecodeError::Output));
    match r {
        Ok(()) => Ok(()),
        Err(DecodeError::Output(e)) if super::is_broken_pipe(&e) => Ok(()),
        Err(DecodeError::Output(e)) => Err(CliError::new(format!("writing output: {e}"))),
        Err(DecodeError::Capture(e)) => Err(CliError::new(e.to_string())),
    }
}
/// The output mode the arguments ask for.
pub fn mode_of(args: &Args) -> Result<OutputMode, String> {
    let t = args.format.as_deref();
    if args.json || t == Some("json") {
        return Ok(OutputMode::Json);
    }
    if args.jsonl || t == Some("jsonl") || t == Some("ek") {
        return Ok(OutputMode::Jsonl);
    }
    if args.hex {
        return Ok(OutputMode::Hex);
    }
    match t {
        Some("fields") => Ok(OutputMode::Fields(FieldsSpec::parse(
            &args.fields,
            &args.field_options,
        )?)),
        None | Some("text") if args.fields.is_empty() => Ok(OutputMode::Text),
        None => Err("-e FIELD needs -T fields".into()),
        Some(other) => Err(format!(
            "-T {other}: unknown format (fields, json, jsonl, text)"
        )),
    }
}
