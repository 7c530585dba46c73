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

    /// Short names of the nine control bits, in header order (FIN first).
    pub const NAMES: [(u16, &'static str); 9] = [
        (Self::FIN, "FIN"),
        (Self::SYN, "SYN"),
        (Self::RST, "RST"),
        (Self::PSH, "PSH"),
        (Self::ACK, "ACK"),
        (Self::URG, "URG"),
        (Self::ECE, "ECE"),
        (Self::CWR, "CWR"),
        (Self::AE, "AE"),
    ];

    /// Names of the control bits set, in header order (FIN, SYN, RST, PSH,
    /// ACK, URG, ECE, CWR, AE); with `syn_first`, SYN before FIN, the order
    /// people read a handshake in. Reserved bits are not named.
    pub fn names(self, syn_first: bool) -> impl Iterator<Item = &'static str> {
        let order: [usize; 9] = if syn_first {
            [1, 0, 2, 3, 4, 5, 6, 7, 8]
        } else {
            [0, 1, 2, 3, 4, 5, 6, 7, 8]
        };
        order
            .into_iter()
            .map(|i| Self::NAMES[i])
            .filter(move |&(bit, _)| self.0 & bit != 0)
            .map(|(_, name)| name)
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
    /// The capture ends inside the option list (snaplen); not a malformation
    /// of the packet itself. `available` counts captured option bytes left.
    CutByCapture { available: u16 },
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
    /// in `trailing`, and so are the bytes from a malformed option on (its
    /// problem is reported by the options summary, not by `parse`).
    pub options: Vec<TcpOption>,
    pub trailing: Vec<u8>,
}

use super::error::{need, DecodeError, Layer};

/// Length of the fixed TCP header (RFC 9293 §3.1).
pub const TCP_HEADER_LEN: usize = 20;
/// Largest TCP header: data offset 15 (RFC 9293 §3.1).
pub const TCP_MAX_HEADER_LEN: usize = 60;

/// Option kinds (IANA "TCP Option Kind Numbers").
pub mod kind {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WSCALE: u8 = 3;
    pub const SACK_PERM: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMPS: u8 = 8;
    pub const MPTCP: u8 = 30;
    pub const FAST_OPEN: u8 = 34;
    /// RFC 6994 shared experimental kind; TFO used it with ExID 0xF989
    /// before kind 34 was assigned (RFC 7413 §4.1.1).
    pub const EXPERIMENT_2: u8 = 254;
}

/// Byte ranges of the fixed header fields.
mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ: Range<usize> = 4..8;
    pub const ACK: Range<usize> = 8..12;
    pub const OFFSET_FLAGS: Range<usize> = 12..14;
    pub const WINDOW: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
}

/// Field byte ranges of the fixed header, for field maps.
pub const FIELD_RANGES: [(&str, core::ops::Range<usize>); 8] = [
    ("srcport", field::SRC_PORT),
    ("dstport", field::DST_PORT),
    ("seq_raw", field::SEQ),
    ("ack_raw", field::ACK),
    ("hdr_len+flags", field::OFFSET_FLAGS),
    ("window_size_value", field::WINDOW),
    ("checksum", field::CHECKSUM),
    ("urgent_pointer", field::URGENT),
];

/// A zero-copy view of a TCP header and whatever of its options and payload
/// were captured. After [`TcpPacket::new_checked`] the fixed 20-byte header
/// is present and the data offset is at least 5, so no accessor can panic.
/// The options and payload may be cut short by the capture: `options()` and
/// `payload()` return the captured part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short one.
    pub fn new_unchecked(buffer: T) -> TcpPacket<T> {
        TcpPacket { buffer }
    }

    /// Wraps a buffer after checking that the fixed header fits and that the
    /// data offset is at least 5 (RFC 9293 §3.1: "the TCP header ... is an
    /// integer multiple of 32 bits", at least 20 bytes).
    pub fn new_checked(buffer: T) -> Result<TcpPacket<T>, DecodeError> {
        let b = buffer.as_ref();
        need(b, TCP_HEADER_LEN, Layer::Tcp)?;
        let off = b[12] >> 4;
        if off < 5 {
            return Err(DecodeError::Invalid {
                layer: Layer::Tcp,
                offset: 12,
                field: "data offset",
                value: u32::from(off),
            });
        }
        Ok(TcpPacket { buffer })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = self.b();
        u16::from_be_bytes([b[r.start], b[r.start + 1]])
    }

    fn u32_at(&self, r: core::ops::Range<usize>) -> u32 {
        let b = self.b();
        let s = r.start;
        u32::from_be_bytes([b[s], b[s + 1], b[s + 2], b[s + 3]])
    }

    pub fn src_port(&self) -> u16 {
        self.u16_at(field::SRC_PORT)
    }
    pub fn dst_port(&self) -> u16 {
        self.u16_at(field::DST_PORT)
    }
    pub fn seq_number(&self) -> SeqNumber {
        SeqNumber(self.u32_at(field::SEQ))
    }
    pub fn ack_number(&self) -> SeqNumber {
        SeqNumber(self.u32_at(field::ACK))
    }
    /// Header length in bytes (data offset * 4), 20..=60.
    pub fn header_len(&self) -> u8 {
        (self.b()[12] >> 4) * 4
    }
    /// The twelve bits after the data offset: three reserved bits, AE and the
    /// eight classic control bits (RFC 9293 §3.1, RFC 9768).
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.u16_at(field::OFFSET_FLAGS) & 0x0fff)
    }
    pub fn window_len(&self) -> u16 {
        self.u16_at(field::WINDOW)
    }
    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }
    pub fn urgent_at(&self) -> u16 {
        self.u16_at(field::URGENT)
    }
    /// True when the whole header, options included, was captured.
    pub fn header_complete(&self) -> bool {
        self.b().len() >= usize::from(self.header_len())
    }
    /// The captured part of the option bytes.
    pub fn options(&self) -> &[u8] {
        let b = self.b();
        let end = usize::from(self.header_len()).min(b.len());
        &b[TCP_HEADER_LEN..end]
    }
    /// The captured part of the payload (empty if the header itself is cut).
    /// Bytes after the end stated by IP (link padding) are the caller's to
    /// trim: the view does not know the IP length.
    pub fn payload(&self) -> &[u8] {
        let b = self.b();
        let start = usize::from(self.header_len()).min(b.len());
        &b[start..]
    }
    /// The options walked once into a fixed-size summary.
    pub fn options_summary(&self) -> TcpOptionsSummary {
        TcpOptionsSummary::parse(self.options(), self.header_complete())
    }
}

impl<'a> TcpPacket<&'a [u8]> {
    /// Like [`TcpPacket::payload`], borrowing from the underlying buffer
    /// rather than from the view.
    pub fn payload_ref(&self) -> &'a [u8] {
        let b: &'a [u8] = self.buffer;
        let start = usize::from(self.header_len()).min(b.len());
        &b[start..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Writes the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }
}

impl TcpOptionsSummary {
    /// Walks an option list once, without allocation, and keeps what analysis
    /// needs. `complete` says whether `opts` is the whole option space
    /// (false: the capture cut it, so running off the end is not a
    /// malformation). The first problem is kept in `error`; the walk goes on
    /// past an option whose length is wrong for its kind but self-consistent,
    /// and stops where the length cannot be trusted (RFC 9293 §3.2: "a TCP
    /// implementation MUST be able to receive a TCP Option in any segment"
    /// and must handle an illegal option length without crashing).
    pub fn parse(opts: &[u8], complete: bool) -> TcpOptionsSummary {
        if opts.is_empty() {
            return TcpOptionsSummary::default();
        }
        let mut s = TcpOptionsSummary::default();
        // The layout almost every segment of a timestamp-using connection
        // carries (RFC 7323 Appendix A: NOP, NOP, TS): no walk needed.
        if let [1, 1, 8, 10, a, b, c, d, e, f, g, h] = *opts {
            s.timestamps = Some((
                u32::from_be_bytes([a, b, c, d]),
                u32::from_be_bytes([e, f, g, h]),
            ));
            return s;
        }
        let n = opts.len();
        let mut i = 0usize;
        let at = |i: usize| (TCP_HEADER_LEN + i) as u16;
        while i < n {
            let k = opts[i];
            match k {
                kind::EOL => break,
                kind::NOP => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            if i + 1 >= n {
                let problem = if complete {
                    OptionProblem::MissingLength
                } else {
                    OptionProblem::CutByCapture { available: 1 }
                };
                s.note(at(i), k, problem);
                break;
            }
            let len = opts[i + 1];
            let l = usize::from(len);
            if l < 2 {
                s.note(at(i), k, OptionProblem::BadLength { len });
                break;
            }
            if i + l > n {
                let available = (n - i) as u16;
                let problem = if complete {
                    OptionProblem::Overrun { len, available }
                } else {
                    OptionProblem::CutByCapture { available }
                };
                s.note(at(i), k, problem);
                break;
            }
            let d = &opts[i + 2..i + l];
            let ok = match k {
                kind::MSS => match d {
                    [a, b] => {
                        s.mss.get_or_insert(u16::from_be_bytes([*a, *b]));
                        true
                    }
                    _ => false,
                },
                kind::WSCALE => match d {
                    [w] => {
                        s.wscale.get_or_insert(*w);
                        true
                    }
                    _ => false,
                },
                kind::SACK_PERM => {
                    s.sack_perm = true;
                    d.is_empty()
                }
                kind::SACK => {
                    // RFC 2018 §3: length 2 + 8n, n >= 1.
                    for blk in d.chunks_exact(8) {
                        if usize::from(s.sack_count) < MAX_SACK_BLOCKS {
                            let le = u32::from_be_bytes([blk[0], blk[1], blk[2], blk[3]]);
                            let re = u32::from_be_bytes([blk[4], blk[5], blk[6], blk[7]]);
                            s.sack[usize::from(s.sack_count)] = (SeqNumber(le), SeqNumber(re));
                            s.sack_count += 1;
                        }
                    }
                    !d.is_empty() && d.len() % 8 == 0
                }
                kind::TIMESTAMPS => {
                    // RFC 7323 §3: kind 8, length 10.
                    if d.len() == 8 {
                        let tsval = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
                        let tsecr = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
                        s.timestamps.get_or_insert((tsval, tsecr));
                        true
                    } else {
                        false
                    }
                }
                kind::FAST_OPEN => {
                    // RFC 7413 §4.1.1: cookie 4..=16 bytes, or empty (request).
                    s.tfo_cookie_len.get_or_insert(d.len() as u8);
                    d.is_empty() || (4..=16).contains(&d.len())
                }
                kind::EXPERIMENT_2 if d.len() >= 2 && d[0] == 0xf9 && d[1] == 0x89 => {
                    s.tfo_cookie_len.get_or_insert((d.len() - 2) as u8);
                    true
                }
                kind::MPTCP => {
                    s.mptcp = true;
                    true
                }
                _ => true,
            };
            if !ok {
                s.note(at(i), k, OptionProblem::BadLength { len });
            }
            i += l;
        }
        s
    }

    fn note(&mut self, offset: u16, kind: u8, problem: OptionProblem) {
        if self.error.is_none() {
            self.error = Some(OptionError {
                offset,
                kind,
                problem,
            });
        }
    }

    /// The SACK blocks present, in wire order.
    pub fn sack_blocks(&self) -> &[(SeqNumber, SeqNumber)] {
        &self.sack[..usize::from(self.sack_count).min(MAX_SACK_BLOCKS)]
    }
}

/// Why a `TcpRepr` could not be written into a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error("buffer too small: {required} bytes needed, {available} available")]
    BufferTooSmall { required: usize, available: usize },
    #[error("header length {header_len} is not a multiple of 4 in 20..=60")]
    BadHeaderLen { header_len: u8 },
    #[error("options take {len} bytes but the header leaves room for {room}")]
    OptionsTooLong { len: usize, room: usize },
    #[error("option {kind} carries {len} data bytes, more than fit in an option")]
    OptionTooLong { kind: u8, len: usize },
    #[error("source and destination addresses are of different IP versions")]
    AddressFamilyMismatch,
    #[error("segment of {len} bytes does not fit in one IP packet")]
    PayloadTooLong { len: usize },
}

impl TcpOption {
    /// Bytes this option takes on the wire.
    pub fn wire_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::Mss(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::Sack(blocks) => 2 + 8 * blocks.len(),
            TcpOption::Timestamps { .. } => 10,
            TcpOption::FastOpen(d) | TcpOption::Mptcp(d) | TcpOption::Unknown { data: d, .. } => {
                2 + d.len()
            }
        }
    }

    /// Writes the option at the start of `buf`, which must hold `wire_len()`
    /// bytes; returns the number written.
    fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let len = self.wire_len();
        if buf.len() < len {
            return Err(EmitError::BufferTooSmall {
                required: len,
                available: buf.len(),
            });
        }
        let (k, data_len) = match self {
            TcpOption::EndOfList => {
                buf[0] = kind::EOL;
                return Ok(1);
            }
            TcpOption::NoOperation => {
                buf[0] = kind::NOP;
                return Ok(1);
            }
            TcpOption::Mss(m) => {
                buf[2..4].copy_from_slice(&m.to_be_bytes());
                (kind::MSS, 2)
            }
            TcpOption::WindowScale(w) => {
                buf[2] = *w;
                (kind::WSCALE, 1)
            }
            TcpOption::SackPermitted => (kind::SACK_PERM, 0),
            TcpOption::Sack(blocks) => {
                for (i, (le, re)) in blocks.iter().enumerate() {
                    buf[2 + 8 * i..6 + 8 * i].copy_from_slice(&le.0.to_be_bytes());
                    buf[6 + 8 * i..10 + 8 * i].copy_from_slice(&re.0.to_be_bytes());
                }
                (kind::SACK, 8 * blocks.len())
            }
            TcpOption::Timestamps { tsval, tsecr } => {
                buf[2..6].copy_from_slice(&tsval.to_be_bytes());
                buf[6..10].copy_from_slice(&tsecr.to_be_bytes());
                (kind::TIMESTAMPS, 8)
            }
            TcpOption::FastOpen(d) => {
                buf[2..2 + d.len()].copy_from_slice(d);
                (kind::FAST_OPEN, d.len())
            }
            TcpOption::Mptcp(d) => {
                buf[2..2 + d.len()].copy_from_slice(d);
                (kind::MPTCP, d.len())
            }
            TcpOption::Unknown { kind: k, data } => {
                buf[2..2 + data.len()].copy_from_slice(data);
                (*k, data.len())
            }
        };
        if data_len > 253 {
            return Err(EmitError::OptionTooLong {
                kind: k,
                len: data_len,
            });
        }
        buf[0] = k;
        buf[1] = (data_len + 2) as u8;
        Ok(len)
    }

    /// Parses one well-formed option (kind and length already checked to
    /// fit). A known kind with a length it cannot have is kept as `Unknown`
    /// so that emitting reproduces it.
    fn from_wire(k: u8, d: &[u8]) -> TcpOption {
        match (k, d.len()) {
            (kind::MSS, 2) => TcpOption::Mss(u16::from_be_bytes([d[0], d[1]])),
            (kind::WSCALE, 1) => TcpOption::WindowScale(d[0]),
            (kind::SACK_PERM, 0) => TcpOption::SackPermitted,
            (kind::SACK, n) if n % 8 == 0 => TcpOption::Sack(
                d.chunks_exact(8)
                    .map(|c| {
                        (
                            SeqNumber(u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
                            SeqNumber(u32::from_be_bytes([c[4], c[5], c[6], c[7]])),
                        )
                    })
                    .collect(),
            ),
            (kind::TIMESTAMPS, 8) => TcpOption::Timestamps {
                tsval: u32::from_be_bytes([d[0], d[1], d[2], d[3]]),
                tsecr: u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
            },
            (kind::FAST_OPEN, _) => TcpOption::FastOpen(d.to_vec()),
            (kind::MPTCP, _) => TcpOption::Mptcp(d.to_vec()),
            _ => TcpOption::Unknown {
                kind: k,
                data: d.to_vec(),
            },
        }
    }
}

impl TcpRepr {
    /// Parses a fully captured header (options included) into an owned
    /// representation. Options are kept in wire order with their padding; an
    /// EOL ends the list and the bytes after it go to `trailing`, as do the
    /// bytes from a malformed option on.
    pub fn parse<T: AsRef<[u8]>>(packet: &TcpPacket<T>) -> Result<TcpRepr, DecodeError> {
        let hl = usize::from(packet.header_len());
        if !packet.header_complete() {
            return Err(DecodeError::Truncated {
                layer: Layer::Tcp,
                offset: 0,
                required: hl,
                available: packet.b().len(),
            });
        }
        let opts = packet.options();
        let mut options = Vec::new();
        let mut trailing = Vec::new();
        let mut i = 0;
        while i < opts.len() {
            let k = opts[i];
            if k == kind::EOL {
                options.push(TcpOption::EndOfList);
                trailing.extend_from_slice(&opts[i + 1..]);
                break;
            }
            if k == kind::NOP {
                options.push(TcpOption::NoOperation);
                i += 1;
                continue;
            }
            let l = opts.get(i + 1).map_or(0, |&l| usize::from(l));
            if l < 2 || i + l > opts.len() {
                trailing.extend_from_slice(&opts[i..]);
                break;
            }
            options.push(TcpOption::from_wire(k, &opts[i + 2..i + l]));
            i += l;
        }
        Ok(TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq: packet.seq_number(),
            ack: packet.ack_number(),
            header_len: packet.header_len(),
            flags: packet.flags(),
            window: packet.window_len(),
            checksum: packet.checksum(),
            urgent: packet.urgent_at(),
            options,
            trailing,
        })
    }

    /// Bytes the options and trailing bytes take, before padding.
    pub fn options_len(&self) -> usize {
        self.options.iter().map(TcpOption::wire_len).sum::<usize>() + self.trailing.len()
    }

    /// Sets `header_len` to the smallest multiple of 4 that holds the options
    /// (emit pads the rest with zero bytes, i.e. EOL).
    pub fn fit_header_len(&mut self) {
        let n = TCP_HEADER_LEN + self.options_len();
        self.header_len = (n.div_ceil(4) * 4).min(255) as u8;
    }

    /// A header with no options: data offset 5, checksum zero (emit.rs fills it).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        src_port: u16,
        dst_port: u16,
        seq: SeqNumber,
        ack: SeqNumber,
        flags: TcpFlags,
        window: u16,
        options: Vec<TcpOption>,
    ) -> TcpRepr {
        let mut r = TcpRepr {
            src_port,
            dst_port,
            seq,
            ack,
            header_len: TCP_HEADER_LEN as u8,
            flags,
            window,
            checksum: 0,
            urgent: 0,
            options,
            trailing: Vec::new(),
        };
        r.fit_header_len();
        r
    }

    /// Writes the header (`header_len` bytes) at the start of `buf`, with the
    /// checksum field as stored in `self.checksum`. Option space left after
    /// the options and trailing bytes is zero-filled. Returns `header_len`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let hl = usize::from(self.header_len);
        if !(TCP_HEADER_LEN..=TCP_MAX_HEADER_LEN).contains(&hl) || hl % 4 != 0 {
            return Err(EmitError::BadHeaderLen {
                header_len: self.header_len,
            });
        }
        if buf.len() < hl {
            return Err(EmitError::BufferTooSmall {
                required: hl,
                available: buf.len(),
            });
        }
        let room = hl - TCP_HEADER_LEN;
        let olen = self.options_len();
        if olen > room {
            return Err(EmitError::OptionsTooLong { len: olen, room });
        }
        let b = &mut buf[..hl];
        b[field::SRC_PORT].copy_from_slice(&self.src_port.to_be_bytes());
        b[field::DST_PORT].copy_from_slice(&self.dst_port.to_be_bytes());
        b[field::SEQ].copy_from_slice(&self.seq.0.to_be_bytes());
        b[field::ACK].copy_from_slice(&self.ack.0.to_be_bytes());
        let off_flags = ((hl as u16 / 4) << 12) | (self.flags.0 & 0x0fff);
        b[field::OFFSET_FLAGS].copy_from_slice(&off_flags.to_be_bytes());
        b[field::WINDOW].copy_from_slice(&self.window.to_be_bytes());
        b[field::CHECKSUM].copy_from_slice(&self.checksum.to_be_bytes());
        b[field::URGENT].copy_from_slice(&self.urgent.to_be_bytes());
        let mut i = TCP_HEADER_LEN;
        for o in &self.options {
            i += o.emit(&mut b[i..])?;
        }
        b[i..i + self.trailing.len()].copy_from_slice(&self.trailing);
        i += self.trailing.len();
        b[i..].fill(0);
        Ok(hl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header(opts: &[u8]) -> Vec<u8> {
        let hl = 20 + opts.len();
        assert_eq!(hl % 4, 0);
        let mut h = vec![
            0x04, 0xd2, 0x00, 0x50, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0x12, 0xff,
            0xff, 0xab, 0xcd, 0x00, 0x07,
        ];
        h[12] = ((hl / 4) as u8) << 4;
        h.extend_from_slice(opts);
        h
    }

    #[test]
    fn fixed_fields() {
        let mut h = header(&[]);
        h[12] |= 0x0f; // three reserved bits + AE
        h[13] = 0xff;
        let p = TcpPacket::new_checked(&h[..]).unwrap();
        assert_eq!(p.src_port(), 1234);
        assert_eq!(p.dst_port(), 80);
        assert_eq!(p.seq_number(), SeqNumber(0x1122_3344));
        assert_eq!(p.ack_number(), SeqNumber(0x5566_7788));
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.flags().0, 0xfff);
        assert!(p.flags().ae() && p.flags().cwr() && p.flags().fin());
        assert_eq!(p.flags().0 & TcpFlags::RESERVED, 0xe00);
        assert_eq!(p.window_len(), 0xffff);
        assert_eq!(p.checksum(), 0xabcd);
        assert_eq!(p.urgent_at(), 7);
        assert!(p.options().is_empty());
        assert!(p.header_complete());
    }

    #[test]
    fn every_truncation_of_fixed_header_is_an_error() {
        let h = header(&[]);
        for n in 0..20 {
            assert_eq!(
                TcpPacket::new_checked(&h[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Tcp,
                    offset: 0,
                    required: 20,
                    available: n
                }
            );
        }
    }

    #[test]
    fn data_offset_below_five_is_invalid() {
        let mut h = header(&[]);
        for off in 0..5u8 {
            h[12] = off << 4;
            assert!(matches!(
                TcpPacket::new_checked(&h[..]),
                Err(DecodeError::Invalid {
                    field: "data offset",
                    offset: 12,
                    ..
                })
            ));
        }
    }

    #[test]
    fn options_cut_by_capture_decode_as_far_as_they_go() {
        // MSS, SACK-perm, then timestamps cut after 2 of its 10 bytes.
        let opts = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 1, 1,
        ];
        let h = header(&opts);
        let p = TcpPacket::new_checked(&h[..28]).unwrap();
        assert!(!p.header_complete());
        let s = p.options_summary();
        assert_eq!(s.mss, Some(1460));
        assert!(s.sack_perm);
        assert_eq!(s.timestamps, None);
        assert_eq!(
            s.error,
            Some(OptionError {
                offset: 26,
                kind: 8,
                problem: OptionProblem::CutByCapture { available: 2 }
            })
        );
        assert!(TcpRepr::parse(&p).is_err());
        let full = TcpPacket::new_checked(&h[..]).unwrap().options_summary();
        assert_eq!(full.timestamps, Some((1, 2)));
        assert_eq!(full.error, None);
    }

    #[test]
    fn summary_of_common_options() {
        let opts = [
            2, 4, 0x05, 0xb4, // MSS 1460
            1, 3, 3, 7, // NOP, wscale 7
            4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8, // SACK-perm, TS 9/8
            5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, // 2 SACK blocks
            1, 1,
        ];
        let h = header(&opts);
        let s = TcpPacket::new_checked(&h[..]).unwrap().options_summary();
        assert_eq!(s.mss, Some(1460));
        assert_eq!(s.wscale, Some(7));
        assert!(s.sack_perm);
        assert_eq!(s.timestamps, Some((9, 8)));
        assert_eq!(
            s.sack_blocks(),
            &[(SeqNumber(1), SeqNumber(2)), (SeqNumber(3), SeqNumber(4))]
        );
        assert_eq!(s.error, None);
        assert!(!s.mptcp);
        assert_eq!(s.tfo_cookie_len, None);
    }

    #[test]
    fn nop_nop_timestamps_fast_path_matches_the_walk() {
        let ts = [8, 10, 0, 0, 1, 2, 0xff, 0, 0, 3];
        let mut fast = vec![1, 1];
        fast.extend_from_slice(&ts);
        let mut slow = ts.to_vec();
        slow.extend_from_slice(&[1, 0]);
        let a = TcpOptionsSummary::parse(&fast, true);
        assert_eq!(a, TcpOptionsSummary::parse(&slow, true));
        assert_eq!(a.timestamps, Some((0x102, 0xff00_0003)));
    }

    #[test]
    fn tfo_and_mptcp() {
        let opts = [34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 30, 4, 0x10, 0x81];
        let mut o = opts.to_vec();
        o.extend_from_slice(&[1, 1]);
        let h = header(&o);
        let s = TcpPacket::new_checked(&h[..]).unwrap().options_summary();
        assert_eq!(s.tfo_cookie_len, Some(8));
        assert!(s.mptcp);
        assert_eq!(s.error, None);
        // Experimental TFO (kind 254, ExID 0xF989), cookie request.
        let h = header(&[254, 4, 0xf9, 0x89]);
        let s = TcpPacket::new_checked(&h[..]).unwrap().options_summary();
        assert_eq!(s.tfo_cookie_len, Some(0));
    }

    #[test]
    fn malformed_options_are_reported_and_header_still_decodes() {
        let cases: &[(&[u8], OptionError)] = &[
            // kind is the last byte: no length
            (
                &[1, 1, 1, 2],
                OptionError {
                    offset: 23,
                    kind: 2,
                    problem: OptionProblem::MissingLength,
                },
            ),
            // length 1
            (
                &[3, 1, 0, 0],
                OptionError {
                    offset: 20,
                    kind: 3,
                    problem: OptionProblem::BadLength { len: 1 },
                },
            ),
            // length 0 (would loop forever if trusted)
            (
                &[99, 0, 0, 0],
                OptionError {
                    offset: 20,
                    kind: 99,
                    problem: OptionProblem::BadLength { len: 0 },
                },
            ),
            // overrun
            (
                &[1, 8, 10, 0, 0, 0, 0, 0],
                OptionError {
                    offset: 21,
                    kind: 8,
                    problem: OptionProblem::Overrun {
                        len: 10,
                        available: 7,
                    },
                },
            ),
            // MSS with length 3
            (
                &[2, 3, 5, 1],
                OptionError {
                    offset: 20,
                    kind: 2,
                    problem: OptionProblem::BadLength { len: 3 },
                },
            ),
            // empty SACK
            (
                &[5, 2, 1, 1],
                OptionError {
                    offset: 20,
                    kind: 5,
                    problem: OptionProblem::BadLength { len: 2 },
                },
            ),
            // SACK with 7 data bytes
            (
                &[5, 9, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1],
                OptionError {
                    offset: 20,
                    kind: 5,
                    problem: OptionProblem::BadLength { len: 9 },
                },
            ),
        ];
        for (opts, want) in cases {
            let h = header(opts);
            let p = TcpPacket::new_checked(&h[..]).unwrap();
            assert_eq!(p.src_port(), 1234);
            let s = p.options_summary();
            assert_eq!(s.error, Some(*want), "options {opts:?}");
            // The owned form keeps the bytes and reproduces them.
            let r = TcpRepr::parse(&p).unwrap();
            let mut out = vec![0; h.len()];
            r.emit(&mut out).unwrap();
            assert_eq!(out, h, "options {opts:?}");
        }
    }

    #[test]
    fn walk_continues_after_self_consistent_bad_length() {
        let h = header(&[2, 3, 5, 1, 3, 3, 9, 0]);
        let s = TcpPacket::new_checked(&h[..]).unwrap().options_summary();
        assert_eq!(s.mss, None);
        assert_eq!(s.wscale, Some(9));
        assert!(matches!(s.error, Some(OptionError { kind: 2, .. })));
    }

    #[test]
    fn repr_round_trip_and_eol_trailing() {
        let h = header(&[2, 4, 5, 0xb4, 1, 0, 0xaa, 0xbb]);
        let p = TcpPacket::new_checked(&h[..]).unwrap();
        let r = TcpRepr::parse(&p).unwrap();
        assert_eq!(
            r.options,
            vec![
                TcpOption::Mss(1460),
                TcpOption::NoOperation,
                TcpOption::EndOfList
            ]
        );
        assert_eq!(r.trailing, vec![0xaa, 0xbb]);
        let mut out = vec![0; 28];
        assert_eq!(r.emit(&mut out), Ok(28));
        assert_eq!(out, h);
        assert_eq!(
            r.emit(&mut [0; 27]),
            Err(EmitError::BufferTooSmall {
                required: 28,
                available: 27
            })
        );
    }

    #[test]
    fn new_fits_header_len_and_emit_pads() {
        let r = TcpRepr::new(
            1,
            2,
            SeqNumber(3),
            SeqNumber(4),
            TcpFlags(TcpFlags::SYN),
            100,
            vec![TcpOption::Mss(1460), TcpOption::WindowScale(7)],
        );
        assert_eq!(r.header_len, 28);
        let mut out = [0xeeu8; 28];
        r.emit(&mut out).unwrap();
        assert_eq!(&out[20..], &[2, 4, 5, 0xb4, 3, 3, 7, 0]);
        let back = TcpRepr::parse(&TcpPacket::new_checked(&out[..]).unwrap()).unwrap();
        assert_eq!(back.options[..2], r.options[..]);
    }

    #[test]
    fn emit_rejects_oversized_options() {
        let mut r = TcpRepr::new(1, 2, SeqNumber(0), SeqNumber(0), TcpFlags(0), 0, vec![]);
        r.options = vec![TcpOption::Unknown {
            kind: 99,
            data: vec![0; 40],
        }];
        assert_eq!(
            r.emit(&mut [0; 60]),
            Err(EmitError::OptionsTooLong { len: 42, room: 0 })
        );
        r.header_len = 22;
        assert_eq!(
            r.emit(&mut [0; 60]),
            Err(EmitError::BadHeaderLen { header_len: 22 })
        );
    }

    /// A generator of well-formed option lists that fit in `room` bytes.
    fn option_strategy() -> impl Strategy<Value = TcpOption> {
        prop_oneof![
            Just(TcpOption::NoOperation),
            any::<u16>().prop_map(TcpOption::Mss),
            any::<u8>().prop_map(TcpOption::WindowScale),
            Just(TcpOption::SackPermitted),
            prop::collection::vec((any::<u32>(), any::<u32>()), 1..=4).prop_map(|v| {
                TcpOption::Sack(
                    v.into_iter()
                        .map(|(a, b)| (SeqNumber(a), SeqNumber(b)))
                        .collect(),
                )
            }),
            (any::<u32>(), any::<u32>())
                .prop_map(|(tsval, tsecr)| TcpOption::Timestamps { tsval, tsecr }),
            prop::collection::vec(any::<u8>(), 0..=16).prop_map(TcpOption::FastOpen),
            prop::collection::vec(any::<u8>(), 0..=20).prop_map(TcpOption::Mptcp),
            (9u8..=253, prop::collection::vec(any::<u8>(), 0..=10))
                .prop_filter("not a known kind", |(k, _)| ![30, 34].contains(k))
                .prop_map(|(kind, data)| TcpOption::Unknown { kind, data }),
        ]
    }

    proptest! {
        #[test]
        fn emit_parse_emit_is_identity(
            ports in any::<(u16, u16)>(), seq in any::<u32>(), ack in any::<u32>(),
            flags in 0u16..0x1000, window in any::<u16>(), csum in any::<u16>(), urg in any::<u16>(),
            opts in prop::collection::vec(option_strategy(), 0..8),
            eol in any::<bool>(), trailing in prop::collection::vec(any::<u8>(), 0..4),
            pad in 0usize..3,
        ) {
            let mut options = Vec::new();
            let mut len = 0;
            for o in opts {
                if len + o.wire_len() <= 36 {
                    len += o.wire_len();
                    options.push(o);
                }
            }
            let trailing = if eol { options.push(TcpOption::EndOfList); trailing } else { vec![] };
            let mut r = TcpRepr {
                src_port: ports.0, dst_port: ports.1, seq: SeqNumber(seq), ack: SeqNumber(ack),
                header_len: 20, flags: TcpFlags(flags), window, checksum: csum, urgent: urg,
                options, trailing,
            };
            r.fit_header_len();
            r.header_len = (r.header_len + 4 * pad as u8).min(60);
            prop_assume!(r.options_len() <= usize::from(r.header_len) - 20);
            let mut wire = vec![0u8; usize::from(r.header_len)];
            r.emit(&mut wire).unwrap();
            let p = TcpPacket::new_checked(&wire[..]).unwrap();
            let parsed = TcpRepr::parse(&p).unwrap();
            let mut again = vec![0u8; wire.len()];
            parsed.emit(&mut again).unwrap();
            prop_assert_eq!(&again, &wire);
            prop_assert_eq!(parsed.src_port, r.src_port);
            prop_assert_eq!(parsed.flags, r.flags);
            prop_assert_eq!(parsed.checksum, r.checksum);
            prop_assert_eq!(parsed.urgent, r.urgent);
        }

        #[test]
        fn any_valid_header_bytes_round_trip(
            fixed in prop::array::uniform20(any::<u8>()),
            off in 5u8..=15, opts in prop::collection::vec(any::<u8>(), 40),
        ) {
            let mut wire = fixed.to_vec();
            wire[12] = (off << 4) | (wire[12] & 0x0f);
            wire.extend_from_slice(&opts[..usize::from(off) * 4 - 20]);
            let p = TcpPacket::new_checked(&wire[..]).unwrap();
            let r = TcpRepr::parse(&p).unwrap();
            let mut out = vec![0u8; wire.len()];
            r.emit(&mut out).unwrap();
            prop_assert_eq!(out, wire);
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = TcpPacket::new_checked(&bytes[..]) {
                let _ = p.options_summary();
                let _ = p.payload();
                let _ = TcpRepr::parse(&p);
                prop_assert!(p.header_len() >= 20);
            }
            let _ = TcpOptionsSummary::parse(&bytes, true);
            let _ = TcpOptionsSummary::parse(&bytes, false);
        }
    }
}
