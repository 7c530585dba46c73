//! Connection tracking: a flow table keyed by the bidirectional 4-tuple and
//! numbered as tshark's `tcp.stream`, tshark's sequence analysis per
//! direction (relative numbers, window scaling, bytes in flight, the
//! tcp.analysis.* flags), both endpoints' inferred TCP states, and a verdict
//! per connection (tshark's completeness, Zeek's conn_state and history).
//!
//! Every source goes through [`Analyzer::push`] with a
//! [`TcpPacketInfo`](crate::wire::TcpPacketInfo): captures, simulations and
//! live runs alike. [`crate::timeline::TimelineBuilder`] turns the results
//! into the JSON timeline.

mod analysis;
mod analyzer;
pub mod expert;
mod flags;
mod flow_table;
mod sack;
mod states;
pub mod tshark_fields;
mod zeek;

pub use analysis::{FinalNumbers, PacketAnalysis, WindowScale};
pub use analyzer::{completeness, Analyzer, AnalyzerOptions, ConnSummary};
pub use flags::AnalysisFlags;

use crate::wire::TcpPacketInfo;

/// One decoded TCP packet plus what the decoder noticed that the analyzer
/// must know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpInput {
    pub info: TcpPacketInfo,
    /// The TCP header is longer than the segment the IP layer states
    /// (tshark: "short segment").
    pub short_segment: bool,
}

impl From<TcpPacketInfo> for TcpInput {
    fn from(info: TcpPacketInfo) -> TcpInput {
        TcpInput {
            info,
            short_segment: false,
        }
    }
}

impl Analyzer {
    /// `push` or `push_short_segment`, as the input says.
    pub fn push_input(&mut self, input: &TcpInput) -> PacketAnalysis {
        if input.short_segment {
            self.push_short_segment(&input.info)
        } else {
            self.push(&input.info)
        }
    }
}
