//! Capture files: the only module that imports pcap-file.
//!
//! - [`CaptureReader`]: one streaming reader over pcap and pcapng, yielding
//!   [`Record`]s (number, byte offset, timestamp, link type, bytes, orig_len,
//!   interface). Memory does not grow with the file; no allocation is sized
//!   from a length read out of the file.
//! - [`PcapWriter`]: classic pcap writer for the simulator and the runner.

mod error;
mod reader;
mod source;
mod writer;

pub use error::{CaptureError, CaptureErrorKind};
pub use reader::{
    CaptureFormat, CaptureReader, Record, Timestamp, MAX_META_BLOCK_LEN, MAX_PACKET_BLOCK_LEN,
    MAX_RECORD_LEN,
};
pub use writer::{PcapWriter, TsResolution, WRITER_SNAPLEN};

/// LINKTYPE_* values (pcap-linktype(7)) used by tcpsim.
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const PPP: u32 = 9;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

#[cfg(test)]
mod tests;
