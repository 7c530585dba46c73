//! Reading a capture's TCP packets for replay and export.

use super::conversation::{split_conversations, Conversation};
use crate::pcap::{CaptureError, CaptureReader};
use crate::wire::{decode_frame, Decoded, TcpPacketInfo};
use std::path::Path;

/// Why a replay, export or what-if could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{0}")]
    Capture(#[from] CaptureError),
    #[error("{file}: no TCP connection with stream index {stream} (the capture holds {count})")]
    NoSuchStream {
        file: String,
        stream: usize,
        count: usize,
    },
    #[error("{file}: stream {stream}: {what}")]
    Unsupported {
        file: String,
        stream: usize,
        what: String,
    },
    #[error("{0}")]
    Settings(String),
    #[error("{file}: cannot write: {err}")]
    Write { file: String, err: std::io::Error },
}

/// A capture's TCP packets, and how many frames were not TCP or could not be
/// decoded (they are left out).
pub struct CapturePackets {
    pub packets: Vec<TcpPacketInfo>,
    pub skipped: u64,
}

/// Reads every TCP packet of a capture file. Frames that are not TCP, or
/// whose headers are malformed, are counted and skipped; a fault in the
/// file itself is an error naming file, packet and offset.
pub fn read_capture(path: &Path) -> Result<CapturePackets, ReplayError> {
    let mut reader = CaptureReader::open(path)?;
    let mut packets = Vec::new();
    let mut skipped = 0u64;
    while let Some(rec) = reader.next_record() {
        let rec = rec?;
        match decode_frame(rec.linktype, rec.data, rec.orig_len) {
            Ok(Decoded::Tcp(f)) if f.fragment.is_none_or(|fr| fr.offset == 0) => {
                let mut info = f.info;
                info.number = rec.number;
                info.time_ns = rec.time_ns();
                packets.push(info);
            }
            _ => skipped += 1,
        }
    }
    Ok(CapturePackets { packets, skipped })
}

/// The packets of connection `stream`, numbered as tshark's tcp.stream by
/// the analyzer (`track`), and how many connections the packets hold.
pub fn stream_packets(packets: &[TcpPacketInfo], stream: usize) -> (Vec<TcpPacketInfo>, usize) {
    let analysis = crate::timeline::analyze_all(packets);
    let count = analysis
        .iter()
        .map(|a| a.stream as usize + 1)
        .max()
        .unwrap_or(0);
    let chosen = packets
        .iter()
        .zip(&analysis)
        .filter(|(_, a)| a.stream as usize == stream)
        .map(|(p, _)| *p)
        .collect();
    (chosen, count)
}

/// Reads a capture and returns connection `stream` (tshark's tcp.stream).
pub fn read_conversation(path: &Path, stream: usize) -> Result<Conversation, ReplayError> {
    let cap = read_capture(path)?;
    conversation_of(&cap.packets, stream, &path.display().to_string())
}

/// Connection `stream` of `packets` as a [`Conversation`].
pub fn conversation_of(
    packets: &[TcpPacketInfo],
    stream: usize,
    file: &str,
) -> Result<Conversation, ReplayError> {
    let (chosen, count) = stream_packets(packets, stream);
    let mut convs = split_conversations(&chosen);
    if chosen.is_empty() || convs.is_empty() {
        return Err(ReplayError::NoSuchStream {
            file: file.to_string(),
            stream,
            count,
        });
    }
    Ok(convs.swap_remove(0))
}
