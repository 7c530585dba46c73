//! Classic pcap writer (pcap-savefile(5)): little-endian file header, snaplen
//! 262144 (Linux loopback frames can exceed 65535 bytes), micro- or
//! nanosecond timestamps.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Snaplen written in the file header.
pub const WRITER_SNAPLEN: u32 = 262_144;

/// Timestamp resolution of a written pcap file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsResolution {
    Micro,
    Nano,
}

/// Writes packets to a classic pcap file.
///
/// ```no_run
/// use tcpsim::pcap::{linktype, PcapWriter};
/// let mut w = PcapWriter::create("out.pcap", linktype::ETHERNET)?;
/// let frame = [0u8; 54];
/// w.write(1_700_000_000_123_456_789, &frame, frame.len() as u32)?;
/// w.finish()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct PcapWriter<W: Write = BufWriter<File>> {
    out: W,
    resolution: TsResolution,
}

impl PcapWriter<BufWriter<File>> {
    /// Creates (truncates) `path` and writes a nanosecond-resolution header.
    pub fn create(path: impl AsRef<Path>, linktype: u32) -> io::Result<Self> {
        Self::create_with(path, linktype, TsResolution::Nano)
    }

    pub fn create_with(
        path: impl AsRef<Path>,
        linktype: u32,
        resolution: TsResolution,
    ) -> io::Result<Self> {
        let file = File::create(path)?;
        PcapWriter::new(
            BufWriter::with_capacity(1 << 16, file),
            linktype,
            resolution,
        )
    }
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header to `out`.
    pub fn new(mut out: W, linktype: u32, resolution: TsResolution) -> io::Result<Self> {
        let magic: u32 = match resolution {
            TsResolution::Micro => 0xa1b2_c3d4,
            TsResolution::Nano => 0xa1b2_3c4d,
        };
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&magic.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay 0.
        h[16..20].copy_from_slice(&WRITER_SNAPLEN.to_le_bytes());
        h[20..24].copy_from_slice(&linktype.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter { out, resolution })
    }

    /// Appends one packet. `ts_ns` is nanoseconds since the Unix epoch
    /// (negative times are written as 0); `frame` is cut to the snaplen and
    /// `orig_len` is raised to at least the written length.
    pub fn write(&mut self, ts_ns: i64, frame: &[u8], orig_len: u32) -> io::Result<()> {
        let ts = ts_ns.max(0) as u64;
        let secs = (ts / 1_000_000_000).min(u32::MAX as u64) as u32;
        let frac = match self.resolution {
            TsResolution::Micro => ((ts % 1_000_000_000) / 1000) as u32,
            TsResolution::Nano => (ts % 1_000_000_000) as u32,
        };
        let caplen = frame.len().min(WRITER_SNAPLEN as usize);
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&frac.to_le_bytes());
        h[8..12].copy_from_slice(&(caplen as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.max(caplen as u32).to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&frame[..caplen])
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
