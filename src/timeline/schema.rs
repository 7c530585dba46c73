//! The timeline JSON schema (version [`SCHEMA_VERSION`]), shared by every
//! source: `tcpsim timeline` (captures), `tcpsim simulate`, live runs and
//! replays. Documented with an example in docs/timeline-schema.md.
//!
//! Sequence and acknowledgment numbers are relative to each direction's
//! initial sequence number, as tshark's `tcp.seq`/`tcp.ack` with
//! `tcp.relative_sequence_numbers:TRUE`; the raw values travel beside them.

use super::state::TcpState;
use std::net::IpAddr;

/// Bumped whenever a field changes meaning or disappears. Adding an optional
/// field does not bump it.
pub const SCHEMA_VERSION: u32 = 1;

/// One JSON document: `tcpsim timeline FILE` without `--jsonl`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timeline {
    pub schema_version: u32,
    pub source: Source,
    /// In stream-index order.
    pub connections: Vec<Connection>,
}

/// Where the packets came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Source {
    pub kind: SourceKind,
    /// Capture path, scenario name, or a free description.
    pub name: String,
    /// Simulator seed, when the source is a simulation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// TCP packets analyzed.
    pub packets: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Capture,
    Simulation,
    Live,
    Replay,
}

/// An IP address and a TCP port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// One TCP connection (tshark's tcp.stream).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Connection {
    /// tshark's tcp.stream: 0-based, in order of first packet; a closed
    /// 4-tuple reused by a new SYN starts a new stream.
    pub stream: u32,
    /// The endpoint that sent the first SYN (without ACK); when no such SYN
    /// was captured, a guess (see `roles_guessed`).
    pub client: Endpoint,
    pub server: Endpoint,
    /// True when the handshake's opening SYN was not captured and the roles
    /// were guessed (SYN+ACK sender = server, else the lower port = server,
    /// else the sender of the first packet = client).
    pub roles_guessed: bool,
    pub options: ConnectionOptions,
    /// One per packet, in capture order. Empty on the summary lines of
    /// `--jsonl`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    pub verdict: Verdict,
}

/// What each side offered in its SYN and what the two agreed on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectionOptions {
    pub client: SideOptions,
    pub server: SideOptions,
    pub negotiated: Negotiated,
}

/// The options one side put in its SYN (or SYN+ACK).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SideOptions {
    /// This side's SYN was captured.
    pub syn_seen: bool,
    /// Raw initial sequence number (of the SYN; else the first seq seen
    /// minus nothing, i.e. the base of relative numbering).
    pub isn: u32,
    pub mss: Option<u16>,
    /// Window scale shift count offered (RFC 7323 §2.2).
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: bool,
}

/// What holds for the connection once both SYNs are seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Negotiated {
    /// The smaller MSS offered (or the only one); None when neither offered.
    pub mss: Option<u16>,
    /// Window scaling in use: both SYNs carried the option (RFC 7323 §2.2).
    pub window_scaling: bool,
    /// Shift applied to the windows the client advertises (None if unknown
    /// or scaling not in use).
    pub client_wscale: Option<u8>,
    pub server_wscale: Option<u8>,
    /// Both sides sent SACK-permitted (RFC 2018 §2).
    pub sack: bool,
    /// Both sides sent timestamps (RFC 7323 §3.2).
    pub timestamps: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }
}

/// tshark's tcp.analysis.* flags, with tshark's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisFlag {
    Retransmission,
    FastRetransmission,
    SpuriousRetransmission,
    OutOfOrder,
    LostSegment,
    AckLostSegment,
    DuplicateAck,
    ZeroWindow,
    ZeroWindowProbe,
    ZeroWindowProbeAck,
    WindowFull,
    WindowUpdate,
    KeepAlive,
    KeepAliveAck,
    ReusedPorts,
}

impl AnalysisFlag {
    pub const ALL: [AnalysisFlag; 15] = [
        AnalysisFlag::Retransmission,
        AnalysisFlag::FastRetransmission,
        AnalysisFlag::SpuriousRetransmission,
        AnalysisFlag::OutOfOrder,
        AnalysisFlag::LostSegment,
        AnalysisFlag::AckLostSegment,
        AnalysisFlag::DuplicateAck,
        AnalysisFlag::ZeroWindow,
        AnalysisFlag::ZeroWindowProbe,
        AnalysisFlag::ZeroWindowProbeAck,
        AnalysisFlag::WindowFull,
        AnalysisFlag::WindowUpdate,
        AnalysisFlag::KeepAlive,
        AnalysisFlag::KeepAliveAck,
        AnalysisFlag::ReusedPorts,
    ];

    /// The name after `tcp.analysis.` in tshark's field names.
    pub fn name(self) -> &'static str {
        match self {
            AnalysisFlag::Retransmission => "retransmission",
            AnalysisFlag::FastRetransmission => "fast_retransmission",
            AnalysisFlag::SpuriousRetransmission => "spurious_retransmission",
            AnalysisFlag::OutOfOrder => "out_of_order",
            AnalysisFlag::LostSegment => "lost_segment",
            AnalysisFlag::AckLostSegment => "ack_lost_segment",
            AnalysisFlag::DuplicateAck => "duplicate_ack",
            AnalysisFlag::ZeroWindow => "zero_window",
            AnalysisFlag::ZeroWindowProbe => "zero_window_probe",
            AnalysisFlag::ZeroWindowProbeAck => "zero_window_probe_ack",
            AnalysisFlag::WindowFull => "window_full",
            AnalysisFlag::WindowUpdate => "window_update",
            AnalysisFlag::KeepAlive => "keep_alive",
            AnalysisFlag::KeepAliveAck => "keep_alive_ack",
            AnalysisFlag::ReusedPorts => "reused_ports",
        }
    }

    /// Bit of this flag in `track::AnalysisFlags`.
    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// What tcpsim says about a packet beyond tshark's flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpsimFlag {
    /// A zero-window probe as Linux sends it: no more than one byte at
    /// SND.UNA - 1 while the peer advertises a zero window (RFC 9293
    /// §3.8.6.1). tshark 4.0 calls it a keep-alive.
    ZeroWindowProbe,
    /// A retransmission (tshark: retransmission, fast_retransmission, or
    /// out_of_order of bytes seen before) whose bytes lie in a hole the peer
    /// reported: not yet cumulatively acknowledged, not SACKed, below the
    /// highest SACKed byte. The sender repairs a loss the receiver told it
    /// about (RFC 6675 §5), not a timeout's guess.
    SackRecovery,
    /// A retransmission of bytes the peer had already SACKed (RFC 2018): the
    /// receiver held them, so it was not needed. tshark's
    /// spurious_retransmission looks only at the cumulative ACK.
    AlreadySacked,
    /// An ACK whose first SACK block is a D-SACK (RFC 2883 §4): it reports
    /// bytes received twice. tshark's expert item "D-SACK Sequence".
    Dsack,
}

/// One packet of a connection, as the analyzer saw it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// Frame number in the capture (1-based), or the simulator's segment number.
    pub frame: u64,
    /// Absolute time in nanoseconds (Unix epoch for captures, virtual time
    /// for simulations).
    pub time_ns: i64,
    /// Seconds since the connection's first packet (tshark's tcp.time_relative).
    pub time: f64,
    pub direction: Direction,
    /// Control bits by name, comma-separated in wire order of significance:
    /// "SYN", "SYN,ACK", "FIN,PSH,ACK", ... (names: FIN SYN RST PSH ACK URG
    /// ECE CWR AE RES).
    pub flags: String,
    /// The 12 flag bits as tshark's tcp.flags.
    pub flags_raw: u16,
    /// Relative sequence number (tcp.seq).
    pub seq: u32,
    pub seq_raw: u32,
    /// Relative next sequence number: seq + len (+1 for SYN, +1 for FIN) (tcp.nxtseq).
    pub nxtseq: u32,
    /// Relative acknowledgment number (tcp.ack); 0 when the ACK bit is clear.
    pub ack: u32,
    pub ack_raw: u32,
    /// TCP payload length (tcp.len).
    pub len: u32,
    /// The window field as sent (tcp.window_size_value).
    pub window_raw: u16,
    /// The window in bytes (tcp.window_size): raw shifted by the sender's
    /// scale when known, else raw.
    pub window: u32,
    /// tshark's tcp.window_size_scalefactor: the multiplier (1, 2, 4, ...),
    /// -1 when the handshake was not captured (unknown), -2 when the sides
    /// did not both offer scaling. None on SYN segments (windows in SYNs are
    /// never scaled, RFC 7323 §2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_scalefactor: Option<i32>,
    /// Bytes sent by this side and not yet acknowledged after this segment
    /// (tcp.analysis.bytes_in_flight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_in_flight: Option<u32>,
    /// SACK blocks (left, right), relative to the peer's ISN.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sack: Vec<[u32; 2]>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub analysis: Vec<AnalysisFlag>,
    /// With duplicate_ack: how many duplicates so far (tcp.analysis.duplicate_ack_num)
    /// and the frame they duplicate (tcp.analysis.duplicate_ack_frame).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dup_ack_num: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dup_ack_frame: Option<u64>,
    /// The frame whose data this segment acknowledges (tcp.analysis.acks_frame)
    /// and the time since it, seconds (tcp.analysis.ack_rtt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acks_frame: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_rtt: Option<f64>,
    /// With tshark's retransmission flag: the time since the segment tshark
    /// takes for the original, seconds (tcp.analysis.rto), and its frame
    /// (tcp.analysis.rto_frame).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_frame: Option<u64>,
    /// tcpsim's own reading where a state-aware analyzer knows better than
    /// tshark's heuristics (which `analysis` keeps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcpsim_analysis: Vec<TcpsimFlag>,
    /// State of each endpoint after this packet.
    pub client_state: TcpState,
    pub server_state: TcpState,
    /// Simulation only: the sender's congestion window and slow-start
    /// threshold after sending this segment, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwnd: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssthresh: Option<u32>,
    /// Simulation only: the link dropped this segment; the receiver never saw it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lost: bool,
    /// Free text (simulation: what the link did, e.g. "duplicated").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Zeek's conn_state (Zeek docs, base/protocols/conn/main.zeek).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ZeekConnState {
    /// Connection attempt seen, no reply.
    S0,
    /// Connection established, not terminated.
    S1,
    /// Normal establishment and termination.
    SF,
    /// Connection attempt rejected.
    REJ,
    /// Established, close attempt by originator seen (but no reply from responder).
    S2,
    /// Established, close attempt by responder seen (but no reply from originator).
    S3,
    /// Established, originator aborted (sent a RST).
    RSTO,
    /// Established, responder aborted.
    RSTR,
    /// Originator sent a SYN followed by a RST, never saw a SYN-ACK from the responder.
    RSTOS0,
    /// Responder sent a SYN ACK followed by a RST, never saw a SYN from the (purported) originator.
    RSTRH,
    /// Originator sent a SYN followed by a FIN, never saw a SYN ACK from the responder.
    SH,
    /// Responder sent a SYN ACK followed by a FIN, never saw a SYN from the originator.
    SHR,
    /// No SYN seen, just midstream traffic.
    OTH,
}

impl ZeekConnState {
    pub fn name(self) -> &'static str {
        match self {
            ZeekConnState::S0 => "S0",
            ZeekConnState::S1 => "S1",
            ZeekConnState::SF => "SF",
            ZeekConnState::REJ => "REJ",
            ZeekConnState::S2 => "S2",
            ZeekConnState::S3 => "S3",
            ZeekConnState::RSTO => "RSTO",
            ZeekConnState::RSTR => "RSTR",
            ZeekConnState::RSTOS0 => "RSTOS0",
            ZeekConnState::RSTRH => "RSTRH",
            ZeekConnState::SH => "SH",
            ZeekConnState::SHR => "SHR",
            ZeekConnState::OTH => "OTH",
        }
    }
}

/// Counters for one direction of a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirectionStats {
    pub packets: u64,
    /// Frame bytes (frame.len), as `tshark -z conv,tcp` counts them.
    pub bytes: u64,
    /// TCP payload bytes, retransmissions included.
    pub payload_bytes: u64,
    /// Segments flagged retransmission, fast_retransmission or spurious_retransmission.
    pub retransmissions: u64,
}

/// The connection's outcome.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// tshark's tcp.completeness bits: 1 SYN, 2 SYN-ACK, 4 ACK (of the
    /// handshake), 8 DATA, 16 FIN, 32 RST.
    pub completeness: u8,
    /// Zeek's conn_state.
    pub conn_state: ZeekConnState,
    /// Zeek's history string (letters in docs/timeline-schema.md).
    pub history: String,
    pub client: DirectionStats,
    pub server: DirectionStats,
    /// Time of the first packet, nanoseconds (as Event::time_ns).
    pub start_ns: i64,
    /// Seconds from first to last packet.
    pub duration: f64,
    /// SYN to the ACK completing the handshake, seconds (tcp.analysis.initial_rtt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_rtt: Option<f64>,
    /// Each endpoint's state after the last packet.
    pub client_state: TcpState,
    pub server_state: TcpState,
}

/// One line of `tcpsim timeline --jsonl`: an event as it happens, then a
/// summary (the connection without its events) when the connection ends or
/// the input ends.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
pub enum JsonlLine {
    Source {
        schema_version: u32,
        #[serde(flatten)]
        source: Source,
    },
    Event {
        stream: u32,
        #[serde(flatten)]
        event: Event,
    },
    Connection(Box<Connection>),
}
