//! Pure wire codecs: no I/O, no clock, no allocation from untrusted lengths.
//! Modelled on smoltcp's `wire` layer: a zero-copy view per header whose
//! accessors cannot panic once its length is checked, and an owned `Repr`
//! with `parse` and `emit`.
//!
//! - [`decode::decode_frame`]: link -> IP -> TCP for every packet source.
//! - [`emit`]: whole frames with correct checksums from a [`TcpRepr`].
//! - [`link`], [`ipv4`], [`ipv6`], [`tcp`]: one module per layer.
//! - [`checksum`]: RFC 1071 sums and the TCP pseudo-headers.
//! - [`fields::field_map`]: every header field with its byte range, for hex views.
//! - [`reassembly`]: IP fragment reassembly, bounded.

pub mod checksum;
pub mod decode;
pub mod emit;
pub mod error;
pub mod fields;
pub mod info;
pub mod ipv4;
pub mod ipv6;
pub mod link;
pub mod reassembly;
pub mod seq;
pub mod tcp;

pub use decode::{decode_frame, Decoded, IpFragment, IpVersion, MalformedTcp, NotTcp, TcpFrame};
pub use error::{DecodeError, Layer};
pub use fields::{field_map, FieldSpan};
pub use info::{ChecksumStatus, TcpPacketInfo};
pub use seq::SeqNumber;
pub use tcp::{
    EmitError, OptionError, OptionProblem, TcpFlags, TcpOption, TcpOptionsSummary, TcpPacket,
    TcpRepr,
};
