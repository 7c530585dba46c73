//! Pure wire codecs: no I/O, no clock, no allocation from untrusted lengths.
//! Modelled on smoltcp's `wire` layer: a zero-copy view per header whose
//! accessors cannot panic once its length is checked, and an owned `Repr`
//! with `parse` and `emit`.

pub mod info;
pub mod seq;
pub mod tcp;

pub use info::{ChecksumStatus, TcpPacketInfo};
pub use seq::SeqNumber;
pub use tcp::{TcpFlags, TcpOption, TcpOptionsSummary, TcpRepr};
