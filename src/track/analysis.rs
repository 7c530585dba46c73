//! `PacketAnalysis`: what the analyzer says about one packet (a `Copy`
//! value, built without allocation), and `FinalNumbers`, the per-connection
//! values that tshark's two-pass mode (`tshark -2`) prints on every frame of a
//! connection as they stand at the end of the capture.

use super::flags::AnalysisFlags;
use crate::timeline::{Direction, TcpState};

/// A direction's window scaling as tshark's tcp.window_size_scalefactor
/// knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WindowScale {
    /// The SYN carrying (or not carrying) the option was not captured: -1.
    Unknown,
    /// Both SYNs seen and at least one lacked the option: -2 (RFC 7323 §2.2:
    /// scaling is used only when both sides send it).
    NotUsed,
    /// Shift count in use (0..=14, RFC 7323 §2.3).
    Shift(u8),
}

impl WindowScale {
    /// tshark's tcp.window_size_scalefactor value: -1, -2 or 2^shift.
    pub fn tshark_factor(self) -> i32 {
        match self {
            WindowScale::Unknown => -1,
            WindowScale::NotUsed => -2,
            WindowScale::Shift(s) => 1 << s,
        }
    }
    /// The window in bytes for a raw window field.
    pub fn apply(self, raw: u16) -> u32 {
        match self {
            WindowScale::Shift(s) => (raw as u32) << s,
            _ => raw as u32,
        }
    }
    pub(crate) fn from_code(code: i8) -> WindowScale {
        match code {
            -2 => WindowScale::NotUsed,
            c if c >= 0 => WindowScale::Shift(c as u8),
            _ => WindowScale::Unknown,
        }
    }
}

/// What the analyzer says about one packet.
///
/// Sequence fields are relative as tshark shows them: `seq - ISN` of the
/// sender; `ack - ISN` of the receiver when the ACK bit is set, else the raw
/// ack field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PacketAnalysis {
    /// tshark's tcp.stream.
    pub stream: u32,
    /// Which side of the connection sent it: 0 = the sender of the
    /// connection's first captured packet, 1 = the other.
    pub side: u8,
    /// Client-to-server or back, with the roles known so far.
    pub direction: Direction,
    pub seq: u32,
    pub ack: u32,
    pub nxtseq: u32,
    pub seq_raw: u32,
    pub ack_raw: u32,
    pub len: u32,
    pub syn: bool,
    pub ack_flag: bool,
    pub window_raw: u16,
    /// The window in bytes (tcp.window_size).
    pub window: u32,
    /// The sender's scaling; `None` on SYN segments (never scaled, RFC 7323 §2.2).
    pub scale: Option<WindowScale>,
    pub bytes_in_flight: Option<u32>,
    pub push_bytes_sent: Option<u32>,
    pub flags: AnalysisFlags,
    /// With duplicate_ack: the count and the frame duplicated.
    pub dup_ack_num: u32,
    pub dup_ack_frame: u64,
    pub acks_frame: Option<u64>,
    pub ack_rtt_ns: Option<i64>,
    /// With retransmission: the time since the segment tshark takes for the
    /// original (tcp.analysis.rto) and its frame (tcp.analysis.rto_frame).
    pub rto_ns: Option<i64>,
    pub rto_frame: Option<u64>,
    /// The handshake RTT as known when this packet was seen.
    pub initial_rtt_ns: Option<i64>,
    /// tshark would show a tcp.analysis subtree for this frame (it then also
    /// shows initial_rtt).
    pub has_analysis: bool,
    /// Nanoseconds since the connection's first packet (tcp.time_relative).
    pub time_relative_ns: i64,
    /// tcp.completeness as known after this packet.
    pub completeness: u8,
    pub client_state: TcpState,
    pub server_state: TcpState,
    /// For an RST: whether the receiver would accept it (RFC 9293 §3.10.7.4).
    pub rst_acceptable: Option<bool>,
    /// SACK blocks (left, right), relative to `peer_base`, the ISN of the
    /// side whose data they cover.
    pub sack: [(u32, u32); 4],
    pub sack_count: u8,
    pub peer_base: u32,
    /// The TCP header is longer than the segment IP states: no sequence
    /// analysis, raw numbers (tshark: "short segment").
    pub short_segment: bool,
    /// The first packet of its stream.
    pub first_in_stream: bool,
    /// A Linux-style zero-window probe (see [`crate::timeline::TcpsimFlag`]).
    pub linux_zero_window_probe: bool,
    /// A retransmission filling a hole below the highest byte the peer
    /// SACKed: loss recovery the receiver asked for (RFC 6675 §5).
    pub sack_recovery: bool,
    /// A retransmission of bytes the peer had already SACKed (RFC 2018).
    pub already_sacked: bool,
    /// This ACK's first SACK block is a D-SACK (RFC 2883 §4).
    pub dsack: bool,
    /// A FIN from the side that sent the connection's first FIN (tshark:
    /// "This frame initiates the connection closing").
    pub fin_active: bool,
    /// The option list is malformed (an option runs past the header, or a
    /// length is impossible): tshark's dissection stops there.
    pub options_malformed: bool,
}

impl PacketAnalysis {
    /// Whether tshark shows `tcp.analysis.<flag>` for this packet. tshark
    /// prints no analysis for a short segment (its dissection stops at the
    /// options), whatever it found.
    pub fn tshark_shows(&self, f: crate::timeline::AnalysisFlag) -> bool {
        self.tshark_prints_analysis() && self.flags.tshark_field_present(f)
    }

    /// tshark prints the tcp.analysis subtree after the options; a short
    /// segment or a malformed option list ends its dissection before that.
    pub fn tshark_prints_analysis(&self) -> bool {
        !self.short_segment && !self.options_malformed
    }

    /// Apply the connection's end-of-capture numbers, as `tshark -2` prints
    /// them: relative numbers against the final ISNs, the final window
    /// scaling, completeness and initial RTT.
    pub fn finalize(&mut self, fin: &FinalNumbers) {
        let me = self.side as usize;
        let peer = 1 - me;
        if !self.short_segment {
            let extra = self.nxtseq.wrapping_sub(self.seq);
            self.seq = self.seq_raw.wrapping_sub(fin.base[me]);
            self.nxtseq = self.seq.wrapping_add(extra);
            if self.ack_flag {
                self.ack = self.ack_raw.wrapping_sub(fin.base[peer]);
            }
        }
        if !self.syn {
            let sc = fin.scale[me];
            self.scale = Some(sc);
            if !self.short_segment {
                self.window = sc.apply(self.window_raw);
            }
        }
        let d = fin.base[peer].wrapping_sub(self.peer_base);
        for i in 0..self.sack_count as usize {
            self.sack[i].0 = self.sack[i].0.wrapping_sub(d);
            self.sack[i].1 = self.sack[i].1.wrapping_sub(d);
        }
        self.peer_base = fin.base[peer];
        // tshark's second pass prints the completeness known before each
        // frame: the first frame of a stream misses its own bits.
        self.completeness = if self.first_in_stream {
            fin.completeness_first
        } else {
            fin.completeness
        };
        self.initial_rtt_ns = fin.initial_rtt_ns;
        self.direction = if me as u8 == fin.client_side {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
    }
}

/// Per-connection numbers at the end of the capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinalNumbers {
    /// ISN (base of relative numbering) per side (0 = first sender).
    pub base: [u32; 2],
    pub scale: [WindowScale; 2],
    /// tcp.completeness as tshark's second pass prints it on the stream's
    /// first frame, and on every later frame.
    pub completeness_first: u8,
    pub completeness: u8,
    pub initial_rtt_ns: Option<i64>,
    /// Which side (0/1) is the client.
    pub client_side: u8,
}
