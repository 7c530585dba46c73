//! Conformance replay and what-if re-runs of captures, timeline diffs,
//! regression fixtures and packetdrill export.
//!
//! - [`conversation`]: one captured connection's segments, split like tshark's `tcp.stream`.
//! - [`conformance`]: a captured side drives tcpsim's endpoint; what it sends is judged.
//! - [`whatif`]: re-runs of a captured connection under changed settings.
//! - [`compare`]: replayed segments against recorded ones, with the rules that explain differences.
//! - [`check`]: regression fixtures (expected timelines naming their source).
//! - [`diff`]: where two timelines part, in words.
//! - [`infer`]: settings and application calls a capture shows for one side.
//! - [`packetdrill`]: a connection as a packetdrill script.
//! - [`source`]: reading a capture's TCP packets and connections.

pub mod check;
pub mod compare;
pub mod conformance;
pub mod conversation;
pub mod diff;
pub mod infer;
pub mod packetdrill;
pub mod source;
pub mod whatif;

pub use conversation::{split_conversations, Conversation, Role, Segment};
pub use diff::{diff_timelines, DiffOptions, TimelineDiff};
pub use packetdrill::{to_packetdrill, PacketdrillOptions};
