//! One streaming reader over classic pcap (both byte orders, micro- and
//! nanosecond timestamps, the "modified" 24-byte record variant) and pcapng
//! (several sections and interfaces, per-interface link type and timestamp
//! resolution, enhanced, simple and obsolete packet blocks).
//!
//! Classic pcap record headers are parsed here (pcap-file 2.0.0 rejects
//! records with orig_len > snaplen and then repeats the error forever);
//! pcapng blocks are framed here and decoded by pcap-file.

use super::error::{CaptureError, CaptureErrorKind};
use super::source::ByteSource;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::Block;
use pcap_file::PcapError;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Largest captured length of one packet accepted (tshark's limit too).
pub const MAX_RECORD_LEN: u32 = 262_144;
/// Largest pcapng packet block accepted: a maximal packet plus room for options.
pub const MAX_PACKET_BLOCK_LEN: u32 = MAX_RECORD_LEN + 65_536;
/// Largest pcapng section header or interface description block accepted.
pub const MAX_META_BLOCK_LEN: u32 = 1 << 20;
const BUFFER_LEN: usize = 2 << 20;

const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
const PCAPNG_IDB: u32 = 1;
const PCAPNG_PB: u32 = 2;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_EPB: u32 = 6;
const PCAPNG_SYSTEMD_JOURNAL: u32 = 9;
const PCAPNG_CB_COPY: u32 = 0x0000_0BAD;
const PCAPNG_CB_NOCOPY: u32 = 0x4000_0BAD;

/// The container format of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic pcap; `nanos` for nanosecond timestamps, `modified` for the
    /// Kuznetzov variant with 24-byte record headers.
    Pcap {
        big_endian: bool,
        nanos: bool,
        modified: bool,
    },
    PcapNg,
}

/// A timestamp as the file states it: seconds since the epoch and a
/// nanosecond fraction. The fraction is kept as read (it can be out of
/// range in a damaged file) so that it can be shown the way tshark shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Timestamp {
    pub secs: i64,
    pub nsecs: i32,
}

impl Timestamp {
    /// Nanoseconds since the Unix epoch (saturating).
    pub fn as_nanos(self) -> i64 {
        self.secs
            .saturating_mul(1_000_000_000)
            .saturating_add(self.nsecs as i64)
    }
}

/// One captured packet, borrowed from the reader's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// 1-based packet number in the file (tshark's frame.number).
    pub number: u64,
    /// Byte offset of the record (pcap) or block (pcapng) in the file.
    pub offset: u64,
    pub timestamp: Timestamp,
    /// Link-layer header type (LINKTYPE_* value).
    pub linktype: u32,
    /// The captured bytes, starting with the link-layer header.
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// pcapng interface id within the current section (0 for classic pcap).
    pub interface: u32,
}

impl Record<'_> {
    pub fn time_ns(&self) -> i64 {
        self.timestamp.as_nanos()
    }
}

/// Timestamp units per second of one pcapng interface (if_tsresol).
#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: u32,
    snaplen: u32,
    units_per_sec: u128,
    offset_secs: i64,
}

enum State {
    Pcap {
        big_endian: bool,
        nanos: bool,
        header_len: usize,
        linktype: u32,
    },
    PcapNg {
        big_endian: bool,
        interfaces: Vec<Interface>,
    },
}

/// Streaming capture reader. Memory use is fixed (one 2 MiB buffer plus the
/// interface table), whatever the file size.
///
/// ```no_run
/// let mut reader = tcpsim::pcap::CaptureReader::open("captures/handshake.pcap")?;
/// while let Some(record) = reader.next_record() {
///     let record = record?;
///     println!("{} {} bytes", record.number, record.data.len());
/// }
/// # Ok::<(), tcpsim::pcap::CaptureError>(())
/// ```
pub struct CaptureReader<R> {
    src: ByteSource<R>,
    name: String,
    format: CaptureFormat,
    state: State,
    next_number: u64,
    /// Size of the input when known (files): lets an absurd length be
    /// reported before trying to read it.
    input_len: Option<u64>,
    done: bool,
}

impl CaptureReader<File> {
    /// Opens a capture file and reads its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| CaptureError {
            file: name.clone(),
            packet: 1,
            offset: 0,
            kind: CaptureErrorKind::Open(e),
        })?;
        let len = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        // A regular file is read through a memory map of all of it (no copy
        // from the page cache into a buffer); anything else, or a file the
        // system will not map, through the buffer.
        let map = len.filter(|&l| l > 0).and_then(|_| {
            // SAFETY: the map is only read, as plain bytes. The file must
            // not shrink while it is mapped (another program truncating it
            // would fault this process, as with any mapped reader); growing
            // is harmless, the map keeps the length it had at opening.
            unsafe { memmap2::Mmap::map(&file) }.ok()
        });
        let mut r = match map {
            Some(map) => {
                let src = ByteSource::mapped(file, map);
                CaptureReader::with_source(src, name)?
            }
            None => CaptureReader::new(file, name)?,
        };
        r.input_len = len;
        Ok(r)
    }
}

impl<'b> CaptureReader<&'b [u8]> {
    /// A reader over bytes in memory (tests, fuzzing).
    pub fn from_bytes(bytes: &'b [u8], name: impl Into<String>) -> Result<Self, CaptureError> {
        // The whole input fits in a buffer one byte longer than it, so a
        // short read there is the real end of the input.
        let capacity = (bytes.len() + 1).clamp(64, BUFFER_LEN);
        let mut r = CaptureReader::with_buffer(bytes, name.into(), capacity)?;
        r.input_len = Some(bytes.len() as u64);
        Ok(r)
    }
}

#[inline]
fn u16_at(b: &[u8], at: usize, big: bool) -> u16 {
    let v: [u8; 2] = b[at..at + 2].try_into().unwrap_or_default();
    if big {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    }
}

#[inline]
fn u32_at(b: &[u8], at: usize, big: bool) -> u32 {
    // One bounds check for the four bytes (the slice index).
    let v: [u8; 4] = b[at..at + 4].try_into().unwrap_or_default();
    if big {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}

fn pcap_file_error(block_type: u32, e: PcapError) -> CaptureErrorKind {
    let what = match e {
        PcapError::IncompleteBuffer => "contents run past the block's end".to_string(),
        PcapError::InvalidField(s) => s.to_string(),
        other => other.to_string(),
    };
    CaptureErrorKind::CorruptBlock { block_type, what }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header from `input`; `name` is used in error messages.
    pub fn new(input: R, name: impl Into<String>) -> Result<Self, CaptureError> {
        CaptureReader::with_buffer(input, name.into(), BUFFER_LEN)
    }

    fn with_buffer(input: R, name: String, capacity: usize) -> Result<Self, CaptureError> {
        CaptureReader::with_source(ByteSource::new(input, capacity), name)
    }

    fn with_source(mut src: ByteSource<R>, name: String) -> Result<Self, CaptureError> {
        let fail = |kind| CaptureError {
            file: name.clone(),
            packet: 1,
            offset: 0,
            kind,
        };
        let have = src.fill(24).map_err(|e| fail(CaptureErrorKind::Io(e)))?;
        if have == 0 {
            return Err(fail(CaptureErrorKind::Empty));
        }
        let head = src.peek();
        let mut magic = [0u8; 4];
        magic[..have.min(4)].copy_from_slice(&head[..have.min(4)]);
        let be = u32::from_be_bytes(magic);
        let le = u32::from_le_bytes(magic);
        // Magic numbers: pcap-savefile(5); pcapng: draft-ietf-opsawg-pcapng §4.1.
        let classic = |m: u32| match m {
            0xa1b2_c3d4 => Some((false, false)),
            0xa1b2_3c4d => Some((true, false)),
            0xa1b2_cd34 => Some((false, true)),
            _ => None,
        };
        let (format, state) = if be == PCAPNG_SHB {
            // The section header is read as the first block by next_record.
            (
                CaptureFormat::PcapNg,
                State::PcapNg {
                    big_endian: false,
                    interfaces: Vec::new(),
                },
            )
        } else if let Some((big_endian, (nanos, modified))) = classic(be)
            .map(|f| (true, f))
            .or_else(|| classic(le).map(|f| (false, f)))
        {
            if have < 24 {
                return Err(fail(CaptureErrorKind::TruncatedFileHeader {
                    have,
                    need: 24,
                }));
            }
            let major = u16_at(head, 4, big_endian);
            let minor = u16_at(head, 6, big_endian);
            if major != 2 {
                return Err(CaptureError {
                    offset: 4,
                    ..fail(CaptureErrorKind::UnsupportedVersion { major, minor })
                });
            }
            // The upper bits of the link-type field carry FCS information
            // (pcap-linktype(7), LT_LINKTYPE): keep the low 26 bits.
            let linktype = u32_at(head, 20, big_endian) & 0x03FF_FFFF;
            src.consume(24);
            (
                CaptureFormat::Pcap {
                    big_endian,
                    nanos,
                    modified,
                },
                State::Pcap {
                    big_endian,
                    nanos,
                    header_len: if modified { 24 } else { 16 },
                    linktype,
                },
            )
        } else {
            return Err(fail(CaptureErrorKind::NotACapture(magic)));
        };
        Ok(CaptureReader {
            src,
            name,
            format,
            state,
            next_number: 1,
            input_len: None,
            done: false,
        })
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// The name used in error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of packets returned so far.
    pub fn packets_read(&self) -> u64 {
        self.next_number - 1
    }

    fn error(&mut self, offset: u64, kind: CaptureErrorKind) -> CaptureError {
        self.done = true;
        CaptureError {
            file: self.name.clone(),
            packet: self.next_number,
            offset,
            kind,
        }
    }

    fn remaining(&self, from: u64) -> Option<u64> {
        self.input_len.map(|l| l.saturating_sub(from))
    }

    /// The next packet, `None` at the end of the file. After an error the
    /// reader is finished and returns `None`.
    pub fn next_record(&mut self) -> Option<Result<Record<'_>, CaptureError>> {
        if self.done {
            return None;
        }
        let r = match self.state {
            State::Pcap {
                big_endian,
                nanos,
                header_len,
                linktype,
            } => self.next_pcap(big_endian, nanos, header_len, linktype),
            State::PcapNg { .. } => self.next_pcapng(),
        };
        match r {
            Ok(Some(loc)) => {
                let taken = self.src.take(loc.consume);
                Some(Ok(Record {
                    number: loc.number,
                    offset: loc.offset,
                    timestamp: loc.timestamp,
                    linktype: loc.linktype,
                    data: &taken[loc.start..loc.start + loc.len],
                    orig_len: loc.orig_len,
                    interface: loc.interface,
                }))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// Where a record's bytes sit among the next `consume` bytes of the source,
/// and its metadata.
struct Located {
    start: usize,
    len: usize,
    consume: usize,
    number: u64,
    offset: u64,
    timestamp: Timestamp,
    linktype: u32,
    orig_len: u32,
    interface: u32,
}

impl<R: Read> CaptureReader<R> {
    fn next_pcap(
        &mut self,
        big: bool,
        nanos: bool,
        header_len: usize,
        linktype: u32,
    ) -> Result<Option<Located>, CaptureError> {
        let offset = self.src.offset();
        let have = self
            .src
            .fill(header_len)
            .map_err(|e| self.error(offset, e.into()))?;
        if have == 0 {
            return Ok(None);
        }
        if have < header_len {
            return Err(self.error(
                offset,
                CaptureErrorKind::TruncatedRecordHeader {
                    have,
                    need: header_len,
                },
            ));
        }
        // The four header words (`have >= header_len >= 16`).
        let h: &[u8; 16] = self.src.peek()[..16].try_into().unwrap_or(&[0; 16]);
        let ts_sec = u32_at(h, 0, big);
        let ts_frac = u32_at(h, 4, big);
        let caplen = u32_at(h, 8, big);
        let orig_len = u32_at(h, 12, big);
        if caplen > MAX_RECORD_LEN {
            return Err(self.error(
                offset,
                CaptureErrorKind::RecordTooLarge {
                    len: caplen as u64,
                    max: MAX_RECORD_LEN as u64,
                },
            ));
        }
        let need = header_len + caplen as usize;
        if let Some(rem) = self.remaining(offset) {
            if (need as u64) > rem {
                let have = rem.saturating_sub(header_len as u64);
                return Err(self.error(
                    offset,
                    CaptureErrorKind::TruncatedRecord {
                        have,
                        need: caplen as u64,
                    },
                ));
            }
        }
        let have = self
            .src
            .fill(need)
            .map_err(|e| self.error(offset, e.into()))?;
        if have < need {
            return Err(self.error(
                offset,
                CaptureErrorKind::TruncatedRecord {
                    have: (have - header_len) as u64,
                    need: caplen as u64,
                },
            ));
        }
        // Timestamps as libpcap/Wireshark read them: seconds unsigned, the
        // fraction scaled to nanoseconds in 32 bits.
        let nsecs = if nanos {
            ts_frac as i32
        } else {
            ts_frac.wrapping_mul(1000) as i32
        };
        let ts = Timestamp {
            secs: ts_sec as i64,
            nsecs,
        };
        let number = self.next_number;
        self.next_number += 1;
        Ok(Some(Located {
            start: header_len,
            len: caplen as usize,
            consume: need,
            number,
            offset,
            timestamp: ts,
            linktype,
            orig_len,
            interface: 0,
        }))
    }

    fn next_pcapng(&mut self) -> Result<Option<Located>, CaptureError> {
        loop {
            let offset = self.src.offset();
            let have = self
                .src
                .fill(12)
                .map_err(|e| self.error(offset, e.into()))?;
            if have == 0 {
                if offset == 0 {
                    return Err(self.error(offset, CaptureErrorKind::Empty));
                }
                return Ok(None);
            }
            if have < 12 {
                return Err(self.error(
                    offset,
                    CaptureErrorKind::TruncatedBlockHeader { have, need: 12 },
                ));
            }
            let State::PcapNg { big_endian, .. } = &self.state else {
                unreachable!()
            };
            let mut big = *big_endian;
            let h = self.src.peek();
            let block_type = u32_at(h, 0, big);
            if block_type == PCAPNG_SHB {
                // The byte-order magic decides the section's byte order.
                big = match u32::from_be_bytes([h[8], h[9], h[10], h[11]]) {
                    0x1A2B_3C4D => true,
                    0x4D3C_2B1A => false,
                    _ => {
                        return Err(self.error(
                            offset,
                            CaptureErrorKind::CorruptBlock {
                                block_type,
                                what: "bad byte-order magic in section header".into(),
                            },
                        ))
                    }
                };
            } else if offset == 0 {
                return Err(self.error(offset, CaptureErrorKind::MissingSectionHeader));
            }
            let len = u32_at(h, 4, big);
            if len % 4 != 0 || len < 12 {
                return Err(
                    self.error(offset, CaptureErrorKind::BadBlockLength { block_type, len })
                );
            }
            if let Some(rem) = self.remaining(offset) {
                if len as u64 > rem {
                    return Err(self.error(
                        offset,
                        CaptureErrorKind::TruncatedBlock {
                            block_type,
                            have: rem,
                            need: len as u64,
                        },
                    ));
                }
            }
            let max = match block_type {
                PCAPNG_SHB | PCAPNG_IDB => MAX_META_BLOCK_LEN,
                PCAPNG_EPB | PCAPNG_SPB | PCAPNG_PB => MAX_PACKET_BLOCK_LEN,
                _ => {
                    // Blocks tcpsim does not use are skipped without buffering.
                    // Custom blocks and systemd journal entries are records that
                    // Wireshark numbers as frames: count them so frame numbers agree.
                    if matches!(
                        block_type,
                        PCAPNG_CB_COPY | PCAPNG_CB_NOCOPY | PCAPNG_SYSTEMD_JOURNAL
                    ) {
                        self.next_number += 1;
                    }
                    let skipped = self
                        .src
                        .skip(len as u64)
                        .map_err(|e| self.error(offset, e.into()))?;
                    if skipped < len as u64 {
                        return Err(self.error(
                            offset,
                            CaptureErrorKind::TruncatedBlock {
                                block_type,
                                have: skipped,
                                need: len as u64,
                            },
                        ));
                    }
                    continue;
                }
            };
            if len > max {
                return Err(self.error(
                    offset,
                    CaptureErrorKind::BlockTooLarge {
                        block_type,
                        len: len as u64,
                        max: max as u64,
                    },
                ));
            }
            let len = len as usize;
            let have = self
                .src
                .fill(len)
                .map_err(|e| self.error(offset, e.into()))?;
            if have < len {
                return Err(self.error(
                    offset,
                    CaptureErrorKind::TruncatedBlock {
                        block_type,
                        have: have as u64,
                        need: len as u64,
                    },
                ));
            }
            let bytes = &self.src.peek()[..len];
            let parsed = if big {
                Block::from_slice::<byteorder_slice::BigEndian>(bytes)
            } else {
                Block::from_slice::<byteorder_slice::LittleEndian>(bytes)
            };
            let block = match parsed {
                Ok((_, b)) => b,
                Err(e) => return Err(self.error(offset, pcap_file_error(block_type, e))),
            };
            let State::PcapNg {
                big_endian,
                interfaces,
            } = &mut self.state
            else {
                unreachable!()
            };
            // Where the packet data sits inside the block (pcap-file borrows it from `bytes`).
            let base = bytes.as_ptr() as usize;
            let located = match block {
                Block::SectionHeader(_) => {
                    *big_endian = big;
                    interfaces.clear();
                    None
                }
                Block::InterfaceDescription(idb) => {
                    let mut units_per_sec: u128 = 1_000_000;
                    let mut offset_secs = 0i64;
                    for opt in &idb.options {
                        match opt {
                            // pcapng §4.2 if_tsresol: MSB clear = 10^-n, set = 2^-n.
                            InterfaceDescriptionOption::IfTsResol(r) => {
                                let n = (r & 0x7f) as u32;
                                units_per_sec = if r & 0x80 == 0 {
                                    10u128.checked_pow(n).unwrap_or(u128::MAX)
                                } else {
                                    1u128.checked_shl(n).unwrap_or(u128::MAX)
                                };
                            }
                            InterfaceDescriptionOption::IfTsOffset(o) => offset_secs = *o as i64,
                            _ => {}
                        }
                    }
                    interfaces.push(Interface {
                        linktype: u32::from(idb.linktype),
                        snaplen: idb.snaplen,
                        units_per_sec,
                        offset_secs,
                    });
                    None
                }
                Block::EnhancedPacket(epb) => {
                    let start = epb.data.as_ptr() as usize - base;
                    Some((
                        epb.interface_id,
                        epb.timestamp.as_nanos() as u64,
                        start,
                        epb.data.len(),
                        epb.original_len,
                    ))
                }
                Block::Packet(pb) => {
                    let start = pb.data.as_ptr() as usize - base;
                    Some((
                        pb.interface_id as u32,
                        pb.timestamp,
                        start,
                        pb.data.len(),
                        pb.original_len,
                    ))
                }
                Block::SimplePacket(spb) => {
                    // pcapng §4.4: captured length = min(original length, snaplen);
                    // the rest of the body is padding.
                    let start = spb.data.as_ptr() as usize - base;
                    let mut caplen = spb.data.len().min(spb.original_len as usize);
                    if let Some(i) = interfaces.first() {
                        if i.snaplen != 0 {
                            caplen = caplen.min(i.snaplen as usize);
                        }
                    }
                    Some((0, 0, start, caplen, spb.original_len))
                }
                _ => None,
            };
            let Some((interface, units, start, caplen, orig_len)) = located else {
                self.src.consume(len);
                continue;
            };
            let Some(iface) = interfaces.get(interface as usize).copied() else {
                let count = interfaces.len();
                return Err(self.error(
                    offset,
                    CaptureErrorKind::UnknownInterface { interface, count },
                ));
            };
            if caplen > MAX_RECORD_LEN as usize {
                return Err(self.error(
                    offset,
                    CaptureErrorKind::RecordTooLarge {
                        len: caplen as u64,
                        max: MAX_RECORD_LEN as u64,
                    },
                ));
            }
            let per = iface.units_per_sec.max(1);
            let units = units as u128;
            let secs = (units / per) as i64;
            let nsecs = ((units % per) * 1_000_000_000 / per) as i32;
            let ts = Timestamp {
                secs: secs.saturating_add(iface.offset_secs),
                nsecs,
            };
            let number = self.next_number;
            self.next_number += 1;
            return Ok(Some(Located {
                start,
                len: caplen,
                consume: len,
                number,
                offset,
                timestamp: ts,
                linktype: iface.linktype,
                orig_len,
                interface,
            }));
        }
    }
}
