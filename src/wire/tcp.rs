//! TCP header codec (RFC 9293 §3.1): a zero-copy view (`TcpPacket`), a
//! fixed-size, allocation-free summary of the options that analysis needs
//! (`TcpOptionsSummary`, used on the hot decode/track path), and an owned
//! representation (`TcpRepr`) with `parse` and `emit` for tests, the simulator
//! and replay.

use super::seq::SeqNumber;

/// The nine TCP control bits plus the three reserved bits, as they sit in the
/// low 12 bits of header bytes 12..14 (data offset masked out).
/// Bit values follow tshark's `tcp.flags` (e.g. SYN = 0x002, AE/NS = 0x100).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    /// AE (RFC 9768, accurate ECN), formerly NS (RFC 3540).
    pub const AE: u16 = 0x100;
    /// The three reserved bits (tshark: tcp.flags.res).
    pub const RESERVED: u16 = 0xe00;

    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn psh(self) -> bool {
        self.0 & Self::PSH != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
    pub fn urg(self) -> bool {
        self.0 & Self::URG != 0
    }
    pub fn ece(self) -> bool {
        self.0 & Self::ECE != 0
    }
    pub fn cwr(self) -> bool {
        self.0 & Self::CWR != 0
    }
    pub fn ae(self) -> bool {
        self.0 & Self::AE != 0
    }
    pub fn has(self, bits: u16) -> bool {
        self.0 & bits == bits
    }
}

impl core::fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "TcpFlags({:#05x})", self.0)
    }
}

/// Most SACK blocks that fit in the 40-byte option space (RFC 2018 §3: 4).
pub const MAX_SACK_BLOCKS: usize = 4;

/// What went wrong in an option list. The fixed header still decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OptionError {
    /// Byte offset of the offending option from the start of the TCP header.
    pub offset: u16,
    pub kind: u8,
    pub problem: OptionProblem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionProblem {
    /// The length byte is missing (option kind is the last byte).
    MissingLength,
    /// The length byte is below 2 or wrong for the kind (e.g. MSS not 4).
    BadLength { len: u8 },
    /// The length runs past the end of the option space.
    Overrun { len: u8, available: u16 },
}

/// The options analysis needs, decoded without allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptionsSummary {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_perm: bool,
    pub sack_count: u8,
    pub sack: [(SeqNumber, SeqNumber); MAX_SACK_BLOCKS],
    /// (TSval, TSecr), RFC 7323 §3.
    pub timestamps: Option<(u32, u32)>,
    /// TCP Fast Open cookie (kind 34) present; its length (0 = cookie request).
    pub tfo_cookie_len: Option<u8>,
    /// MPTCP option (kind 30) present.
    pub mptcp: bool,
    /// First malformation in the option list, if any.
    pub error: Option<OptionError>,
}

/// One TCP option, owned. Unknown kinds are kept raw so emit(parse(x)) == x.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpOption {
    EndOfList,
    NoOperation,
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    Sack(Vec<(SeqNumber, SeqNumber)>),
    Timestamps {
        tsval: u32,
        tsecr: u32,
    },
    /// Kind 34 (RFC 7413); empty cookie = cookie request.
    FastOpen(Vec<u8>),
    /// Kind 30 (RFC 8684), kept raw after kind and length.
    Mptcp(Vec<u8>),
    /// Any other kind, kept raw after kind and length.
    Unknown {
        kind: u8,
        data: Vec<u8>,
    },
}

/// An owned TCP header plus payload length.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TcpRepr {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    /// Header length in bytes (data offset * 4).
    pub header_len: u8,
    /// Control bits including AE/NS and the reserved bits.
    pub flags: TcpFlags,
    pub window: u16,
    pub checksum: u16,
    pub urgent: u16,
    /// The options in wire order, padding (NOP/EOL) included, so that
    /// emitting reproduces the exact bytes. Trailing bytes after EOL are kept
    /// in `trailing`.
    pub options: Vec<TcpOption>,
    pub trailing: Vec<u8>,
}
