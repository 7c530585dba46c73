//! Capture reading errors: each names the file, the packet number being read
//! and the byte offset where the fault sits.

use std::fmt;

/// What went wrong while reading a capture.
#[derive(Debug, thiserror::Error)]
pub enum CaptureErrorKind {
    #[error("cannot open: {0}")]
    Open(std::io::Error),
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("empty file: not a capture")]
    Empty,
    #[error("not a pcap or pcapng capture (first bytes {0:02x?})")]
    NotACapture([u8; 4]),
    #[error("file header cut short: {have} of {need} bytes")]
    TruncatedFileHeader { have: usize, need: usize },
    #[error("pcap major version {major}.{minor} is not supported (only 2.x)")]
    UnsupportedVersion { major: u16, minor: u16 },
    #[error("record header cut short: {have} of {need} bytes")]
    TruncatedRecordHeader { have: usize, need: usize },
    #[error("record length {len} is larger than the {max}-byte maximum")]
    RecordTooLarge { len: u64, max: u64 },
    #[error("file ends inside the record: {need} bytes announced, {have} present")]
    TruncatedRecord { have: u64, need: u64 },
    #[error("pcapng block header cut short: {have} of {need} bytes")]
    TruncatedBlockHeader { have: usize, need: usize },
    #[error("pcapng block type {block_type:#010x} has an invalid length {len}")]
    BadBlockLength { block_type: u32, len: u32 },
    #[error(
        "pcapng block type {block_type:#010x} of {len} bytes is larger than the {max}-byte maximum"
    )]
    BlockTooLarge { block_type: u32, len: u64, max: u64 },
    #[error("file ends inside pcapng block type {block_type:#010x}: {need} bytes announced, {have} present")]
    TruncatedBlock {
        block_type: u32,
        have: u64,
        need: u64,
    },
    #[error("pcapng file does not start with a section header block")]
    MissingSectionHeader,
    #[error("corrupt pcapng block type {block_type:#010x}: {what}")]
    CorruptBlock { block_type: u32, what: String },
    #[error("packet refers to interface {interface}, but the section describes {count}")]
    UnknownInterface { interface: u32, count: usize },
}

/// A capture reading error with its place: file, packet number (1-based,
/// the packet being read when the fault was found) and byte offset.
#[derive(Debug)]
pub struct CaptureError {
    pub file: String,
    pub packet: u64,
    pub offset: u64,
    pub kind: CaptureErrorKind,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            // Nothing was read yet: no place to name.
            CaptureErrorKind::Open(_) => write!(f, "{}: {}", self.file, self.kind),
            _ => write!(
                f,
                "{}: packet {} at byte offset {}: {}",
                self.file, self.packet, self.offset, self.kind
            ),
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}
