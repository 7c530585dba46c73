//! Reading a capture's TCP packets for replay and export.

use super::conversation::{split_conversations, Conversation, Role, Segment};
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
    #[error("{file}: cannot read: {err}")]
    Read { file: String, err: std::io::Error },
    #[error("{file}: not a timeline JSON document (line {line}, column {column}): {msg}")]
    Json {
        file: String,
        line: usize,
        column: usize,
        msg: String,
    },
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

/// Reads connection `stream` (tshark's tcp.stream) from a capture, or from a
/// timeline JSON document (`tcpsim timeline`, `tcpsim simulate -o`), told
/// apart by content.
pub fn read_conversation(path: &Path, stream: usize) -> Result<Conversation, ReplayError> {
    if looks_like_json(path) {
        return conversation_from_timeline_file(path, stream);
    }
    let cap = read_capture(path)?;
    conversation_of(&cap.packets, stream, &path.display().to_string())
}

/// The file's first non-blank byte is `{`.
pub fn looks_like_json(path: &Path) -> bool {
    use std::io::Read;
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut buf = [0u8; 64];
    let n = f.read(&mut buf).unwrap_or(0);
    buf[..n].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn conversation_from_timeline_file(
    path: &Path,
    stream: usize,
) -> Result<Conversation, ReplayError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| ReplayError::Read {
        file: file.clone(),
        err,
    })?;
    let tl: crate::timeline::Timeline =
        serde_json::from_str(&text).map_err(|e| ReplayError::Json {
            file: file.clone(),
            line: e.line(),
            column: e.column(),
            msg: e.to_string(),
        })?;
    let count = tl.connections.len();
    let conn = tl
        .connections
        .iter()
        .find(|c| c.stream as usize == stream)
        .ok_or(ReplayError::NoSuchStream {
            file,
            stream,
            count,
        })?;
    Ok(conversation_from_timeline(conn))
}

/// A timeline's connection as a [`Conversation`]. Events carry no options
/// but SACK blocks; SYNs get the options the connection records for their
/// sender (timestamp values are not recorded: TS val 0).
pub fn conversation_from_timeline(conn: &crate::timeline::Connection) -> Conversation {
    use crate::timeline::Direction;
    use crate::wire::{SeqNumber, TcpFlags, TcpOptionsSummary};
    let addr = |e: &crate::timeline::Endpoint| std::net::SocketAddr::new(e.ip, e.port);
    let segments = conn
        .events
        .iter()
        .map(|e| {
            let from = match e.direction {
                Direction::ClientToServer => Role::Client,
                Direction::ServerToClient => Role::Server,
            };
            let flags = TcpFlags(e.flags_raw);
            let mut options = TcpOptionsSummary::default();
            if flags.syn() {
                let side = if from == Role::Client {
                    &conn.options.client
                } else {
                    &conn.options.server
                };
                options.mss = side.mss;
                options.wscale = side.wscale;
                options.sack_perm = side.sack_permitted;
                options.timestamps = side.timestamps.then_some((0, 0));
            }
            let n = e.sack.len().min(options.sack.len());
            // SACK blocks in the timeline are relative to the receiver's ISN.
            let peer_isn = if from == Role::Client {
                conn.options.server.isn
            } else {
                conn.options.client.isn
            };
            for (i, b) in e.sack.iter().take(n).enumerate() {
                options.sack[i] = (
                    SeqNumber(b[0].wrapping_add(peer_isn)),
                    SeqNumber(b[1].wrapping_add(peer_isn)),
                );
            }
            options.sack_count = n as u8;
            Segment {
                frame: e.frame,
                time_ns: e.time_ns,
                from,
                seq: SeqNumber(e.seq_raw),
                ack: SeqNumber(e.ack_raw),
                flags,
                len: e.len,
                window: e.window_raw,
                options,
            }
        })
        .collect();
    Conversation {
        client: addr(&conn.client),
        server: addr(&conn.server),
        roles_known: !conn.roles_guessed,
        segments,
    }
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
