//! What a traced run produces: Ethernet/IPv4/TCP frames with correct
//! checksums (one per segment as it left its sender, plus arrivals the link
//! changed), the timeline (the same analyzer as captures, plus cwnd,
//! ssthresh and lost), a pcap file, and the text ladder.

use super::driver::{Side, Sim, TraceKind};
use super::link::Loss;
use crate::pcap::{linktype, PcapWriter};
use crate::timeline::{SimExtras, Source, SourceKind, Timeline, TimelineBuilder};
use crate::wire::decode::{decode_frame, Decoded};
use crate::wire::emit::build_ethernet_frame;
use std::net::IpAddr;
use std::path::Path;

/// Capture time of simulated instant zero (2023-11-14T22:13:20Z), so pcaps
/// carry plausible dates.
pub const EPOCH_NS: i64 = 1_700_000_000_000_000_000;

/// Offset of the TCP checksum in a frame built here (Ethernet 14 + IPv4 20 + 16).
const TCP_CHECKSUM_OFFSET: usize = 14 + 20 + 16;

/// One frame of a simulated run.
#[derive(Clone, Debug)]
pub struct SimFrame {
    pub time_ns: i64,
    pub bytes: Vec<u8>,
    pub extras: SimExtras,
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("segment {index} of the run cannot be encoded: {message}")]
    Encode { index: usize, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn note(kind: TraceKind) -> Option<String> {
    match kind {
        TraceKind::Sent {
            lost: Some(Loss::QueueFull),
        } => Some("dropped: link queue full".into()),
        TraceKind::Sent {
            lost: Some(Loss::Fault),
        } => Some("dropped by the link".into()),
        TraceKind::Sent { lost: None } => None,
        TraceKind::Arrived {
            duplicate: true, ..
        } => Some("duplicate made by the link".into()),
        TraceKind::Arrived {
            corrupted: true, ..
        } => Some("corrupted by the link (bad checksum)".into()),
        TraceKind::Arrived { .. } => None,
    }
}

/// The frames of a traced run, in time order.
pub fn frames(sim: &Sim) -> Result<Vec<SimFrame>, OutputError> {
    let hosts = &sim.config().hosts;
    let mut out = Vec::with_capacity(sim.trace().len());
    for (index, ev) in sim.trace().iter().enumerate() {
        let (src, dst) = match ev.from {
            Side::Client => (hosts[0].addr, hosts[1].addr),
            Side::Server => (hosts[1].addr, hosts[0].addr),
        };
        let repr = ev.seg.to_repr();
        let payload = ev.seg.payload.to_bytes();
        let mut bytes = Vec::with_capacity(54 + repr.header_len as usize + payload.len());
        build_ethernet_frame(
            IpAddr::V4(src),
            IpAddr::V4(dst),
            &repr,
            &payload,
            &mut bytes,
        )
        .map_err(|e| OutputError::Encode {
            index,
            message: e.to_string(),
        })?;
        if let TraceKind::Arrived {
            corrupted: true, ..
        } = ev.kind
        {
            if let Some(b) = bytes.get_mut(TCP_CHECKSUM_OFFSET) {
                *b ^= 0x5a;
            }
        }
        let lost = matches!(ev.kind, TraceKind::Sent { lost: Some(_) });
        // cwnd and ssthresh belong to segments that use sequence space.
        let sent = matches!(ev.kind, TraceKind::Sent { .. }) && ev.seg.seg_len() > 0;
        out.push(SimFrame {
            time_ns: EPOCH_NS + ev.time.as_nanos() as i64,
            bytes,
            extras: SimExtras {
                cwnd: sent.then_some(ev.cwnd),
                ssthresh: (sent && ev.ssthresh != u32::MAX).then_some(ev.ssthresh),
                lost,
                note: note(ev.kind),
            },
        });
    }
    Ok(out)
}

/// The run's timeline: every frame through the same analyzer as a capture,
/// annotated with cwnd, ssthresh and lost.
pub fn timeline(frames: &[SimFrame], name: &str, seed: u64) -> Timeline {
    let source = Source {
        kind: SourceKind::Simulation,
        name: name.to_string(),
        seed: Some(seed),
        packets: 0,
    };
    let mut b = TimelineBuilder::new(source);
    for (i, f) in frames.iter().enumerate() {
        let len = f.bytes.len() as u32;
        if let Ok(Decoded::Tcp(t)) = decode_frame(linktype::ETHERNET, &f.bytes, len) {
            let mut info = t.info;
            info.number = i as u64 + 1;
            info.time_ns = f.time_ns;
            b.push_annotated(&info, f.extras.clone());
        }
    }
    b.finish()
}

/// Write the frames as a pcap (Ethernet, nanosecond timestamps).
pub fn write_pcap(path: &Path, frames: &[SimFrame]) -> Result<(), OutputError> {
    let io = |source| OutputError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut w = PcapWriter::create(path, linktype::ETHERNET).map_err(io)?;
    for f in frames {
        w.write(f.time_ns, &f.bytes, f.bytes.len() as u32)
            .map_err(io)?;
    }
    w.finish().map_err(io)?;
    Ok(())
}

/// The text ladder diagram of a timeline (the shared renderer in `plot`).
pub fn ladder(t: &Timeline) -> String {
    crate::plot::from_timeline::conversations(t)
        .iter()
        .map(crate::plot::ladder_text)
        .collect::<Vec<_>>()
        .join("\n")
}
