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
mod flags;
mod states;
pub mod tshark_fields;
mod zeek;

pub use analysis::{FinalNumbers, PacketAnalysis, WindowScale};
pub use analyzer::{completeness, Analyzer, AnalyzerOptions, ConnSummary};
pub use flags::AnalysisFlags;
