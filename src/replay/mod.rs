//! Timeline diffs, regression fixtures, packetdrill export, and the pieces of
//! conformance replay that need no endpoint (connections, inference, comparison).
//!
//! - [`conversation`]: one captured connection's segments, split like tshark's `tcp.stream`.
//! - [`compare`]: replayed segments against recorded ones, with the rules that explain differences.
//! - [`check`]: regression fixtures (expected timelines naming their source).
//! - [`diff`]: where two timelines part, in words.
//! - [`infer`]: settings and application calls a capture shows for one side.
//! - [`packetdrill`]: a connection as a packetdrill script.
//! - [`source`]: reading a capture's TCP packets and connections.

pub mod check;
pub mod compare;
pub mod conversation;
pub mod diff;
pub mod infer;
pub mod packetdrill;
pub mod source;

pub use conversation::{split_conversations, Conversation, Role, Segment};
pub use diff::{diff_timelines, DiffOptions, TimelineDiff};
pub use packetdrill::{to_packetdrill, PacketdrillOptions};
