//! Every TCP packet of a capture file, decoded for the analyzer: the input
//! loop `tcpsim timeline` and `tcpsim conns` share (and the corpus tests).

use crate::pcap::{CaptureError, CaptureReader};
use crate::wire::decode::{decode_frame, Decoded};
use crate::track::TcpInput;
use std::path::Path;

/// What the input loop saw.
#[derive(Debug, Default)]
pub struct TcpInputStats {
    /// Records read from the file.
    pub frames: u64,
    /// TCP packets handed to the callback.
    pub tcp: u64,
    /// Frames that are not TCP (other protocols, non-first IP fragments).
    pub not_tcp: u64,
    /// Frames whose headers could not be decoded down to TCP.
    pub malformed: u64,
    /// Time of the file's first record, nanoseconds since the epoch.
    pub first_time_ns: Option<i64>,
    /// The reading error that ended the loop early, if any. Everything read
    /// before it was handed to the callback.
    pub error: Option<CaptureError>,
}

/// Calls `f` with every TCP packet of the capture at `path`, in file order.
/// Opening errors are returned; a reading error later in the file ends the
/// loop and is kept in [`TcpInputStats::error`].
pub fn for_each_tcp_packet(
    path: &Path,
    mut f: impl FnMut(&TcpInput),
) -> Result<TcpInputStats, CaptureError> {
    let mut reader = CaptureReader::open(path)?;
    let mut stats = TcpInputStats::default();
    while let Some(rec) = reader.next_record() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                stats.error = Some(e);
                break;
            }
        };
        stats.frames += 1;
        let t = rec.time_ns();
        if stats.first_time_ns.is_none() {
            stats.first_time_ns = Some(t);
        }
        match decode_frame(rec.linktype, rec.data, rec.orig_len) {
            Ok(Decoded::Tcp(frame)) => {
                let mut info = frame.info;
                info.number = rec.number;
                info.time_ns = t;
                stats.tcp += 1;
                let short_segment = frame.segment_len < u32::from(info.header_len);
                f(&TcpInput { info, short_segment });
            }
            Ok(Decoded::NotTcp(_)) => stats.not_tcp += 1,
            Err(_) => stats.malformed += 1,
        }
    }
    Ok(stats)
}
