//! From analyzed packets to timeline events and documents.

use super::schema::{Connection, Event, Source, TcpsimFlag, Timeline, SCHEMA_VERSION};
use crate::track::{Analyzer, AnalyzerOptions, ConnSummary, PacketAnalysis, TcpInput};
use crate::wire::{TcpFlags, TcpPacketInfo};
use std::collections::HashMap;

/// Simulation-only annotations of one segment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimExtras {
    pub cwnd: Option<u32>,
    pub ssthresh: Option<u32>,
    /// The link dropped it.
    pub lost: bool,
    pub note: Option<String>,
}

/// Control bits by name in header order, comma-separated ("SYN,ACK"),
/// then "RES" if a reserved bit is set.
pub fn flag_names(flags: TcpFlags) -> String {
    let reserved = (flags.0 & TcpFlags::RESERVED != 0).then_some("RES");
    let names: Vec<&str> = flags.names(false).chain(reserved).collect();
    names.join(",")
}

/// One timeline event from a packet and its analysis.
pub fn event_from(p: &TcpPacketInfo, a: &PacketAnalysis, extras: Option<&SimExtras>) -> Event {
    let n = a.sack_count as usize;
    Event {
        frame: p.number,
        time_ns: p.time_ns,
        time: a.time_relative_ns as f64 / 1e9,
        direction: a.direction,
        flags: flag_names(p.flags),
        flags_raw: p.flags.0 & 0x0fff,
        seq: a.seq,
        seq_raw: a.seq_raw,
        nxtseq: a.nxtseq,
        ack: a.ack,
        ack_raw: a.ack_raw,
        len: a.len,
        window_raw: a.window_raw,
        window: a.window,
        window_scalefactor: a.scale.map(|s| s.tshark_factor()),
        bytes_in_flight: a.bytes_in_flight,
        sack: a.sack[..n.min(4)].iter().map(|&(l, r)| [l, r]).collect(),
        analysis: a.flags.iter().collect(),
        dup_ack_num: if a.dup_ack_num > 0 {
            Some(a.dup_ack_num)
        } else {
            None
        },
        dup_ack_frame: if a.dup_ack_num > 0 {
            Some(a.dup_ack_frame)
        } else {
            None
        },
        acks_frame: a.acks_frame,
        ack_rtt: a.ack_rtt_ns.map(|ns| ns as f64 / 1e9),
        rto: a.rto_ns.map(|ns| ns as f64 / 1e9),
        rto_frame: a.rto_frame,
        tcpsim_analysis: tcpsim_flags(a),
        client_state: a.client_state,
        server_state: a.server_state,
        cwnd: extras.and_then(|e| e.cwnd),
        ssthresh: extras.and_then(|e| e.ssthresh),
        lost: extras.is_some_and(|e| e.lost),
        note: extras.and_then(|e| e.note.clone()),
    }
}

/// tcpsim's own verdicts on a packet, in [`TcpsimFlag`] order.
pub fn tcpsim_flags(a: &PacketAnalysis) -> Vec<TcpsimFlag> {
    [
        (a.linux_zero_window_probe, TcpsimFlag::ZeroWindowProbe),
        (a.sack_recovery, TcpsimFlag::SackRecovery),
        (a.already_sacked, TcpsimFlag::AlreadySacked),
        (a.dsack, TcpsimFlag::Dsack),
    ]
    .into_iter()
    .filter_map(|(set, f)| set.then_some(f))
    .collect()
}

impl ConnSummary {
    /// The connection with the given events.
    pub fn into_connection(self, events: Vec<Event>) -> Connection {
        Connection {
            stream: self.stream,
            client: self.client,
            server: self.server,
            roles_guessed: self.roles_guessed,
            options: self.options,
            events,
            verdict: self.verdict,
        }
    }
}

struct Recorded {
    info: TcpPacketInfo,
    analysis: PacketAnalysis,
    extras: Option<Box<SimExtras>>,
}

/// Collects packets into a whole [`Timeline`]. Holds every packet until
/// `finish`, so relative numbers, window scaling, completeness and initial
/// RTT come out as at the end of the capture (like `tshark -2`).
pub struct TimelineBuilder {
    analyzer: Analyzer,
    source: Source,
    streams: HashMap<u32, Vec<Recorded>>,
}

impl TimelineBuilder {
    pub fn new(source: Source) -> TimelineBuilder {
        TimelineBuilder {
            analyzer: Analyzer::new(AnalyzerOptions::default()),
            source,
            streams: HashMap::new(),
        }
    }

    /// Analyze and record one packet; returns the analysis as known now.
    pub fn push(&mut self, info: &TcpPacketInfo) -> PacketAnalysis {
        self.record(info, None)
    }

    /// As `push`, for a decoded capture packet.
    pub fn push_input(&mut self, input: &TcpInput) -> PacketAnalysis {
        let a = self.analyzer.push_input(input);
        self.streams.entry(a.stream).or_default().push(Recorded {
            info: input.info,
            analysis: a,
            extras: None,
        });
        a
    }

    /// As `push`, with simulation-only annotations for the event.
    pub fn push_annotated(&mut self, info: &TcpPacketInfo, extras: SimExtras) -> PacketAnalysis {
        self.record(info, Some(Box::new(extras)))
    }

    fn record(&mut self, info: &TcpPacketInfo, extras: Option<Box<SimExtras>>) -> PacketAnalysis {
        let a = self.analyzer.push(info);
        self.streams.entry(a.stream).or_default().push(Recorded {
            info: *info,
            analysis: a,
            extras,
        });
        a
    }

    /// The document, connections in stream order.
    pub fn finish(mut self) -> Timeline {
        let mut source = self.source;
        source.packets = self.analyzer.packets();
        let summaries = self.analyzer.finish();
        let mut connections = Vec::with_capacity(summaries.len());
        for s in summaries {
            let recs = self.streams.remove(&s.stream).unwrap_or_default();
            let finals = s.finals;
            let events = recs
                .into_iter()
                .map(|mut r| {
                    r.analysis.finalize(&finals);
                    event_from(&r.info, &r.analysis, r.extras.as_deref())
                })
                .collect();
            connections.push(s.into_connection(events));
        }
        connections.sort_by_key(|c| c.stream);
        Timeline {
            schema_version: SCHEMA_VERSION,
            source,
            connections,
        }
    }
}

/// A whole timeline from packets in capture order.
pub fn timeline_from_packets<'a>(
    source: Source,
    packets: impl IntoIterator<Item = &'a TcpPacketInfo>,
) -> Timeline {
    let mut b = TimelineBuilder::new(source);
    for p in packets {
        b.push(p);
    }
    b.finish()
}

/// Analyze a whole capture in memory and return each packet's analysis with
/// the end-of-capture numbers applied (what `tshark -2` prints), in input order.
pub fn analyze_all(packets: &[TcpPacketInfo]) -> Vec<PacketAnalysis> {
    let inputs: Vec<TcpInput> = packets.iter().map(|p| TcpInput::from(*p)).collect();
    analyze_inputs(&inputs)
}

/// As [`analyze_all`], for decoded capture packets (short segments marked).
pub fn analyze_inputs(packets: &[TcpInput]) -> Vec<PacketAnalysis> {
    let mut an = Analyzer::new(AnalyzerOptions::default());
    let mut out: Vec<PacketAnalysis> = packets.iter().map(|p| an.push_input(p)).collect();
    let finals: HashMap<u32, _> = an
        .finish()
        .into_iter()
        .map(|s| (s.stream, s.finals))
        .collect();
    for a in out.iter_mut() {
        if let Some(f) = finals.get(&a.stream) {
            a.finalize(f);
        }
    }
    out
}
