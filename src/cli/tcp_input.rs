//! Every TCP packet of a capture file, decoded for the analyzer: the input
//! loop `tcpsim timeline` and `tcpsim conns` share (and the corpus tests).

use crate::pcap::{CaptureError, CaptureReader};
use crate::track::TcpInput;
use crate::wire::decode::{decode_frame, Decoded, NotTcp, TcpFrame};
use crate::wire::reassembly::Reassembler;
use std::io::Read;
use std::path::Path;
use std::sync::mpsc::{channel, sync_channel};
use std::thread;

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

/// Packets handed from the decoding thread to the caller at a time.
const BATCH: usize = 4096;
/// Batches in flight between the two threads (bounds the memory used).
const BATCHES_IN_FLIGHT: usize = 4;

/// Calls `f` with every TCP packet of the capture at `path`, in file order.
/// Opening errors are returned; a reading error later in the file ends the
/// loop and is kept in [`TcpInputStats::error`].
///
/// Reading and decoding run on a thread of their own, a few batches ahead
/// of `f` (a two-stage pipeline: the decoder and the analyzer each get a
/// core). Order, results and error reporting are those of
/// [`decode_tcp_packets`], which does the same work on the calling thread.
pub fn for_each_tcp_packet(
    path: &Path,
    mut f: impl FnMut(&TcpInput),
) -> Result<TcpInputStats, CaptureError> {
    for_each_tcp_batch(path, |batch, _| batch.iter().for_each(&mut f))
}

/// [`for_each_tcp_packet`] a batch at a time: a few thousand packets in
/// file order, for callers with per-packet work they can do once a batch
/// (`tcpsim conns` collects finished connections). With each batch comes
/// the time of the file's first record (of any protocol), which
/// [`TcpInputStats::first_time_ns`] reports at the end.
pub fn for_each_tcp_batch(
    path: &Path,
    mut f: impl FnMut(&[TcpInput], i64),
) -> Result<TcpInputStats, CaptureError> {
    let reader = CaptureReader::open(path)?;
    let (full_tx, full_rx) = sync_channel::<(Vec<TcpInput>, i64)>(BATCHES_IN_FLIGHT);
    let (empty_tx, empty_rx) = channel::<Vec<TcpInput>>();
    let stats = thread::scope(|s| {
        let decoder = s.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let mut consumer_gone = false;
            let mut first = 0;
            let stats = decode_each(reader, |frame, number, t, first_time_ns| {
                if consumer_gone {
                    return;
                }
                first = first_time_ns;
                batch.push(input(frame, number, t));
                if batch.len() == BATCH {
                    let next = empty_rx
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                    let full = std::mem::replace(&mut batch, next);
                    consumer_gone = full_tx.send((full, first)).is_err();
                }
            });
            if !batch.is_empty() && !consumer_gone {
                let _ = full_tx.send((batch, first));
            }
            stats
        });
        for (mut batch, first) in full_rx {
            f(&batch, first);
            batch.clear();
            let _ = empty_tx.send(batch);
        }
        decoder
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    Ok(stats)
}

/// The decoding loop of [`for_each_tcp_packet`] on the calling thread:
/// every TCP packet `reader` yields, whole IP datagrams reassembled from
/// their fragments as tshark does, handed to `f` in file order.
pub fn decode_tcp_packets<R: Read>(
    reader: CaptureReader<R>,
    mut f: impl FnMut(&TcpInput),
) -> TcpInputStats {
    decode_each(reader, |frame, number, t, _| f(&input(frame, number, t)))
}

/// [`decode_tcp_packets`] handing over each decoded frame with its number,
/// its time and the time of the file's first record; the caller builds the
/// [`TcpInput`] where it keeps it (the pipeline: straight into its batch,
/// without a copy on the way).
fn decode_each<R: Read>(
    mut reader: CaptureReader<R>,
    mut f: impl FnMut(&TcpFrame<'_>, u64, i64, i64),
) -> TcpInputStats {
    let mut stats = TcpInputStats::default();
    let mut frags = Reassembler::new();
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
        let first = *stats.first_time_ns.get_or_insert(t);
        let (frame_len, cap_len) = (rec.orig_len, rec.data.len().min(u32::MAX as usize) as u32);
        let mut datagram = None;
        match decode_frame(rec.linktype, rec.data, rec.orig_len) {
            Ok(Decoded::Tcp(frame)) => match frame.fragment {
                // The first fragment of a datagram: its segment is whole only
                // once the other fragments arrive (tshark reassembles).
                Some(frag) => datagram = frags.push(&frag),
                None => {
                    stats.tcp += 1;
                    f(&frame, rec.number, t, first);
                }
            },
            Ok(Decoded::NotTcp(NotTcp::Fragment(frag))) => datagram = frags.push(&frag),
            Ok(Decoded::NotTcp(NotTcp::MalformedTcp(_))) | Err(_) => stats.malformed += 1,
            Ok(Decoded::NotTcp(_)) => stats.not_tcp += 1,
        }
        if let Some(d) = datagram {
            match d.decode_tcp(frame_len, cap_len) {
                Ok(Decoded::Tcp(frame)) => {
                    stats.tcp += 1;
                    f(&frame, rec.number, t, first);
                }
                Ok(Decoded::NotTcp(_)) => stats.not_tcp += 1,
                Err(_) => stats.malformed += 1,
            }
        }
    }
    stats
}

#[inline(always)]
fn input(frame: &TcpFrame<'_>, number: u64, time_ns: i64) -> TcpInput {
    let mut info = frame.info;
    info.number = number;
    info.time_ns = time_ns;
    TcpInput {
        info,
        short_segment: frame.tcp_len().is_none(),
    }
}
